//! Logging with `tracing`, with a last line of defence for privacy.
//!
//! Code never logs a codice fiscale in clear (it logs [`CodiceFiscale::masked`]), but a
//! log line can still carry one by accident: an error message quoting a request, a
//! debug dump. Every line is therefore passed through [`redact`] before it is written,
//! which masks anything shaped like a codice fiscale.
//!
//! [`CodiceFiscale::masked`]: crate::identity::CodiceFiscale::masked

use std::borrow::Cow;
use std::io::{self, IsTerminal, Write};

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::identity::codice_fiscale::{LEN, accepts, expected_at};

/// Masks every run of 16 characters shaped like a codice fiscale (valid check letter
/// or not, any case) as `ABC************Z`.
pub fn redact(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<Vec<u8>> = None;
    let mut i = 0;
    while i + LEN <= bytes.len() {
        if looks_like_codice_fiscale(&bytes[i..i + LEN]) {
            let buf = out.get_or_insert_with(|| bytes.to_vec());
            buf[i + 3..i + LEN - 1].fill(b'*');
            i += LEN;
        } else {
            i += 1;
        }
    }
    match out {
        // Only ASCII bytes were replaced by ASCII, so the text is still UTF-8.
        Some(buf) => Cow::Owned(String::from_utf8(buf).unwrap_or_default()),
        None => Cow::Borrowed(text),
    }
}

fn looks_like_codice_fiscale(window: &[u8]) -> bool {
    window
        .iter()
        .enumerate()
        .all(|(i, b)| accepts(expected_at(i), b.to_ascii_uppercase()))
}

/// A writer that collects one formatted event and writes it redacted when dropped.
///
/// `tracing_subscriber::fmt` asks for a writer per event and may call `write` several
/// times for one line, so a code split across two writes would escape a per-write scrub.
pub struct RedactingWriter<W: Write> {
    inner: W,
    buffer: Vec<u8>,
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.buffer);
        // A failed log write must never take the kiosk down.
        let _ = self.inner.write_all(redact(&text).as_bytes());
        let _ = self.inner.flush();
    }
}

/// Wraps any `MakeWriter` so every event it receives is redacted.
#[derive(Clone)]
pub struct Redacting<M>(pub M);

impl<'a, M> MakeWriter<'a> for Redacting<M>
where
    M: MakeWriter<'a>,
{
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter {
            inner: self.0.make_writer(),
            buffer: Vec::with_capacity(256),
        }
    }
}

/// An error with all its causes, `outer: inner: innermost`: HTTP client errors hide the
/// useful part (refused, certificate, timeout) in their sources.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Installs the global subscriber: redacted lines on stderr (journald picks them up),
/// level from `RUST_LOG`, `info` by default. Colours only on a terminal; under systemd
/// (`JOURNAL_STREAM` set) no timestamp either, since the journal stamps every line.
/// Safe to call more than once.
pub fn init() {
    let filter = log_filter(std::env::var("RUST_LOG").ok().as_deref());
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(io::stderr().is_terminal())
        .with_writer(Redacting(io::stderr));
    let registry = tracing_subscriber::registry().with(filter);
    let _ = if std::env::var_os("JOURNAL_STREAM").is_some() {
        registry.with(layer.without_time()).try_init()
    } else {
        registry.with(layer).try_init()
    };
}

/// `RUST_LOG` read as levels per target (`info`, `sportello=debug,hyper=warn`); `info`
/// when unset or unreadable. Plain targets, not `EnvFilter`'s regular expressions: the
/// regex engine is a large part of a kiosk binary and no one filters logs by pattern.
fn log_filter(spec: Option<&str>) -> Targets {
    spec.and_then(|s| s.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_log_sets_levels_per_target_and_defaults_to_info() {
        use tracing::Level;
        let default = log_filter(None);
        assert!(default.would_enable("sportello::kiosk", &Level::INFO));
        assert!(!default.would_enable("sportello::kiosk", &Level::DEBUG));
        let spec = log_filter(Some("warn,sportello::sync=debug"));
        assert!(spec.would_enable("sportello::sync::worker", &Level::DEBUG));
        assert!(!spec.would_enable("hyper", &Level::INFO));
        assert!(spec.would_enable("hyper", &Level::WARN));
        let garbage = log_filter(Some("=="));
        assert!(garbage.would_enable("x", &Level::INFO), "unreadable: info");
    }

    #[test]
    fn error_chain_names_every_cause() {
        #[derive(Debug)]
        struct Request(io::Error);
        impl std::fmt::Display for Request {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("error sending request")
            }
        }
        impl std::error::Error for Request {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let refused = io::Error::new(io::ErrorKind::ConnectionRefused, "connection refused");
        assert_eq!(
            error_chain(&Request(refused)),
            "error sending request: connection refused"
        );
        assert_eq!(error_chain(&io::Error::other("alone")), "alone");
    }

    #[test]
    fn masks_codes_anywhere_in_a_line() {
        assert_eq!(
            redact("lookup cf=RSSMRA45C12F205C failed"),
            "lookup cf=RSS************C failed"
        );
        assert_eq!(
            redact("omocode rssmraqrcmnfnlrg, and MRSMSR81D60Z611H"),
            "omocode rss************g, and MRS************H"
        );
        // Wrong check letter: still a person's code, still masked.
        assert_eq!(redact("RSSMRA45C12F205D"), "RSS************D");
    }

    #[test]
    fn leaves_other_text_alone() {
        let text = "ticket N001 op 5f0c7b9e-1d2a-4c3b-9e8f-0a1b2c3d4e5f at 2026-11-27T10:00:00Z";
        assert!(matches!(redact(text), Cow::Borrowed(_)));
        assert_eq!(redact("àèìòù €"), "àèìòù €");
    }
}
