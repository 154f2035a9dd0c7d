//! Prices and money for the gateway: the model catalog, exact cost arithmetic,
//! token estimation and ROI math (see DESIGN.md, "Money").
//!
//! This crate stays pure: no HTTP, no database, no clock, no files. Everything in
//! it is a function of its inputs, so routing and savings figures can be tested
//! with tables and reproduced exactly.

pub mod catalog;
pub mod cost;
pub mod date;
pub mod money;
pub mod rate;
pub mod roi;
pub mod tokens;
pub mod usage;

pub use catalog::{Capabilities, Catalog, Kind, ModelEntry, PriceRef, PriceVersion};
pub use cost::{cost_of, CostParts};
pub use date::Date;
pub use money::{Cost, Price};
pub use rate::{FixedRate, Quote, Rate};
pub use usage::TokenUsage;
