//! "Genuine" only with the text compared (security finding 17). The seal signs the
//! certificate's id and the digest of its text, not the paper, so a forged text can carry
//! a genuine QR code: `sportello verify` without the text says only that the signature is
//! valid ("compare the printed text", exit 3), online it needs the hub's copy, and the
//! hub's `/verify` page, once the text is erased, says the seal is valid but the
//! certificate has expired and its text can no longer be checked.
//!
//! Certificates are sealed here with the running hub's own key and recorded in its real
//! database, as `hub::certificates` does, so no identity provider is needed.

mod common;

use common::{TestHub, run_sportello};
use rusqlite::params;
use sportello::hub::signing;
use sportello::seal::{CertificateContent, new_certificate_id};

/// Seals a certificate with the hub's key and records it (its text kept, or erased as
/// housekeeping does after the retention time). Returns the QR text and the content.
fn issue(hub: &TestHub, erased: bool) -> (String, CertificateContent) {
    let key = signing::load_or_create(&signing::key_path(&hub.config)).unwrap();
    let id = new_certificate_id();
    let issued_at = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let content = CertificateContent {
        seal_version: "SPV1".into(),
        certificate_id: id.clone(),
        kind: "did".into(),
        lang: "it".into(),
        issued_at: issued_at.clone(),
        title: "Dichiarazione di immediata disponibilità".into(),
        issuer_lines: vec!["Centro per l'impiego".into()],
        body: vec![format!(
            "Si certifica che Giulia Verdi risulta in stato di disoccupazione. N. {id}"
        )],
        footer_lines: vec!["Verifica: inquadrare il codice QR".into()],
    };
    let seal = key.seal(&content);
    let conn = rusqlite::Connection::open(hub.db()).unwrap();
    conn.execute(
        "INSERT INTO certificates (id, kind, kiosk_id, session_id, cf_hash, issued_at, key_id,
                                   digest, content, content_erased_at)
         VALUES (?1, 'did', 'k-test', 's-test', 'h', ?2, ?3, ?4, ?5, ?6)",
        params![
            id,
            issued_at,
            key.public().kid,
            seal.digest_text(),
            (!erased).then(|| serde_json::to_string(&content).unwrap()),
            erased.then(|| issued_at.clone()),
        ],
    )
    .unwrap();
    (
        format!("{}/verify?seal={}", hub.url(), seal.text()),
        content,
    )
}

fn write(hub: &TestHub, name: &str, text: &str) -> String {
    let path = hub.dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_says_genuine_only_with_the_text_compared() {
    let hub = TestHub::start().await;
    let (qr, content) = issue(&hub, false);
    let keys = reqwest::get(format!("{}/api/v1/keys", hub.url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let key = write(&hub, "keys.json", &keys);
    let key_url = format!("{}/api/v1/keys", hub.url());

    // Offline, the seal alone: the signature is valid, the paper is not checked.
    let ran = run_sportello(&["verify", "--seal", &qr, "--key", &key]);
    assert_eq!(ran.code, 3, "{}", ran.all());
    assert!(
        ran.stdout
            .contains("signature:   valid — compare the printed text"),
        "{}",
        ran.all()
    );
    assert!(!ran.stdout.contains("GENUINE"), "{}", ran.all());

    // With the text: genuine; with a forged text under the same seal: not.
    let text = write(
        &hub,
        "content.json",
        &serde_json::to_string(&content).unwrap(),
    );
    let ran = run_sportello(&["verify", "--seal", &qr, "--key", &key, "--content", &text]);
    assert_eq!(ran.code, 0, "{}", ran.all());
    assert!(ran.stdout.contains("verdict:     GENUINE"), "{}", ran.all());
    let mut forged = content.clone();
    forged.body[0] = "Si certifica che Mario Rossi risulta occupato.".into();
    let forged = write(
        &hub,
        "forged.json",
        &serde_json::to_string(&forged).unwrap(),
    );
    let ran = run_sportello(&["verify", "--seal", &qr, "--key", &key, "--content", &forged]);
    assert_eq!(ran.code, 1, "{}", ran.all());

    // Online, the hub's copy is the text compared.
    let ran = run_sportello(&["verify", "--seal", &qr, "--key-url", &key_url]);
    assert_eq!(ran.code, 0, "{}", ran.all());
    assert!(
        ran.stdout.contains("the hub's copy matches the seal")
            && ran.stdout.contains("verdict:     GENUINE"),
        "{}",
        ran.all()
    );

    // Erased on the hub: online without the text is not "genuine" either.
    let (erased_qr, erased_content) = issue(&hub, true);
    let ran = run_sportello(&["verify", "--seal", &erased_qr, "--key-url", &key_url]);
    assert_eq!(ran.code, 3, "{}", ran.all());
    assert!(
        ran.stdout.contains("the hub no longer keeps the text")
            && ran
                .stdout
                .contains("signature:   valid — compare the printed text"),
        "{}",
        ran.all()
    );
    assert!(!ran.stdout.contains("GENUINE"), "{}", ran.all());
    let text = write(
        &hub,
        "erased.json",
        &serde_json::to_string(&erased_content).unwrap(),
    );
    let ran = run_sportello(&[
        "verify",
        "--seal",
        &erased_qr,
        "--key-url",
        &key_url,
        "--content",
        &text,
    ]);
    assert_eq!(ran.code, 0, "{}", ran.all());
    hub.stop().await;
}

async fn page(url: &str) -> (u16, String) {
    let response = reqwest::get(url).await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_after_erasure_says_the_text_can_no_longer_be_checked() {
    let hub = TestHub::start().await;
    let (kept, _) = issue(&hub, false);
    let (erased, content) = issue(&hub, true);

    // While the text is kept: genuine, beside the original to compare with.
    let (status, body) = page(&format!("{kept}&lang=it")).await;
    assert_eq!(status, 200);
    assert!(body.contains("Certificato autentico"), "{body}");
    assert!(body.contains("Giulia Verdi"), "{body}");

    // Erased: valid seal, expired certificate, nothing to compare; never "authentic".
    let (status, body) = page(&format!("{erased}&lang=it")).await;
    assert_eq!(status, 200);
    assert!(
        body.contains(
            "Il sigillo è valido, ma il certificato è scaduto e il suo testo non può più essere verificato."
        ),
        "{body}"
    );
    assert!(!body.contains("autentic"), "{body}");
    assert!(!body.contains("Giulia Verdi"), "{body}");
    assert!(body.contains(&content.certificate_id), "{body}");
    let (_, body) = page(&format!("{erased}&lang=en")).await;
    assert!(
        body.contains(
            "The seal is valid, but the certificate has expired and its text can no longer be checked."
        ),
        "{body}"
    );
    assert!(!body.to_lowercase().contains("genuine"), "{body}");
    hub.stop().await;
}
