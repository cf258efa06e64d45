//! `hub.toml` text through the shared loader (`config::parse`: TOML, unknown keys
//! refused, the hub's semantic rules). A maintainer's typo must give an error naming the
//! file and a line inside it, never a panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sportello::catalogue::Catalogue;
use sportello::config::{self, hub::HubConfig};

fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(Catalogue::builtin)
}

fuzz_target!(|text: &str| {
    match config::parse::<HubConfig>(text, "hub.toml") {
        Ok(hub) => {
            // The rules the hub checks at start against the catalogue it serves.
            let _ = hub.hours.check_services(catalogue());
            let _ = hub.waiting.check(catalogue());
        }
        Err(err) => {
            assert_eq!(err.file, "hub.toml");
            if let Some(line) = err.line {
                assert!(line >= 1 && line <= text.split('\n').count(), "line {line}");
            }
            assert!(err.to_string().starts_with("hub.toml"));
        }
    }
});
