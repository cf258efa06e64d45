//! TLS to PostgreSQL, asked for the way libpq users know: `sslmode` and `sslrootcert` in
//! the database URL (`...?sslmode=verify-full&sslrootcert=/etc/sportello/pg-ca.pem`).
//!
//! The client (`postgres`) knows `sslmode` `disable`, `prefer` and `require` only, and no
//! `sslrootcert`; this module takes both out of the URL and hands the client a rustls
//! connector (ring, as the hub's own TLS) that trusts the certificates in `sslrootcert`.
//! Whenever TLS is asked for, the hub verifies the server's certificate chain and name,
//! also for `require` and `verify-ca` (stricter than libpq, never weaker): a hub must not
//! send its database password to whoever answers on the network. Without `sslmode` (or
//! with `disable`, `allow`, `prefer`) the connection is not encrypted, as before.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// How to connect: the URL as the client takes it, and a TLS connector when TLS is asked.
pub struct Connection {
    /// The URL without `sslrootcert`, with `sslmode=require` where TLS is asked.
    pub url: String,
    /// The connector trusting `sslrootcert`; `None` for an unencrypted connection.
    pub tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
}

/// Reads `sslmode` and `sslrootcert` from `url` (a URL or `key=value` pairs). An error
/// says what to change.
pub fn prepare(url: &str) -> Result<Connection, String> {
    let (rest, settings) = take_settings(url);
    let wants_tls = match settings.mode.as_deref() {
        None | Some("disable" | "allow" | "prefer") => false,
        Some("require" | "verify-ca" | "verify-full") => true,
        Some(other) => {
            return Err(format!(
                "sslmode `{other}` is not one of disable, allow, prefer, require, verify-ca, verify-full"
            ));
        }
    };
    if !wants_tls {
        if settings.root.is_some() {
            return Err(
                "sslrootcert is given but TLS is not asked for: add sslmode=verify-full".into(),
            );
        }
        let url = match settings.mode {
            Some(mode) => with_setting(&rest, "sslmode", &mode),
            None => rest,
        };
        return Ok(Connection { url, tls: None });
    }
    let root = settings.root.ok_or(
        "sslmode asks for TLS: give the certificate of the authority that signed the \
         server's certificate as sslrootcert=/path/to/ca.pem (the hub always verifies it)",
    )?;
    let tls = connector(Path::new(&root))?;
    Ok(Connection {
        url: with_setting(&rest, "sslmode", "require"),
        tls: Some(tls),
    })
}

fn connector(root: &Path) -> Result<tokio_postgres_rustls::MakeRustlsConnect, String> {
    let shown = root.display();
    let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(root)
        .map_err(|e| format!("sslrootcert {shown}: {e}"))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("sslrootcert {shown}: {e}"))?;
    let mut roots = rustls::RootCertStore::empty();
    for certificate in certificates {
        roots
            .add(certificate)
            .map_err(|e| format!("sslrootcert {shown}: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!("sslrootcert {shown}: no certificate in the file"));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// The TLS settings found in a URL.
#[derive(Debug, Default, PartialEq, Eq)]
struct Settings {
    mode: Option<String>,
    root: Option<String>,
}

/// `url` without `sslmode` and `sslrootcert`, and their values.
fn take_settings(url: &str) -> (String, Settings) {
    let mut settings = Settings::default();
    let mut keep = |key: &str, value: &str| match key {
        "sslmode" => {
            settings.mode = Some(value.to_owned());
            false
        }
        "sslrootcert" => {
            settings.root = Some(value.to_owned());
            false
        }
        _ => true,
    };
    let rest = if url.contains("://") {
        match url.split_once('?') {
            None => url.to_owned(),
            Some((base, query)) => {
                let kept: Vec<&str> = query
                    .split('&')
                    .filter(|pair| {
                        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                        keep(key, &decode(value))
                    })
                    .collect();
                if kept.is_empty() {
                    base.to_owned()
                } else {
                    format!("{base}?{}", kept.join("&"))
                }
            }
        }
    } else {
        url.split_whitespace()
            .filter(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                keep(key, value.trim_matches('\''))
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    (rest, settings)
}

/// `url` with `key=value` added.
fn with_setting(url: &str, key: &str, value: &str) -> String {
    if !url.contains("://") {
        return format!("{url} {key}={value}").trim_start().to_owned();
    }
    let joiner = if url.contains('?') { '&' } else { '?' };
    format!("{url}{joiner}{key}={value}")
}

/// Percent-decoding of a query value (`%2F` in a path).
fn decode(value: &str) -> String {
    url::form_urlencoded::parse(format!("v={value}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tls_settings_are_taken_out_of_either_form() {
        let (rest, settings) = take_settings(
            "postgres://u:p@h1,h2/db?target_session_attrs=read-write&sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem",
        );
        assert_eq!(
            rest,
            "postgres://u:p@h1,h2/db?target_session_attrs=read-write"
        );
        assert_eq!(settings.mode.as_deref(), Some("verify-full"));
        assert_eq!(settings.root.as_deref(), Some("/etc/ca.pem"));
        let (rest, settings) = take_settings("host=h dbname=db sslmode=require sslrootcert=/ca");
        assert_eq!(rest, "host=h dbname=db");
        assert_eq!(settings.root.as_deref(), Some("/ca"));
        assert_eq!(
            take_settings("postgres://h/db?sslmode=disable").0,
            "postgres://h/db"
        );
    }

    #[test]
    fn tls_is_asked_for_with_a_root_or_refused_with_a_reason() {
        let plain = prepare("postgres://h/db").unwrap();
        assert!(plain.tls.is_none());
        assert_eq!(plain.url, "postgres://h/db");
        assert!(
            prepare("postgres://h/db?sslmode=prefer")
                .unwrap()
                .tls
                .is_none()
        );
        let no_root = prepare("postgres://h/db?sslmode=verify-full")
            .err()
            .unwrap();
        assert!(no_root.contains("sslrootcert"), "{no_root}");
        let bad_mode = prepare("postgres://h/db?sslmode=always").err().unwrap();
        assert!(bad_mode.contains("`always`"), "{bad_mode}");
        let missing = prepare("postgres://h/db?sslmode=require&sslrootcert=/nonexistent/ca.pem")
            .err()
            .unwrap();
        assert!(missing.contains("/nonexistent/ca.pem"), "{missing}");
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let url = format!(
            "postgres://h/db?sslmode=require&sslrootcert={}",
            empty.display()
        );
        assert!(prepare(&url).err().unwrap().contains("no certificate"));
        let ca = rcgen::generate_simple_self_signed(vec!["pg.example".into()]).unwrap();
        let pem = dir.path().join("ca.pem");
        std::fs::write(&pem, ca.cert.pem()).unwrap();
        let url = format!(
            "postgres://h/db?sslmode=verify-ca&sslrootcert={}",
            pem.display()
        );
        let tls = prepare(&url).unwrap();
        assert!(tls.tls.is_some());
        assert_eq!(tls.url, "postgres://h/db?sslmode=require");
    }
}
