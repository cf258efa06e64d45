//! `kiosk.toml` and `hub.toml`: reading, defaults and validation, one file per program.
//!
//! A maintainer editing a config on a kiosk at 7 a.m. needs to know exactly what is wrong:
//! every error names the file, the key and what was expected, and nothing starts with a
//! half-understood config. Unknown keys are errors too, so a typo is never silently
//! ignored. Every field has a default that lets the demo run with no file at all.
//!
//! This module is the loader both programs share; [`kiosk`] and [`hub`] hold each
//! program's settings and are compiled only with that program's feature.

use std::fmt;
use std::path::Path;

use serde::de::DeserializeOwned;

/// A config file that cannot be used, with enough detail to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The file (or other origin) being read.
    pub file: String,
    /// The dotted key at fault, when known (e.g. `session.warning_seconds`).
    pub key: Option<String>,
    /// One-based line of the fault, when known.
    pub line: Option<usize>,
    /// What is wrong and what is expected.
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ", key `{key}`")?;
        }
        write!(f, ": {}", self.problem)
    }
}

/// A semantic rule broken by a parsed config: the key and what it must be.
pub struct Invalid {
    key: String,
    problem: String,
}

impl Invalid {
    /// Names the key at fault and what it must be.
    pub fn new(key: impl Into<String>, problem: impl Into<String>) -> Self {
        Invalid {
            key: key.into(),
            problem: problem.into(),
        }
    }
}

/// A config type with rules beyond what its types enforce.
pub trait Validate {
    /// Checks the rules; the first broken one is returned.
    fn validate(&self) -> Result<(), Invalid>;
}

/// Reads, parses and validates a TOML config file.
pub fn load<T: DeserializeOwned + Validate>(path: &Path) -> Result<T, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: file.clone(),
        key: None,
        line: None,
        problem: format!("cannot read the file: {e}"),
    })?;
    parse(&text, &file)
}

/// Parses and validates TOML text; `file` names the origin in errors.
pub fn parse<T: DeserializeOwned + Validate>(text: &str, file: &str) -> Result<T, ConfigError> {
    let error = |key: Option<String>, line: Option<usize>, problem: String| ConfigError {
        file: file.to_string(),
        key,
        line,
        problem,
    };
    let deserializer = toml::Deserializer::parse(text).map_err(|e| {
        error(
            None,
            e.span().map(|s| line_of(text, s.start)),
            e.message().to_string(),
        )
    })?;
    let value: T = serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        let key = (path != ".").then_some(path);
        let inner = e.into_inner();
        error(
            key,
            inner.span().map(|s| line_of(text, s.start)),
            inner.message().to_string(),
        )
    })?;
    value
        .validate()
        .map_err(|invalid| error(Some(invalid.key), None, invalid.problem))?;
    Ok(value)
}

fn line_of(text: &str, byte_offset: usize) -> usize {
    let end = byte_offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

impl Invalid {
    /// The dotted key at fault.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// What is wrong with it.
    pub fn problem(&self) -> &str {
        &self.problem
    }
}

/// Accepts the URL forms a hub can be reached at (by a kiosk, or the hub's identity
/// provider): https, or plain http on loopback only; `Err` says why not.
pub fn check_hub_url(url: &str) -> Result<(), String> {
    let plain = if url.starts_with("https://") {
        false
    } else if url.starts_with("http://") {
        true
    } else {
        return Err(format!(
            "`{url}` must start with https:// (or http:// for loopback)"
        ));
    };
    // Parsed as a browser would: `http://localhost:1@evil.example` is evil.example.
    let parsed = url::Url::parse(url).map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!(
            "`{url}` carries a user name or password: give the host alone"
        ));
    }
    let loopback = match parsed.host() {
        None => return Err(format!("`{url}` has no host")),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
    };
    if plain && !loopback {
        return Err(format!(
            "`{url}` uses plain http to a remote host: use https:// (plain http only for loopback)"
        ));
    }
    Ok(())
}

#[cfg(feature = "hub")]
pub mod hub;
// kiosk.toml names the printer's and the board's settings, not the UI: it builds without
// Slint (the fuzz targets load it with `printer` and `board`).
#[cfg(all(feature = "printer", feature = "board"))]
pub mod kiosk;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_urls() {
        assert!(check_hub_url("https://hub.ufficio.local:8443").is_ok());
        assert!(check_hub_url("http://127.0.0.1:8080").is_ok());
        assert!(check_hub_url("http://localhost/").is_ok());
        assert!(check_hub_url("http://hub.ufficio.local").is_err());
        assert!(check_hub_url("ftp://x").is_err());
        assert!(check_hub_url("https://").is_err());
        assert!(check_hub_url("http://[::1]:8080/").is_ok());
        assert!(check_hub_url("http://127.0.0.2:8080/").is_ok());
        // Security finding 14: the part before `@` is a user name, not the host.
        for sneaky in [
            "http://localhost:1@evil.example",
            "http://127.0.0.1@evil.example/",
            "http://localhost@evil.example:8080",
            "http://evil.example\\@localhost",
            "http://localhost.evil.example",
            "http://127.0.0.1.evil.example",
        ] {
            assert!(check_hub_url(sneaky).is_err(), "{sneaky}");
        }
        assert!(check_hub_url("https://anna:pw@hub.ufficio.local").is_err());
    }
}
