//! The hub's TLS identity: a certificate from files, or a self-signed office certificate
//! made on first start and kept beside the database.
//!
//! Kiosks do not trust a CA: they pin the SHA-256 of the hub's leaf certificate, which
//! the hub prints at every start so a maintainer can copy it into kiosk.toml.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

use crate::config::hub::{HubConfig, TlsMode};

/// File names of the self-signed certificate and key, in the database's directory.
pub const SELF_SIGNED_CERT: &str = "hub-cert.pem";
/// See [`SELF_SIGNED_CERT`].
pub const SELF_SIGNED_KEY: &str = "hub-key.pem";

/// A ready rustls server configuration and the pin kiosks need.
pub struct TlsIdentity {
    /// For the HTTPS listener.
    pub server_config: Arc<ServerConfig>,
    /// SHA-256 of the leaf certificate, `AB:CD:...`.
    pub fingerprint: String,
    /// Where the certificate was read from.
    pub certificate_path: PathBuf,
}

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Reading or writing a PEM file failed.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// Certificate generation or rustls refused the material.
    #[error("TLS: {0}")]
    Setup(String),
}

/// `AB:CD:...` SHA-256 of a DER certificate.
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Loads or creates the identity for `config`; `None` when TLS is off.
pub fn identity(config: &HubConfig) -> Result<Option<TlsIdentity>, TlsError> {
    let (cert_path, key_path) = match config.tls.mode {
        TlsMode::Off => return Ok(None),
        TlsMode::Files => (
            config.tls.certificate.clone().unwrap_or_default(),
            config.tls.key.clone().unwrap_or_default(),
        ),
        TlsMode::SelfSigned => {
            let dir = super::store::Location::of(config).files;
            let cert = dir.join(SELF_SIGNED_CERT);
            let key = dir.join(SELF_SIGNED_KEY);
            if !cert.exists() || !key.exists() {
                create_self_signed(config, &cert, &key)?;
            }
            (cert, key)
        }
    };
    load(&cert_path, &key_path).map(Some)
}

fn file_error(path: &Path, e: impl std::fmt::Display) -> TlsError {
    TlsError::File {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

fn create_self_signed(config: &HubConfig, cert: &Path, key: &Path) -> Result<(), TlsError> {
    let mut names = vec!["sportello-hub".to_string(), "localhost".to_string()];
    let ip = config.listen.ip();
    if !ip.is_unspecified() {
        names.push(ip.to_string());
    }
    let mut params =
        rcgen::CertificateParams::new(names).map_err(|e| TlsError::Setup(e.to_string()))?;
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        format!("Sportello hub - {}", config.office_name),
    );
    let key_pair = rcgen::KeyPair::generate().map_err(|e| TlsError::Setup(e.to_string()))?;
    let certificate = params
        .self_signed(&key_pair)
        .map_err(|e| TlsError::Setup(e.to_string()))?;
    write_private(key, key_pair.serialize_pem().as_bytes())?;
    std::fs::write(cert, certificate.pem()).map_err(|e| file_error(cert, e))?;
    tracing::info!(path = %cert.display(), "created a self-signed office certificate");
    Ok(())
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path).map_err(|e| file_error(path, e))?;
    file.write_all(bytes).map_err(|e| file_error(path, e))?;
    file.sync_all().map_err(|e| file_error(path, e))
}

fn load(cert_path: &Path, key_path: &Path) -> Result<TlsIdentity, TlsError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_path)
        .map_err(|e| file_error(cert_path, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| file_error(cert_path, e))?;
    let leaf = certs
        .first()
        .ok_or_else(|| file_error(cert_path, "no certificate in the file"))?;
    let fingerprint = fingerprint(leaf.as_ref());
    let key = PrivateKeyDer::from_pem_file(key_path).map_err(|e| file_error(key_path, e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server_config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Setup(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Setup(e.to_string()))?;
    Ok(TlsIdentity {
        server_config: Arc::new(server_config),
        fingerprint,
        certificate_path: cert_path.to_path_buf(),
    })
}
