//! `sportello hub ...` run as a maintainer would: set-up commands, then the server
//! printing its fingerprint, reached by a pinned kiosk client, stopped by SIGTERM.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sportello::protocol::{EnrollRequest, IssueTicketRequest};
use sportello::sync::{HubClient, HubClientConfig};

#[test]
fn plain_http_off_loopback_is_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hub.toml");
    std::fs::write(&file, "listen = \"0.0.0.0:8443\"\n[tls]\nmode = \"off\"\n").unwrap();
    let out = common::sportello_command()
        .args(["hub", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tls.mode") && err.contains("listen"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_up_serve_and_stop_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hub.sqlite");
    let file = dir.path().join("hub.toml");
    std::fs::write(
        &file,
        format!(
            "listen = \"127.0.0.1:0\"\ndatabase = \"{}\"\noffice_name = \"Ufficio CLI\"\n",
            db.display()
        ),
    )
    .unwrap();

    // A clerk, with the password on standard input.
    let mut child = common::sportello_command()
        .args(["hub", "--config"])
        .arg(&file)
        .args(["operator", "add", "anna"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a-long-password\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("operator anna added"));

    // A too-short password is refused.
    let mut child = common::sportello_command()
        .args(["hub", "--config"])
        .arg(&file)
        .args(["operator", "add", "bruno"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"short\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 8"));

    // An enrollment token.
    let out = common::sportello_command()
        .args(["hub", "--config"])
        .arg(&file)
        .args(["kiosk", "enroll-token"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_eq!(token.len(), 64);

    // Bookings, one bad line naming its number.
    let csv = dir.path().join("bookings.csv");
    std::fs::write(&csv, "A1,09:00,naspi\nA2,25:00,naspi\n").unwrap();
    let out = common::sportello_command()
        .args(["hub", "--config"])
        .arg(&file)
        .args(["appointments", "import"])
        .arg(&csv)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 2"));
    std::fs::write(&csv, "A1,09:00,naspi\nA2,10:00,isee,RSSMRA45C12F205C\n").unwrap();
    let out = common::sportello_command()
        .args(["hub", "--config"])
        .arg(&file)
        .args(["appointments", "import"])
        .arg(&csv)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 2 appointments"));

    // The server: self-signed certificate on first start, fingerprint printed.
    let mut server = common::sportello_command()
        .args(["hub", "--config"])
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut url = None;
    let mut fingerprint = None;
    while fingerprint.is_none() && Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        if let Some(rest) = line.strip_prefix("sportello hub: listening on ") {
            url = Some(rest.trim().to_string());
        }
        if line.starts_with("  ") && line.contains(':') {
            fingerprint = Some(line.trim().to_string());
        }
    }
    let url = url.expect("the hub prints its URL");
    let fingerprint = fingerprint.expect("the hub prints its fingerprint");
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");

    let mut config = HubClientConfig::new(url);
    config.certificate_sha256 = Some(fingerprint);
    let mut client = HubClient::new(config).unwrap();
    let enrolled = client
        .enroll(&EnrollRequest {
            enrollment_token: token,
            name: Some("kiosk-cli".into()),
            previous: None,
        })
        .await
        .unwrap();
    client.set_token(enrolled.token);
    let ticket = client
        .issue_ticket(&IssueTicketRequest {
            op_id: uuid::Uuid::new_v4(),
            service: "appuntamento".into(),
            priority: false,
            lang: "en".into(),
            appointment: Some("A1".into()),
            codice_fiscale: None,
            codice_fiscale_from_card: false,
            offline_number: None,
            issued_at: chrono::Utc::now().fixed_offset(),
        })
        .await
        .unwrap();
    assert_eq!(ticket.ticket.number, "N001");

    // SIGTERM stops it cleanly.
    // Through sh's built-in `kill`: no procps needed on a minimal image.
    let status = Command::new("sh")
        .args(["-c", &format!("kill -TERM {}", server.id())])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = server.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        if Instant::now() > deadline {
            let _ = server.kill();
            panic!("the hub did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
