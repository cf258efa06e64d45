//! HTTPS with a pinned certificate: the self-signed office certificate, certificates from
//! files, and a kiosk client that accepts exactly the pinned leaf.

mod common;

use std::sync::Arc;

use common::config_in;
use sportello::config::hub::TlsMode;
use sportello::hub::clock::SystemClock;
use sportello::hub::{self, admin, tls};
use sportello::protocol::EnrollRequest;
use sportello::sync::{ClientError, HubClient, HubClientConfig};

fn pinned(url: &str, pin: Option<&str>) -> HubClient {
    let mut config = HubClientConfig::new(url);
    config.certificate_sha256 = pin.map(str::to_string);
    HubClient::new(config).unwrap()
}

#[tokio::test]
async fn kiosks_pin_the_self_signed_office_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config_in(dir.path());
    config.tls.mode = TlsMode::SelfSigned;
    let running = hub::start(config.clone(), Arc::new(SystemClock))
        .await
        .unwrap();
    assert!(running.url.starts_with("https://127.0.0.1:"));
    let fingerprint = running.fingerprint.clone().unwrap();
    assert_eq!(fingerprint.len(), 95, "32 bytes as AB:CD:..");
    // The printed fingerprint is the SHA-256 of the certificate file's leaf.
    let pem = std::fs::read_to_string(dir.path().join(tls::SELF_SIGNED_CERT)).unwrap();
    assert!(pem.contains("BEGIN CERTIFICATE"));
    let key = dir.path().join(tls::SELF_SIGNED_KEY);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o077,
            0,
            "the private key is readable by its owner only"
        );
    }

    let token =
        admin::create_enrollment_token(sportello::hub::store::Location::of(&config)).unwrap();
    let mut client = pinned(&running.url, Some(&fingerprint));
    let enrolled = client
        .enroll(&EnrollRequest {
            enrollment_token: token,
            name: None,
            previous: None,
        })
        .await
        .unwrap();
    client.set_token(enrolled.token.clone());
    client.queues().await.unwrap();

    // Over TLS, browsers are told to stay on HTTPS (security finding 12).
    let browser = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .no_proxy()
        .build()
        .unwrap();
    let page = browser
        .get(format!("{}/counter", running.url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        page.headers()
            .get("strict-transport-security")
            .and_then(|v| v.to_str().ok()),
        Some("max-age=31536000")
    );

    // Lower-case hex without colons is the same pin.
    let plain: String = fingerprint.replace(':', "").to_lowercase();
    let mut same = pinned(&running.url, Some(&plain));
    same.set_token(enrolled.token.clone());
    same.queues().await.unwrap();

    // Another pin: refused, and reported as a pin mismatch, not as "unreachable".
    let mut wrong = fingerprint.clone();
    wrong.replace_range(
        0..2,
        if &fingerprint[0..2] == "00" {
            "11"
        } else {
            "00"
        },
    );
    let mut other = pinned(&running.url, Some(&wrong));
    other.set_token(enrolled.token.clone());
    let err = other.queues().await.unwrap_err();
    assert_eq!(err, ClientError::PinMismatch);
    assert!(!err.retry_later());

    // Without a pin, a self-signed certificate is not trusted at all.
    let unpinned = pinned(&running.url, None);
    assert!(matches!(
        unpinned.queues().await,
        Err(ClientError::Unreachable(_))
    ));

    // A restart keeps the same certificate, so kiosks stay pinned.
    config.listen = running.addr;
    running.shutdown().await;
    let again = hub::start(config, Arc::new(SystemClock)).await.unwrap();
    assert_eq!(again.fingerprint.as_deref(), Some(fingerprint.as_str()));
    client.queues().await.unwrap();
    again.shutdown().await;
}

#[tokio::test]
async fn a_certificate_from_files_is_served_and_pinned() {
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["hub.ufficio.local".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let cert_path = dir.path().join("office.crt");
    let key_path = dir.path().join("office.key");
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    let mut config = config_in(dir.path());
    config.tls.mode = TlsMode::Files;
    config.tls.certificate = Some(cert_path);
    config.tls.key = Some(key_path);
    let running = hub::start(config, Arc::new(SystemClock)).await.unwrap();
    let expected = tls::fingerprint(cert.der());
    assert_eq!(running.fingerprint.as_deref(), Some(expected.as_str()));
    let client = pinned(&running.url, Some(&expected));
    // Reaching the handler (401 without a token) proves the TLS handshake passed.
    assert!(matches!(
        client.queues().await,
        Err(ClientError::Rejected { status: 401, .. })
    ));
    running.shutdown().await;
}

#[tokio::test]
async fn a_missing_certificate_file_is_a_clear_start_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config_in(dir.path());
    config.tls.mode = TlsMode::Files;
    config.tls.certificate = Some(dir.path().join("absent.crt"));
    config.tls.key = Some(dir.path().join("absent.key"));
    let err = hub::start(config, Arc::new(SystemClock))
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("absent.crt"), "{err}");
}

#[test]
fn the_client_refuses_bad_set_ups() {
    let mut config = HubClientConfig::new("http://127.0.0.1:8080");
    config.certificate_sha256 = Some("AB".repeat(32));
    assert!(matches!(
        HubClient::new(config),
        Err(ClientError::Config(_))
    ));
    assert!(matches!(
        HubClient::new(HubClientConfig::new("http://10.1.2.3:8080")),
        Err(ClientError::Config(_))
    ));
    let mut config = HubClientConfig::new("https://hub.local");
    config.certificate_sha256 = Some("not hex".into());
    assert!(matches!(
        HubClient::new(config),
        Err(ClientError::Config(_))
    ));
}

#[tokio::test]
async fn an_unreachable_hub_is_retryable() {
    // A port that was just free: nobody listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = HubClient::new(HubClientConfig::new(format!("http://127.0.0.1:{port}"))).unwrap();
    let err = client.queues().await.unwrap_err();
    assert!(matches!(err, ClientError::Unreachable(_)), "{err:?}");
    assert!(err.retry_later());
}
