//! The kiosk's link to its hub: a typed client over HTTPS with a pinned certificate.
//!
//! The outbox drain (later) and the kiosk UI use [`client::HubClient`]; its errors say
//! whether to retry, so no caller has to interpret HTTP statuses.

pub mod client;
pub mod pin;

pub use client::{CatalogueFetch, ClientError, HubClient, HubClientConfig, Issued};
