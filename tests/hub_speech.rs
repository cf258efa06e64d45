//! The board's spoken calls over HTTP: a real call's WAV (espeak-ng runs once per phrase,
//! then the cache answers with the same bytes), 404 for anything that was not called,
//! the board told whether and in which languages to speak, and a hub without espeak-ng
//! answering 503 that says to install it, logged once.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Clerk, TestHub, ticket};
use sportello::hub::admin;
use sportello::lang::Lang;
use sportello::protocol::EnrollRequest;
use sportello::sync::{HubClient, HubClientConfig};

fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

async fn get(url: &str) -> (u16, String, Vec<u8>) {
    let response = http().get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, kind, response.bytes().await.unwrap().to_vec())
}

async fn error_code(url: &str) -> (u16, String) {
    let (status, _, body) = get(url).await;
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    (status, body["error"]["code"].as_str().unwrap().to_string())
}

/// espeak-ng runs so far, from `/metrics`.
async fn syntheses(base: &str) -> u64 {
    let (_, _, text) = get(&format!("{base}/metrics")).await;
    String::from_utf8(text)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("sportello_call_audio_syntheses_total "))
        .expect("the metric is there")
        .parse()
        .unwrap()
}

/// The WAV's sample bytes, checking its header gives the real sizes.
fn samples(wav: &[u8]) -> usize {
    assert_eq!(&wav[0..4], b"RIFF");
    assert_eq!(&wav[8..16], b"WAVEfmt ");
    assert_eq!(&wav[36..40], b"data");
    let riff = u32::from_le_bytes(wav[4..8].try_into().unwrap()) as usize;
    let data = u32::from_le_bytes(wav[40..44].try_into().unwrap()) as usize;
    assert_eq!((riff + 8, data + 44), (wav.len(), wav.len()));
    data
}

/// What the board learns from `/display/state`.
async fn display_state(base: &str) -> serde_json::Value {
    let answer = http()
        .get(format!("{base}/display/state"))
        .send()
        .await
        .unwrap();
    answer.json().await.unwrap()
}

#[tokio::test]
async fn a_real_call_is_said_and_then_served_from_the_cache() {
    let hub = TestHub::start().await;
    let base = hub.url();
    let kiosk = hub.kiosk("a").await;
    for _ in 0..2 {
        kiosk.issue_ticket(&ticket("naspi")).await.unwrap();
    }
    let state = display_state(&base).await;
    assert_eq!(state["speak_calls"], true);
    assert_eq!(state["call_languages"], serde_json::json!(["it"]));
    // Nobody called yet: nothing to say.
    assert_eq!(
        error_code(&format!("{base}/display/calls/N001.wav")).await,
        (404, "unknown_call".to_string())
    );

    let clerk = hub.clerk("anna").await;
    clerk.setup("Sportello 3", &["naspi"]).await;
    assert_eq!(clerk.next().await.unwrap().as_deref(), Some("N001"));
    assert_eq!(syntheses(&base).await, 0);
    let started = Instant::now();
    let (status, kind, first) = get(&format!("{base}/display/calls/N001.wav")).await;
    let rendering = started.elapsed();
    assert_eq!((status, kind.as_str()), (200, "audio/wav"));
    // "Numero N, zero, zero, uno, Sportello 3" is a few seconds of 22,050 Hz 16-bit mono.
    let seconds = samples(&first) as f64 / 44_100.0;
    assert!((1.5..8.0).contains(&seconds), "{seconds} s");
    assert_eq!(syntheses(&base).await, 1);

    // Again, and with a query string that cannot change what is said: the same bytes,
    // without running espeak-ng again.
    for path in ["N001.wav", "N001.wav?text=anything&lang=en"] {
        let (status, _, again) = get(&format!("{base}/display/calls/{path}")).await;
        assert_eq!(status, 200);
        assert!(again == first, "{path}: the cached bytes");
    }
    assert_eq!(syntheses(&base).await, 1);
    println!("rendered in {rendering:?}");

    // Only calls that happened today: not a waiting ticket, an unknown number, or text.
    for path in [
        "N002.wav",
        "N999.wav",
        "N-A01.wav",
        "N001",
        "N001.mp3",
        "Numero%20N%2C%20zero.wav",
        "..%2Fhub.sqlite",
    ] {
        let (status, code) = error_code(&format!("{base}/display/calls/{path}")).await;
        assert_eq!((status, code.as_str()), (404, "unknown_call"), "{path}");
    }
    assert_eq!(syntheses(&base).await, 1, "nothing else was rendered");
    hub.stop().await;
}

