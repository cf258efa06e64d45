//! Certificate seals: what makes a printed certificate verifiable by whoever receives it,
//! online at the hub's `/verify` or offline with `sportello verify` and the public key.
//!
//! **Content.** A certificate's content is a [`CertificateContent`]: what is printed
//! (title, issuer lines, body paragraphs, footer lines) plus its id, kind, language and
//! issue time. Its *canonical form* is its JSON with object keys sorted by code point, no
//! insignificant whitespace, strings escaped as JSON requires (`"`, `\`, control
//! characters; everything else as UTF-8) and no numbers: for this all-strings document
//! that is exactly RFC 8785 (JCS). The *digest* is SHA-256 of the canonical form's UTF-8.
//!
//! **Seal.** `SPV1.<certificate id>.<digest>.<signature>`, where the id is 16 characters
//! of the RFC 4648 base32 alphabet (`A-Z2-7`, 80 random bits), the digest is the 32-byte
//! SHA-256 in base64url without padding (43 characters) and the signature is the Ed25519
//! signature (64 bytes, base64url without padding: 86 characters) of the ASCII text
//! `SPV1.<certificate id>.<digest>`, i.e. the seal up to its last dot. The version, id and
//! digest are therefore all signed; the content is bound through its digest. A seal is
//! 152 characters. On paper the QR carries `<hub>/verify?seal=<seal>`: [`Seal::parse`]
//! accepts both forms.
//!
//! **Keys.** The hub's Ed25519 public key is published at `GET /api/v1/keys` as a JSON Web
//! Key Set (RFC 8037 `OKP`/`Ed25519`, `kid` = the RFC 7638 thumbprint). [`parse_public_keys`]
//! also reads a single JWK, 64 hex digits, or a PEM `PUBLIC KEY` (SPKI).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngCore;
use ring::signature::{ED25519, Ed25519KeyPair, UnparsedPublicKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The seal format's version tag, first field of every seal.
pub const VERSION: &str = "SPV1";

/// Length of a certificate id.
pub const ID_LEN: usize = 16;

/// The characters of a certificate id (RFC 4648 base32).
const ID_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// DER prefix of an Ed25519 SubjectPublicKeyInfo, before the 32 key bytes.
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// A fresh random certificate id: 16 base32 characters (80 bits).
pub fn new_certificate_id() -> String {
    let mut bytes = [0u8; 10];
    rand::rng().fill_bytes(&mut bytes);
    let mut out = String::with_capacity(ID_LEN);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ID_ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    out
}

/// Whether `text` has the shape of a certificate id.
pub fn is_certificate_id(text: &str) -> bool {
    text.len() == ID_LEN && text.bytes().all(|b| ID_ALPHABET.contains(&b))
}

/// A certificate's content: what is printed, plus what identifies it. The digest in the
/// seal is over [`CertificateContent::canonical`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateContent {
    /// The seal format, `SPV1`.
    pub seal_version: String,
    /// The certificate's unique id.
    pub certificate_id: String,
    /// The kind, e.g. `stato-occupazionale`.
    pub kind: String,
    /// The language it was issued in (`it`, `en`).
    pub lang: String,
    /// When it was issued (RFC 3339, UTC, whole seconds).
    pub issued_at: String,
    /// The title.
    pub title: String,
    /// Issuing agency and office.
    pub issuer_lines: Vec<String>,
    /// The paragraphs: who, what, when, the id and the statutory sentence.
    pub body: Vec<String>,
    /// The lines under the seal.
    pub footer_lines: Vec<String>,
}

impl CertificateContent {
    /// The canonical form (RFC 8785 for this all-strings document).
    pub fn canonical(&self) -> String {
        match serde_json::to_value(self) {
            Ok(value) => canonical_json(&value),
            // A struct of strings always serialises; keep the signature total anyway.
            Err(_) => String::new(),
        }
    }

    /// SHA-256 of the canonical form.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.canonical().as_bytes()).into()
    }

    /// Reads a content from JSON in any key order or spacing (e.g. a file a verifier
    /// was given); the digest is then taken over its canonical form.
    pub fn from_json(text: &str) -> Result<CertificateContent, String> {
        serde_json::from_str(text).map_err(|e| format!("not a certificate content: {e}"))
    }
}

