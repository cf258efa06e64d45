//! A certificate seal as a verifier reads it from a QR code or a typed URL
//! (`seal::Seal::parse`), checked against the hub's keys, and the other texts
//! `sportello verify` reads: public keys (JWK Set, JWK, hex, PEM) and certificate
//! content (canonical JSON, RFC 8785). A parsed seal prints back to a text that parses
//! to the same seal; canonical JSON is a fixed point; a forged seal never verifies with
//! a key other than the one that signed it.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use ring::signature::{Ed25519KeyPair, KeyPair};
use sportello::seal::{self, CertificateContent, PublicKey, Seal};

/// A fixed signing key (seeded, so corpora stay meaningful across runs).
fn key() -> &'static Ed25519KeyPair {
    static KEY: OnceLock<Ed25519KeyPair> = OnceLock::new();
    KEY.get_or_init(|| Ed25519KeyPair::from_seed_unchecked(&[7; 32]).expect("a key"))
}

fn public() -> &'static [PublicKey] {
    static PUBLIC: OnceLock<Vec<PublicKey>> = OnceLock::new();
    PUBLIC.get_or_init(|| {
        let bytes: [u8; 32] = key().public_key().as_ref().try_into().expect("32 bytes");
        vec![PublicKey::from_bytes(bytes)]
    })
}

fuzz_target!(|text: &str| {
    if let Ok(seal) = Seal::parse(text) {
        assert!(seal::is_certificate_id(&seal.certificate_id));
        assert_eq!(Seal::parse(&seal.text()).as_ref(), Ok(&seal));
        assert!(seal.text().starts_with(&seal.signed_text()));
        // Only the fixed key's own seals (in the corpus) verify.
        let _ = seal.verify(public());
        let other = PublicKey::from_bytes([9; 32]);
        assert!(seal.verify(std::slice::from_ref(&other)).is_none());
    }

    if let Ok(keys) = seal::parse_public_keys(text) {
        assert!(!keys.is_empty());
        for key in &keys {
            let pem = seal::public_key_pem(key);
            assert_eq!(seal::parse_public_keys(&pem), Ok(vec![key.clone()]));
            assert_eq!(seal::parse_public_keys(&key.hex()), Ok(vec![key.clone()]));
        }
    }

    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text)
        && !has_float(&value)
    {
        let canonical = seal::canonical_json(&value);
        let again: serde_json::Value =
            serde_json::from_str(&canonical).expect("canonical JSON is JSON");
        assert_eq!(
            seal::canonical_json(&again),
            canonical,
            "canonical is a fixed point"
        );
    }

    if let Ok(content) = CertificateContent::from_json(text) {
        let signed = Seal::sign(key(), &content);
        assert!(signed.matches(&content));
        assert!(signed.verify(public()).is_some());
        if seal::is_certificate_id(&content.certificate_id) {
            assert_eq!(Seal::parse(&signed.text()), Ok(signed));
        }
    }
});

/// Whether `value` holds a non-integer number. serde_json (without `float_roundtrip`)
/// may read a long decimal one ulp off, so floats are no fixed point of print-and-read;
/// a seal's content is all strings and never has one.
fn has_float(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Number(n) => n.is_f64(),
        serde_json::Value::Array(items) => items.iter().any(has_float),
        serde_json::Value::Object(map) => map.values().any(has_float),
        _ => false,
    }
}
