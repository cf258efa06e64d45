//! What crosses the network between a kiosk and its hub, and nothing else: request and
//! response bodies, the error shape and its stable codes, the number formats both ends
//! read, and the paths.
//!
//! Kiosks in the field run older firmware than the hub they talk to, so this module is a
//! contract. Change it only additively (a new `Option` field, a new code, a new path); a
//! change here is an API change and goes with `docs/openapi.json`, which
//! `tests/hub_openapi.rs` checks against the router and real answers.
//!
//! It must not know either side: no HTTP server or client, no database, no printer. It
//! names only `lang`, `catalogue`, `identity` and `seal` (guarded by
//! `tests/architecture.rs`).

pub mod errors;
pub mod kiosk_api;
pub mod numbers;
pub mod paths;
pub mod verify_api;

pub use errors::{ErrorBody, ErrorDetail};
pub use kiosk_api::*;
pub use verify_api::{Verdict, VerifyResponse};
