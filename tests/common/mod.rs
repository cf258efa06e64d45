//! Helpers shared by the integration tests; each test binary uses only part of them.
#![allow(dead_code, unused_imports)]

mod cli;
mod fault_proxy;
mod full_disk;
mod history;
mod hub_process;
mod hub_setup;
mod invariants;
mod kiosk_setup;
mod layout_checks;
mod log_capture;
mod oidc;
mod postgres;
mod printing;
mod screens;

pub use cli::*;
pub use fault_proxy::*;
pub use full_disk::*;
pub use history::*;
pub use hub_process::*;
pub use hub_setup::*;
pub use invariants::*;
pub use kiosk_setup::*;
pub use layout_checks::*;
pub use log_capture::*;
pub use oidc::*;
pub use postgres::*;
pub use printing::*;
pub use screens::*;
