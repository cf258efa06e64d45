//! Subcommand implementations that are more than a few lines, kept out of `main.rs`.

pub mod hub;
pub mod printer;
pub mod verify;
