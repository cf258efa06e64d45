//! The kiosk's link to its hub: a typed client over HTTPS with a pinned certificate, and
//! the worker that drains the outbox and keeps the kiosk's view of the hub current.
//!
//! The worker and the kiosk core use [`client::HubClient`]; its errors say whether to
//! retry, so no caller has to interpret HTTP statuses.

pub mod client;
pub mod pin;
pub mod worker;

pub use client::{CatalogueFetch, ClientError, HubClient, HubClientConfig, Issued};
