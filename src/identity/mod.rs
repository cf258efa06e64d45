//! Identifying a citizen: the codice fiscale and what scanners deliver.
//!
//! Identification here is only ever *identification*: a code says who someone claims to
//! be, never proves it. Personal status and certificates need strong authentication,
//! which lives elsewhere.

pub mod codice_fiscale;
pub mod scan;

pub use codice_fiscale::{CfError, CodiceFiscale, Sex};
pub use scan::{ScanError, parse_health_card_scan};
