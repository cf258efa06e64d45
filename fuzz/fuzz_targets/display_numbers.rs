//! Display numbers as kiosks send them and people type them (`protocol::numbers`):
//! `N007`, the emergency form `N-A01`, and what a citizen types into "where is my turn"
//! or a URL path holds. What parses formats back to the same text; a typed number, once
//! read, is a number that parses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sportello::protocol::numbers;

fuzz_target!(|text: &str| {
    if let Some((prefix, seq)) = numbers::parse_number(text) {
        assert_eq!(numbers::format_number(prefix, seq), text);
    }
    if let Some((prefix, tag, n)) = numbers::parse_emergency(text) {
        assert_eq!(numbers::format_emergency(prefix, &tag, n), text);
    }
    if let Some(read) = numbers::read_typed_number(text) {
        assert!(
            numbers::parse_number(&read).is_some() || numbers::parse_emergency(&read).is_some(),
            "{text:?} read as {read:?}, which does not parse"
        );
        assert_eq!(
            numbers::read_typed_number(&read).as_deref(),
            Some(read.as_str())
        );
    }
});
