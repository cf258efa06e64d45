//! `sportello verify`: is a printed certificate genuine? Offline from the QR text and the
//! hub's public key; online, the hub's record of it too.
//!
//! The seal signs the certificate's id and the digest of its text, not the paper: a
//! forged text can carry a genuine QR code (someone's own certificate's). So "genuine"
//! needs the sealed text compared, from `--content` or from the hub's copy (`--key-url`,
//! while the hub keeps it); a valid signature alone says "compare the printed text"
//! (security finding 17).
//!
//! Exit status: 0 genuine (valid signature and the text compared), 1 not genuine (bad
//! signature, or content that differs from the sealed one), 2 cannot tell (not a seal,
//! unreadable key, hub unreachable for the key), 3 signature valid but the text not
//! compared (no `--content`, and no copy from the hub: offline, erased or unavailable).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use clap::Args;

use sportello::protocol::{Verdict, VerifyResponse};
use sportello::seal::{CertificateContent, PublicKey, Seal, parse_public_keys};

/// Arguments of `sportello verify`.
#[derive(Args)]
pub struct VerifyArgs {
    /// The QR text: the seal `SPV1.…` or the verification URL holding it.
    #[arg(long)]
    seal: String,
    /// The hub's public key: the JWK Set served at /api/v1/keys, a JWK, 64 hex digits or
    /// a PEM public key.
    #[arg(long, conflicts_with = "key_url", required_unless_present = "key_url")]
    key: Option<PathBuf>,
    /// Fetch the key from the hub (`https://hub:8443/api/v1/keys`) and also ask the hub
    /// for its record of the certificate.
    #[arg(long)]
    key_url: Option<String>,
    /// SHA-256 fingerprint of the hub's certificate (its self-signed office certificate).
    #[arg(long, requires = "key_url")]
    certificate_sha256: Option<String>,
    /// The certificate's content as JSON (as /verify/api returns it), to compare with
    /// the digest in the seal.
    #[arg(long)]
    content: Option<PathBuf>,
}

const GENUINE: u8 = 0;
const NOT_GENUINE: u8 = 1;
const CANNOT_TELL: u8 = 2;
/// The signature is valid, but no sealed text was compared: a person must compare the
/// printed text with the original.
pub const SIGNATURE_ONLY: u8 = 3;

fn print_content(content: &CertificateContent) {
    println!("--- content ---");
    for line in &content.issuer_lines {
        println!("{line}");
    }
    println!("{}", content.title);
    for p in content.body.iter().chain(&content.footer_lines) {
        println!("{p}");
    }
    println!("---------------");
}

fn http_client(pin: Option<&str>) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none());
    if let Some(pin) = pin {
        let pin = sportello::pin::parse_pin(pin)?;
        let tls = sportello::pin::client_config(pin, Arc::new(AtomicBool::new(false)))
            .map_err(|e| e.to_string())?;
        builder = builder.use_preconfigured_tls(tls);
    }
    builder.build().map_err(|e| e.to_string())
}

/// The scheme, host and port of `url`.
fn origin(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let host = parsed.host_str()?;
    Some(match parsed.port() {
        Some(port) => format!("{}://{host}:{port}", parsed.scheme()),
        None => format!("{}://{host}", parsed.scheme()),
    })
}

/// Runs `sportello verify`; the exit code says the verdict.
pub fn run(args: VerifyArgs) -> ExitCode {
    ExitCode::from(verdict(args))
}

