//! Tables, fixtures and fuzz entries for the Responses translators.

mod error;
mod fixtures;
mod fuzz;
mod request;
mod response;
mod stream;
