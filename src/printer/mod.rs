//! The kiosk's thermal printer: where a visit ends.
//!
//! A ticket that did not come out is a citizen who waits for nothing, so this stack
//! *knows* rather than hopes: every job asks the printer's real-time status before,
//! during and after sending the bytes. The pieces, one job each:
//!
//! - [`codepage`]: Unicode text to the printer's single-byte code page (PC858, WPC1252,
//!   WPC1250, WPC1251), with a readable ASCII fallback, never raw UTF-8;
//! - [`raster_text`]: sentences in scripts no code page holds (Arabic, Chinese) drawn
//!   from a font as raster images: shaped, in bidi order, wrapped to the paper;
//! - [`escpos`]: the ESC/POS byte encoder;
//! - [`profile`]: what each printer model can do, as data (`data/printers.toml`);
//! - [`commands`]: splits an ESC/POS stream into whole commands (used to chunk jobs
//!   only at safe points and by the emulator's parser);
//! - [`status`]: `DLE EOT 1..4` queries and their decoding;
//! - [`transport`]: the [`transport::PrinterLink`] trait and the serial port behind it;
//! - [`job`]: status before → bytes in chunks with status polls → status after;
//! - [`layout`]: the queue ticket (in the citizen's language: a code page, or raster
//!   text) and the generic document;
//! - [`emulator`]: a virtual printer on a pseudo-terminal that renders PNGs.

pub mod codepage;
pub mod commands;
pub mod emulator;
pub mod escpos;
pub mod job;
pub mod layout;
pub mod profile;
pub mod raster_text;
pub mod status;
pub mod transport;

pub use job::{PrintFailure, PrintOutcome, print};
pub use layout::{DocumentData, TicketData, document, queue_ticket, queue_ticket_in};
pub use profile::{Profile, TextMode};
pub use raster_text::{FontError, TextFont};
pub use status::PrinterState;
pub use transport::PrinterLink;