fn verdict(args: VerifyArgs) -> u8 {
    let seal = match Seal::parse(&args.seal) {
        Ok(seal) => seal,
        Err(e) => {
            println!("verdict:     CANNOT TELL ({e})");
            return CANNOT_TELL;
        }
    };
    println!("certificate: {}", seal.certificate_id);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sportello: cannot start the runtime: {e}");
            return CANNOT_TELL;
        }
    };
    let (keys, http): (Vec<PublicKey>, Option<reqwest::Client>) = match (&args.key, &args.key_url) {
        (Some(path), _) => match std::fs::read_to_string(path)
            .map_err(|e| format!("{}: {e}", path.display()))
            .and_then(|text| {
                parse_public_keys(&text).map_err(|e| format!("{}: {e}", path.display()))
            }) {
            Ok(keys) => (keys, None),
            Err(e) => {
                println!("verdict:     CANNOT TELL (key: {e})");
                return CANNOT_TELL;
            }
        },
        (None, Some(url)) => {
            let fetched = http_client(args.certificate_sha256.as_deref()).and_then(|http| {
                runtime.block_on(async {
                    let response = http
                        .get(url)
                        .send()
                        .await
                        .map_err(|e| format!("{url}: {e}"))?;
                    if !response.status().is_success() {
                        return Err(format!("{url}: HTTP {}", response.status()));
                    }
                    let text = response.text().await.map_err(|e| format!("{url}: {e}"))?;
                    let keys = parse_public_keys(&text).map_err(|e| format!("{url}: {e}"))?;
                    Ok((keys, http))
                })
            });
            match fetched {
                Ok((keys, http)) => (keys, Some(http)),
                Err(e) => {
                    println!("verdict:     CANNOT TELL (key: {e})");
                    return CANNOT_TELL;
                }
            }
        }
        (None, None) => {
            println!("verdict:     CANNOT TELL (give --key or --key-url)");
            return CANNOT_TELL;
        }
    };
    let Some(key) = seal.verify(&keys) else {
        println!("signature:   INVALID for the given key(s)");
        println!("verdict:     NOT GENUINE");
        return NOT_GENUINE;
    };
    println!("signature:   valid (key {})", key.kid);
    println!("digest:      {}", seal.digest_text());
    let mut checked_content = false;
    if let Some(path) = &args.content {
        let content = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: {e}", path.display()))
            .and_then(|text| CertificateContent::from_json(&text));
        match content {
            Err(e) => {
                println!("verdict:     CANNOT TELL (content: {e})");
                return CANNOT_TELL;
            }
            Ok(content) if !seal.matches(&content) => {
                println!("content:     DIFFERS from the sealed content");
                println!("verdict:     NOT GENUINE");
                return NOT_GENUINE;
            }
            Ok(content) => {
                println!("content:     matches the seal");
                print_content(&content);
                checked_content = true;
            }
        }
    }
    if let (Some(http), Some(base)) = (http, args.key_url.as_deref().and_then(origin)) {
        let url = format!(
            "{base}/verify/api?seal={}",
            url::form_urlencoded::byte_serialize(seal.text().as_bytes()).collect::<String>()
        );
        let answer: Result<VerifyResponse, String> = runtime.block_on(async {
            let response = http.get(&url).send().await.map_err(|e| e.to_string())?;
            response.json().await.map_err(|e| e.to_string())
        });
        match answer {
            Err(e) => println!("hub record:  not available ({e})"),
            Ok(answer) => {
                println!("hub record:  {:?} ({})", answer.verdict, answer.reason);
                if answer.reason == "content_erased" {
                    println!(
                        "content:     the hub no longer keeps the text: the certificate has expired"
                    );
                }
                if answer.verdict == Verdict::NotGenuine {
                    println!("verdict:     NOT GENUINE");
                    return NOT_GENUINE;
                }
                if let Some(content) = &answer.content {
                    if !seal.matches(content) {
                        println!("content:     the hub's copy DIFFERS from the sealed content");
                        println!("verdict:     NOT GENUINE");
                        return NOT_GENUINE;
                    }
                    if !checked_content {
                        println!("content:     the hub's copy matches the seal");
                        print_content(content);
                        checked_content = true;
                    }
                }
            }
        }
    }
    if !checked_content {
        println!("signature:   valid — compare the printed text");
        println!(
            "verdict:     TEXT NOT CHECKED (give --content, or --key-url while the hub keeps the text)"
        );
        return SIGNATURE_ONLY;
    }
    println!("verdict:     GENUINE");
    GENUINE
}
