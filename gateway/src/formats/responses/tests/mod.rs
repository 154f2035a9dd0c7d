//! Tables, fixtures and fuzz entries for the Responses translators.

mod request;
