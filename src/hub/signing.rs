//! The hub's certificate-sealing key: Ed25519, made on first start and kept beside the
//! database like the TLS key (PKCS#8 PEM, file mode 0600).
//!
//! The private key never leaves that file; the public key is published at
//! `GET /api/v1/keys` (see [`crate::seal`] for what is signed and how).

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};

use crate::config::hub::HubConfig;
use crate::seal::{CertificateContent, PublicKey, Seal};

/// File name of the sealing key, in the database's directory.
pub const KEY_FILE: &str = "hub-seal-key.pem";

/// Why the key could not be loaded or made.
#[derive(Debug, thiserror::Error)]
#[error("certificate sealing key {path}: {message}")]
pub struct SigningError {
    /// The key file.
    pub path: String,
    /// What went wrong.
    pub message: String,
}

/// The loaded key pair and its public half.
pub struct SealKey {
    pair: Ed25519KeyPair,
    public: PublicKey,
}

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealKey")
            .field("kid", &self.public.kid)
            .finish_non_exhaustive()
    }
}

impl SealKey {
    /// The public key (with its id).
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// Seals `content`.
    pub fn seal(&self, content: &CertificateContent) -> Seal {
        Seal::sign(&self.pair, content)
    }
}

/// Where the key of the hub configured by `config` lives.
pub fn key_path(config: &HubConfig) -> PathBuf {
    super::store::Location::of(config).files.join(KEY_FILE)
}

/// Loads the key at `path`, creating it (mode 0600) when the file does not exist.
pub fn load_or_create(path: &Path) -> Result<SealKey, SigningError> {
    let error = |message: String| SigningError {
        path: path.display().to_string(),
        message,
    };
    if !path.exists() {
        let document = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map_err(|_| error("cannot generate a key".to_string()))?;
        write_private(path, &pem(document.as_ref())).map_err(|e| error(e.to_string()))?;
        tracing::info!(path = %path.display(), "created the certificate sealing key");
    }
    let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
    let body: String = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("-----"))
        .collect();
    if !text.contains("-----BEGIN PRIVATE KEY-----") {
        return Err(error(
            "expected a PEM `PRIVATE KEY` (PKCS#8 Ed25519)".to_string(),
        ));
    }
    let der = STANDARD
        .decode(body)
        .map_err(|_| error("the PEM block is not base64".to_string()))?;
    // Accept PKCS#8 v1 too (what `openssl genpkey -algorithm ed25519` writes).
    let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)
        .map_err(|e| error(format!("not an Ed25519 PKCS#8 key ({e})")))?;
    let bytes: [u8; 32] = pair
        .public_key()
        .as_ref()
        .try_into()
        .map_err(|_| error("unexpected public key length".to_string()))?;
    warn_if_readable_by_others(path);
    Ok(SealKey {
        pair,
        public: PublicKey::from_bytes(bytes),
    })
}

fn pem(der: &[u8]) -> String {
    let encoded = STANDARD.encode(der);
    let mut out = String::from("-----BEGIN PRIVATE KEY-----\n");
    for chunk in encoded.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END PRIVATE KEY-----\n");
    out
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(path = %path.display(), "the sealing key is readable by other users: chmod 600 it");
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_private_and_stable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE);
        let first = load_or_create(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = load_or_create(&path).unwrap();
        assert_eq!(first.public(), again.public());
        std::fs::write(&path, "garbage").unwrap();
        let err = load_or_create(&path).unwrap_err();
        assert!(err.to_string().contains(KEY_FILE), "{err}");
    }

    #[test]
    fn accepts_an_openssl_v1_key() {
        // `openssl genpkey -algorithm ed25519` (PKCS#8 v1, RFC 8410 test key).
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE);
        std::fs::write(
            &path,
            "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let key = load_or_create(&path).unwrap();
        assert_eq!(
            key.public().hex(),
            "19bf44096984cdfe8541bac167dc3b96c85086aa30b6b6cb0c5c38ad703166e1"
        );
    }
}
