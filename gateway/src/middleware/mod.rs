//! The tower layers every request passes through; their order is set in `app.rs`.

pub mod auth;
pub mod close_unread;
pub mod observe;
pub mod request_id;