/// JSON text of `value` with object keys sorted (by UTF-16 code units, as RFC 8785 asks;
/// for the BMP-only keys used here that is code-point order) and no whitespace.
pub fn canonical_json(value: &serde_json::Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(key) {
                    write_canonical(v, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Why a seal's text cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// Not `SPV1.<id>.<digest>.<signature>` (or a URL with `seal=` holding one).
    #[error("not a Sportello seal: {0}")]
    Malformed(&'static str),
}

/// A parsed seal: certificate id, content digest and signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seal {
    /// The certificate's id.
    pub certificate_id: String,
    /// SHA-256 of the canonical content.
    pub digest: [u8; 32],
    /// Ed25519 signature of [`Seal::signed_text`].
    pub signature: [u8; 64],
}

impl Seal {
    /// Signs `content` with `key`.
    pub fn sign(key: &Ed25519KeyPair, content: &CertificateContent) -> Seal {
        let digest = content.digest();
        let message = signed_text(&content.certificate_id, &digest);
        let mut signature = [0u8; 64];
        signature.copy_from_slice(key.sign(message.as_bytes()).as_ref());
        Seal {
            certificate_id: content.certificate_id.clone(),
            digest,
            signature,
        }
    }

    /// Reads a seal from its text, or from a verification URL whose query has
    /// `seal=<seal>` (percent-encoding allowed); surrounding whitespace is ignored.
    pub fn parse(text: &str) -> Result<Seal, SealError> {
        let text = text.trim();
        if text.len() > 2048 {
            return Err(SealError::Malformed("too long"));
        }
        let seal_text = if text.starts_with(VERSION) {
            text.to_string()
        } else {
            let query = text
                .split_once('?')
                .map(|(_, q)| q)
                .ok_or(SealError::Malformed("expected SPV1.… or a URL with ?seal="))?;
            let value =
                url::form_urlencoded::parse(query.split('#').next().unwrap_or("").as_bytes())
                    .find(|(k, _)| k == "seal")
                    .map(|(_, v)| v.into_owned())
                    .ok_or(SealError::Malformed("the URL has no seal= parameter"))?;
            value.trim().to_string()
        };
        let parts: Vec<&str> = seal_text.split('.').collect();
        let [version, id, digest, signature] = parts.as_slice() else {
            return Err(SealError::Malformed(
                "expected four fields separated by dots",
            ));
        };
        if *version != VERSION {
            return Err(SealError::Malformed("unknown seal version"));
        }
        if !is_certificate_id(id) {
            return Err(SealError::Malformed("bad certificate id"));
        }
        let digest: [u8; 32] = URL_SAFE_NO_PAD
            .decode(digest)
            .ok()
            .and_then(|d| d.try_into().ok())
            .ok_or(SealError::Malformed("bad digest"))?;
        let signature: [u8; 64] = URL_SAFE_NO_PAD
            .decode(signature)
            .ok()
            .and_then(|s| s.try_into().ok())
            .ok_or(SealError::Malformed("bad signature field"))?;
        Ok(Seal {
            certificate_id: (*id).to_string(),
            digest,
            signature,
        })
    }

    /// `SPV1.<id>.<digest>`: the text the signature covers.
    pub fn signed_text(&self) -> String {
        signed_text(&self.certificate_id, &self.digest)
    }

    /// The seal's text, `SPV1.<id>.<digest>.<signature>`.
    pub fn text(&self) -> String {
        format!(
            "{}.{}",
            self.signed_text(),
            URL_SAFE_NO_PAD.encode(self.signature)
        )
    }

    /// The digest in base64url, as in the seal.
    pub fn digest_text(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.digest)
    }

    /// The first of `keys` whose signature this is, if any.
    pub fn verify<'k>(&self, keys: &'k [PublicKey]) -> Option<&'k PublicKey> {
        let message = self.signed_text();
        keys.iter()
            .find(|key| key.verify(message.as_bytes(), &self.signature))
    }

    /// Whether `content` is the content this seal was made for.
    pub fn matches(&self, content: &CertificateContent) -> bool {
        content.certificate_id == self.certificate_id && content.digest() == self.digest
    }
}

fn signed_text(certificate_id: &str, digest: &[u8; 32]) -> String {
    format!(
        "{VERSION}.{certificate_id}.{}",
        URL_SAFE_NO_PAD.encode(digest)
    )
}

/// An Ed25519 public key and its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// RFC 7638 JWK thumbprint (SHA-256, base64url).
    pub kid: String,
    /// The 32 key bytes.
    pub bytes: [u8; 32],
}

