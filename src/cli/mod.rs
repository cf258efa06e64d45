//! Subcommand trees that would crowd `main.rs`.

pub mod hub;
