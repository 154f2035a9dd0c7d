//! The parts of `analytics_bench` (see `benches/analytics.sh`): synthetic events,
//! the CSV the store sends, the measurements (ingestion, bulk load and rollup,
//! dashboard queries, query plans, what-ifs for the proposed fixes), CPU accounting
//! and the Markdown report. The
//! store itself is never reimplemented: every figure labelled `store` or `writer`
//! goes through `analytics`' own code.

pub mod bulk;
pub mod csv;
pub mod dashboard;
pub mod explain;
pub mod ingest;
pub mod machine;
pub mod report;
pub mod run;
pub mod synth;
pub mod whatif;

pub type Error = Box<dyn std::error::Error + Send + Sync>;
