//! Subcommand implementations that are more than a few lines, kept out of `main.rs`.

#[cfg(feature = "hub")]
pub mod hub;
#[cfg(feature = "kiosk")]
pub mod printer;
pub mod verify;
