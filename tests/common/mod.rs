//! Helpers shared by the integration tests; each test binary uses only part of them.
#![allow(dead_code, unused_imports)]

mod hub_setup;
mod kiosk_setup;
mod oidc;
mod printing;

pub use hub_setup::*;
pub use kiosk_setup::*;
pub use oidc::*;
pub use printing::*;
