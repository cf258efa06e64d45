//! The kiosk's link to its hub: a typed client over HTTPS with a pinned certificate, and
//! the worker that drains the outbox and keeps the kiosk's view of the hub current.
//!
//! The worker and the kiosk core use [`client::HubClient`]; its errors say whether to
//! retry, so no caller has to interpret HTTP statuses. The worker sees the kiosk only
//! through [`port::Kiosk`] (implemented in `kiosk::uplink`).

pub mod client;
pub mod port;
pub mod worker;

pub use client::{CatalogueFetch, ClientError, HubClient, HubClientConfig, Issued};