impl PublicKey {
    /// The key with these bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> PublicKey {
        let x = URL_SAFE_NO_PAD.encode(bytes);
        // RFC 7638: the required members, sorted, no whitespace.
        let members = format!("{{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"{x}\"}}");
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(members.as_bytes()));
        PublicKey { kid, bytes }
    }

    /// Whether `signature` is this key's signature of `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&ED25519, &self.bytes)
            .verify(message, signature)
            .is_ok()
    }

    /// The key as a JWK.
    pub fn jwk(&self) -> Jwk {
        Jwk {
            kty: "OKP".to_string(),
            crv: "Ed25519".to_string(),
            x: URL_SAFE_NO_PAD.encode(self.bytes),
            kid: Some(self.kid.clone()),
            key_use: Some("sig".to_string()),
            alg: Some("EdDSA".to_string()),
        }
    }

    /// The key in hex (64 digits).
    pub fn hex(&self) -> String {
        self.bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// An Ed25519 public key as a JSON Web Key (RFC 8037).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Always `OKP`.
    pub kty: String,
    /// Always `Ed25519`.
    pub crv: String,
    /// The key bytes, base64url without padding.
    pub x: String,
    /// The RFC 7638 thumbprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// `sig`.
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub key_use: Option<String>,
    /// `EdDSA`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
}

/// `GET /api/v1/keys`: the keys certificate seals are signed with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwkSet {
    /// The keys (today one).
    pub keys: Vec<Jwk>,
}

impl Jwk {
    /// The key, if this is an Ed25519 JWK with a well-formed `x`.
    pub fn public_key(&self) -> Option<PublicKey> {
        if self.kty != "OKP" || self.crv != "Ed25519" {
            return None;
        }
        let bytes: [u8; 32] = URL_SAFE_NO_PAD.decode(&self.x).ok()?.try_into().ok()?;
        Some(PublicKey::from_bytes(bytes))
    }
}

/// Reads public keys from a JWK Set, a single JWK, 64 hex digits or a PEM `PUBLIC KEY`.
pub fn parse_public_keys(text: &str) -> Result<Vec<PublicKey>, String> {
    let text = text.trim();
    if text.starts_with('{') {
        if let Ok(set) = serde_json::from_str::<JwkSet>(text) {
            let keys: Vec<PublicKey> = set.keys.iter().filter_map(Jwk::public_key).collect();
            if keys.is_empty() {
                return Err("the key set has no Ed25519 key".to_string());
            }
            return Ok(keys);
        }
        let jwk: Jwk =
            serde_json::from_str(text).map_err(|e| format!("not a JWK or JWK Set: {e}"))?;
        return jwk
            .public_key()
            .map(|k| vec![k])
            .ok_or_else(|| "the JWK is not an Ed25519 key".to_string());
    }
    if text.starts_with("-----BEGIN PUBLIC KEY-----") {
        let body: String = text
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .map(str::trim)
            .collect();
        let der = STANDARD
            .decode(body)
            .map_err(|_| "the PEM block is not base64".to_string())?;
        return match der.strip_prefix(&SPKI_PREFIX[..]) {
            Some(key) => key
                .try_into()
                .map(|bytes| vec![PublicKey::from_bytes(bytes)])
                .map_err(|_| "the PEM key is not an Ed25519 key".to_string()),
            None => Err("the PEM key is not an Ed25519 key".to_string()),
        };
    }
    if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        let mut bytes = [0u8; 32];
        for (i, chunk) in text.as_bytes().chunks(2).enumerate() {
            let pair = std::str::from_utf8(chunk).map_err(|e| e.to_string())?;
            bytes[i] = u8::from_str_radix(pair, 16).map_err(|e| e.to_string())?;
        }
        return Ok(vec![PublicKey::from_bytes(bytes)]);
    }
    Err(
        "expected a JWK Set (as /api/v1/keys serves), a JWK, 64 hex digits or a PEM public key"
            .to_string(),
    )
}

