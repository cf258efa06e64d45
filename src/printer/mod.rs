//! The kiosk's thermal printer: where a visit ends.
//!
//! A ticket that did not come out is a citizen who waits for nothing, so this stack
//! *knows* rather than hopes: every job asks the printer's real-time status before,
//! during and after sending the bytes. The pieces, one job each:
//!
//! - [`codepage`]: Unicode text to the printer's single-byte code page (PC858 / WPC1252),
//!   with a readable ASCII fallback, never raw UTF-8;
//! - [`escpos`]: the ESC/POS byte encoder;
//! - [`profile`]: what each printer model can do, as data (`data/printers.toml`);
//! - [`commands`]: splits an ESC/POS stream into whole commands (used to chunk jobs
//!   only at safe points and by the emulator's parser);
//! - [`status`]: `DLE EOT 1..4` queries and their decoding;
//! - [`transport`]: the [`transport::PrinterLink`] trait and the serial port behind it;
//! - [`job`]: status before → bytes in chunks with status polls → status after;
//! - [`layout`]: the queue ticket and the generic document;
//! - [`emulator`]: a virtual printer on a pseudo-terminal that renders PNGs.

pub mod codepage;
pub mod commands;
pub mod emulator;
pub mod escpos;
pub mod job;
pub mod layout;
pub mod profile;
pub mod status;
pub mod transport;

pub use job::{PrintFailure, PrintOutcome, print};
pub use layout::{DocumentData, TicketData, document, queue_ticket};
pub use profile::Profile;
pub use status::PrinterState;
pub use transport::PrinterLink;