#[tokio::test]
async fn calls_are_said_in_the_configured_languages_or_not_at_all() {
    let both = TestHub::start_with(
        |c| c.display.call_languages = vec![Lang::IT, Lang::EN],
        None,
    )
    .await;
    let italian = TestHub::start().await;
    for hub in [&both, &italian] {
        let kiosk = hub.kiosk("a").await;
        kiosk.issue_ticket(&ticket("naspi")).await.unwrap();
        let clerk = hub.clerk("anna").await;
        clerk.setup("Sportello 3", &["naspi"]).await;
        clerk.next().await.unwrap();
    }
    let (status, _, two) = get(&format!("{}/display/calls/N001.wav", both.url())).await;
    assert_eq!(status, 200);
    let (_, _, one) = get(&format!("{}/display/calls/N001.wav", italian.url())).await;
    assert!(
        samples(&two) > samples(&one) + 44_100,
        "the English after the Italian"
    );
    assert_eq!(syntheses(&both.url()).await, 2, "one phrase per language");
    both.stop().await;
    italian.stop().await;

    let silent = TestHub::start_with(|c| c.display.speak_calls = false, None).await;
    let kiosk = silent.kiosk("a").await;
    kiosk.issue_ticket(&ticket("naspi")).await.unwrap();
    let clerk = silent.clerk("anna").await;
    clerk.setup("Sportello 1", &["naspi"]).await;
    clerk.next().await.unwrap();
    let state = display_state(&silent.url()).await;
    assert_eq!(state["speak_calls"], false);
    assert_eq!(
        error_code(&format!("{}/display/calls/N001.wav", silent.url())).await,
        (404, "speech_off".to_string())
    );
    silent.stop().await;
}

/// Kills the hub process when the test ends, however it ends.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_espeak_ng_the_hub_says_to_install_it_and_logs_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hub.sqlite");
    let file = dir.path().join("hub.toml");
    std::fs::write(
        &file,
        format!(
            "listen = \"127.0.0.1:0\"\ndatabase = \"{}\"\n[tls]\nmode = \"off\"\n",
            db.display()
        ),
    )
    .unwrap();
    // A PATH without espeak-ng, as on a hub where the package is not installed.
    let empty = dir.path().join("bin");
    std::fs::create_dir(&empty).unwrap();
    let mut child = common::sportello_command()
        .args(["hub", "--config"])
        .arg(&file)
        .env("PATH", &empty)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut server = Server(child);
    let mut lines = BufReader::new(stdout).lines();
    let url = loop {
        let line = lines.next().expect("the hub prints its URL").unwrap();
        if let Some(rest) = line.strip_prefix("sportello hub: listening on ") {
            break rest.trim().to_string();
        }
    };
    let log = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });

    let token = admin::create_enrollment_token(&db).unwrap();
    let mut kiosk = HubClient::new(HubClientConfig::new(url.clone())).unwrap();
    let enrolled = kiosk
        .enroll(&EnrollRequest {
            enrollment_token: token,
            name: Some("a".into()),
            previous: None,
        })
        .await
        .unwrap();
    kiosk.set_token(enrolled.token);
    kiosk.issue_ticket(&ticket("naspi")).await.unwrap();
    admin::add_operator(&db, "anna", "password123").unwrap();
    let clerk = Clerk::new(&url);
    clerk.login("anna", "password123").await.unwrap();
    clerk.setup("Sportello 2", &["naspi"]).await;
    assert_eq!(clerk.next().await.unwrap().as_deref(), Some("N001"));

    for _ in 0..3 {
        let (status, kind, body) = get(&format!("{url}/display/calls/N001.wav")).await;
        assert_eq!((status, kind.as_str()), (503, "application/json"));
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"]["code"], "speech_unavailable");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("install espeak-ng"), "{message}");
    }
    // The board itself still works.
    let (status, _, _) = get(&format!("{url}/display/state")).await;
    assert_eq!(status, 200);

    // Stop it (SIGTERM through sh's built-in `kill`) and read its log.
    std::process::Command::new("sh")
        .args(["-c", &format!("kill -TERM {}", server.0.id())])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while server.0.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the hub did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = log.join().unwrap();
    let warnings: Vec<_> = log
        .iter()
        .filter(|l| l.contains("cannot say the calls"))
        .collect();
    assert_eq!(warnings.len(), 1, "{log:#?}");
    assert!(warnings[0].contains("espeak-ng"), "{}", warnings[0]);
    assert!(!log.iter().any(|l| l.contains("Sportello 2")), "{log:#?}");
}
