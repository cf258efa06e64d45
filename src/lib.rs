//! Sportello: firmware for self-service kiosks in offices shared by INPS and the Centro
//! per l'impiego, and the office hub they talk to.
//!
//! One library, one binary (`src/main.rs`), two programs. What both share is compiled
//! always; the kiosk's parts only with the `kiosk` feature, the hub's only with `hub`
//! (both by default). The line between them is ARCHITECTURE.md's "Boundaries", guarded by
//! `tests/architecture.rs` and the one-sided builds in `scripts/test`. The kiosk's two
//! Slint-free leaves, `printer` and `board`, have features of their own (the fuzz targets
//! in `fuzz/` build them without Slint); `kiosk` turns both on.

// Shared: what crosses the network and the small core both programs stand on.
pub mod catalogue;
pub mod config;
pub mod identity;
pub mod lang;
pub mod logging;
pub mod pin;
pub mod protocol;
pub mod seal;
pub mod speech;
pub mod sqlite;

// The kiosk: touch UI, printer, GPIO board, local store and the link to the hub.
#[cfg(feature = "board")]
pub mod board;
#[cfg(feature = "kiosk")]
pub mod kiosk;
#[cfg(feature = "printer")]
pub mod printer;
#[cfg(feature = "kiosk")]
pub mod store;
#[cfg(feature = "kiosk")]
pub mod sync;
/// The Slint UI compiled from `ui/` (generated code: windows, globals, enums).
#[cfg(feature = "kiosk")]
pub mod ui {
    slint::include_modules!();
}

// The office hub.
#[cfg(feature = "hub")]
pub mod hub;

// Both programs on one laptop.
#[cfg(all(feature = "kiosk", feature = "hub"))]
pub mod demo;
