//! Tables, fixtures and fuzz entries for the Responses translators.

mod fixtures;
mod request;
mod response;
mod stream;
