//! Sportello: firmware for self-service kiosks in offices shared by INPS and the Centro
//! per l'impiego, and the office hub they talk to.
//!
//! The crate is one library with one binary (`src/main.rs`). ARCHITECTURE.md is the map;
//! each module's doc comment says why it exists.

pub mod board;
pub mod catalogue;
pub mod config;
pub mod demo;
pub mod hub;
pub mod identity;
pub mod kiosk;
pub mod lang;
pub mod logging;
pub mod printer;
pub mod seal;
pub mod store;
pub mod sync;

slint::include_modules!();
