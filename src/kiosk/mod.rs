//! The kiosk: a citizen's visit, the touch UI and the core that issues tickets.
//!
//! `session` holds the pure visit logic, `idle` the timeout, `scanner` the barcode
//! input; the UI controller binds them to the Slint globals and the core does the I/O
//! on tokio threads (invariant 6: the UI never blocks).

pub mod clock;
pub mod controller;
pub mod core;
pub mod doctor;
pub mod documents;
pub mod fonts;
pub mod home;
pub mod idle;
pub mod keypad;
pub mod narration;
pub mod pictogram;
pub mod printing;
pub mod qr;
pub mod run;
pub mod scanner;
pub mod service;
pub mod session;
pub mod slots;
pub mod sound;
pub mod staff_code;
pub mod systemd;
pub mod update;
pub mod updater;
pub mod uplink;
pub mod words;