/// A PEM `PUBLIC KEY` (SPKI) for `key`, for tools that want that form.
pub fn public_key_pem(key: &PublicKey) -> String {
    let mut der = SPKI_PREFIX.to_vec();
    der.extend_from_slice(&key.bytes);
    format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        STANDARD.encode(der)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::KeyPair;

    fn key_pair() -> Ed25519KeyPair {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap()
    }

    fn public(pair: &Ed25519KeyPair) -> PublicKey {
        PublicKey::from_bytes(pair.public_key().as_ref().try_into().unwrap())
    }

    fn content() -> CertificateContent {
        CertificateContent {
            seal_version: VERSION.to_string(),
            certificate_id: new_certificate_id(),
            kind: "did".to_string(),
            lang: "it".to_string(),
            issued_at: "2026-11-27T09:15:00Z".to_string(),
            title: "Attestazione DID".to_string(),
            issuer_lines: vec!["Centro per l'impiego".to_string()],
            body: vec!["Si attesta che… «città» \"x\" \\ \u{1}".to_string()],
            footer_lines: vec![],
        }
    }

    #[test]
    fn ids_are_base32_and_distinct() {
        let a = new_certificate_id();
        assert!(is_certificate_id(&a), "{a}");
        assert_ne!(a, new_certificate_id());
        assert!(!is_certificate_id("abcdefghijklmnop"));
        assert!(!is_certificate_id("ABCDEFGHIJKLMNO1"));
    }

    #[test]
    fn canonical_form_sorts_keys_and_has_no_spaces() {
        let value = serde_json::json!({"b": ["x", {"d": "1", "c": "é\n"}], "a": "\u{7f}"});
        assert_eq!(
            canonical_json(&value),
            "{\"a\":\"\u{7f}\",\"b\":[\"x\",{\"c\":\"é\\n\",\"d\":\"1\"}]}"
        );
        let c = content();
        let reordered = serde_json::to_string_pretty(&serde_json::json!({
            "footer_lines": c.footer_lines, "body": c.body, "title": c.title,
            "issuer_lines": c.issuer_lines, "issued_at": c.issued_at, "lang": c.lang,
            "kind": c.kind, "certificate_id": c.certificate_id, "seal_version": c.seal_version,
        }))
        .unwrap();
        let read = CertificateContent::from_json(&reordered).unwrap();
        assert_eq!(read.digest(), c.digest());
        assert!(c.canonical().starts_with("{\"body\":"));
        assert!(c.canonical().contains("\\u0001"));
    }

    #[test]
    fn seal_round_trips_verifies_and_rejects_tampering() {
        let pair = key_pair();
        let key = public(&pair);
        let c = content();
        let seal = Seal::sign(&pair, &c);
        let text = seal.text();
        assert_eq!(text.len(), 4 + 1 + ID_LEN + 1 + 43 + 1 + 86);
        let parsed = Seal::parse(&text).unwrap();
        assert_eq!(parsed, seal);
        assert_eq!(parsed.verify(std::slice::from_ref(&key)), Some(&key));
        assert!(parsed.matches(&c));
        let url = format!("https://hub.example:8443/verify?seal={text}");
        assert_eq!(Seal::parse(&url).unwrap(), seal);
        let encoded = format!("https://h/verify?lang=en&seal={}", text.replace('.', "%2E"));
        assert_eq!(Seal::parse(&encoded).unwrap(), seal);

        // Another key, another digest, another id, a flipped signature bit: refused.
        let other = public(&key_pair());
        assert_eq!(parsed.verify(std::slice::from_ref(&other)), None);
        let mut changed = c.clone();
        changed.body[0].push('!');
        assert!(!parsed.matches(&changed));
        let mut forged = seal.clone();
        forged.digest = changed.digest();
        assert_eq!(forged.verify(std::slice::from_ref(&key)), None);
        let mut forged = seal.clone();
        forged.certificate_id = new_certificate_id();
        assert_eq!(forged.verify(std::slice::from_ref(&key)), None);
        let mut forged = seal.clone();
        forged.signature[10] ^= 1;
        assert_eq!(forged.verify(std::slice::from_ref(&key)), None);
    }

    #[test]
    fn malformed_seals_are_errors_not_panics() {
        for bad in [
            "",
            "SPV1",
            "SPV1...",
            "SPV2.AAAAAAAAAAAAAAAA.x.y",
            "SPV1.AAAAAAAAAAAAAAAA.short.short",
            "https://h/verify?x=1",
            "https://h/verify",
            "SPV1.a.b.c.d",
            "\u{0}\u{ffff}",
        ] {
            assert!(Seal::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Seal::parse(&"A".repeat(5000)).is_err());
    }

    #[test]
    fn public_keys_in_every_form() {
        let key = public(&key_pair());
        let set = serde_json::to_string(&JwkSet {
            keys: vec![key.jwk()],
        })
        .unwrap();
        assert_eq!(parse_public_keys(&set).unwrap(), vec![key.clone()]);
        let one = serde_json::to_string(&key.jwk()).unwrap();
        assert_eq!(parse_public_keys(&one).unwrap(), vec![key.clone()]);
        assert_eq!(parse_public_keys(&key.hex()).unwrap(), vec![key.clone()]);
        assert_eq!(
            parse_public_keys(&public_key_pem(&key)).unwrap(),
            vec![key.clone()]
        );
        assert_eq!(key.kid.len(), 43);
        for bad in [
            "",
            "{}",
            "{\"keys\":[]}",
            "zz",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n",
        ] {
            assert!(parse_public_keys(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn thumbprint_matches_rfc_8037_example() {
        // RFC 8037 appendix A.3: the thumbprint of the example Ed25519 key.
        let x = URL_SAFE_NO_PAD
            .decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
            .unwrap();
        let key = PublicKey::from_bytes(x.try_into().unwrap());
        assert_eq!(key.kid, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    }
}
