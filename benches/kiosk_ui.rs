//! The kiosk's cold start and memory, on Slint's software renderer (no GPU needed):
//!
//! - cold start: from spawning a fresh process to its first rendered frame, with the real
//!   start-up work (store, virtual printer, sync worker, window, translations);
//! - resident memory after 100 tickets issued through the real core against a hub on
//!   loopback, each shown on the ticket screen and rendered.
//!
//! `cargo bench --bench kiosk_ui` (release). Under `cargo test` it runs one short round.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use i_slint_backend_testing::{TestingBackend, TestingBackendOptions};
use slint::ComponentHandle;
use sportello::config::hub::{HubConfig, TlsMode};
use sportello::config::kiosk::{KioskConfig, SystemClockTrust};
use sportello::hub::{self, admin, clock::SystemClock};
use sportello::kiosk::controller::{Controller, UiSettings};
use sportello::kiosk::run;
use sportello::kiosk::session::TicketRequest;
use sportello::lang::Lang;
use sportello::sync::worker::Intervals;
use sportello::ui::{Kiosk, KioskWindow, Page};

const CHILD: &str = "SPORTELLO_UI_BENCH_CHILD";

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn headless() {
    slint::platform::set_platform(Box::new(TestingBackend::new(TestingBackendOptions {
        mock_time: false,
        threading: false,
        renderer_name: Some("software".into()),
    })))
    .expect("platform");
}

/// The child: start a kiosk and render its first frame; with a hub URL, then issue
/// `tickets` tickets, render each, and report the resident memory.
fn child(mode: &str) {
    headless();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = KioskConfig {
        data_dir: dir.path().to_path_buf(),
        ..KioskConfig::default()
    };
    config.clock.trust_system = SystemClockTrust::Always;
    let hub = std::env::var("BENCH_HUB").ok();
    match &hub {
        Some(url) => {
            config.hub.url = url.clone();
            config.hub.enrollment_token = std::env::var("BENCH_TOKEN").ok();
        }
        None => config.hub.url = "http://127.0.0.1:9".into(),
    }
    let kiosk = run::start(config, Intervals::default()).expect("kiosk starts");
    let app = KioskWindow::new().expect("window");
    app.window().set_size(slint::PhysicalSize::new(1080, 1920));
    let _controller = Controller::attach(
        &app,
        kiosk.core.clone(),
        kiosk.runtime.handle().clone(),
        UiSettings {
            default_lang: Lang::IT,
            idle_after: Duration::from_secs(60),
            warn_for: Duration::from_secs(30),
            px_per_mm: 1080.0 / 268.0,
            warning_sound: false,
            front_desk: String::new(),
            lower_edge_mm: 1000.0,
            logo: None,
        },
        std::sync::Arc::new(sportello::speech::Silent),
    );
    app.show().expect("show");
    let frame = app.window().take_snapshot().expect("frame");
    assert_eq!(frame.width(), 1080);
    println!("@FRAME");
    if mode != "memory" {
        return;
    }
    while kiosk
        .runtime
        .block_on(kiosk.core.issue_ticket(probe_request()))
        .is_err()
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let tickets: usize = std::env::var("BENCH_TICKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let before = rss_kib();
    for i in 0..tickets {
        let mut request = probe_request();
        request.service = ["naspi", "did-patto", "imprese"][i % 3].into();
        let ticket = kiosk
            .runtime
            .block_on(kiosk.core.issue_ticket(request))
            .expect("ticket");
        let k = app.global::<Kiosk>();
        k.set_page(Page::Ticket);
        let mut view = k.get_ticket();
        view.number = ticket.number.as_str().into();
        view.qr = sportello::kiosk::qr::image(&ticket.url);
        k.set_ticket(view);
        let _ = app.window().take_snapshot();
        if (i + 1) % 100 == 0 {
            println!("@RSS_AT {} {}", i + 1, rss_kib());
        }
    }
    println!("@RSS {before} {} {tickets}", rss_kib());
}

fn probe_request() -> TicketRequest {
    TicketRequest {
        op_id: uuid::Uuid::new_v4(),
        service: "naspi".into(),
        priority: false,
        lang: Lang::IT,
        codice_fiscale: None,
        codice_fiscale_from_card: false,
    }
}

fn spawn(mode: &str, envs: &[(&str, String)]) -> (Duration, Vec<String>) {
    let started = Instant::now();
    let mut command = Command::new(std::env::current_exe().expect("exe"));
    command
        .env(CHILD, mode)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in envs {
        command.env(k, v);
    }
    let mut process = command.spawn().expect("spawn");
    let mut first_frame = None;
    let mut lines = Vec::new();
    for line in BufReader::new(process.stdout.take().expect("stdout")).lines() {
        let Ok(line) = line else { break };
        if line == "@FRAME" && first_frame.is_none() {
            first_frame = Some(started.elapsed());
        }
        lines.push(line);
    }
    let _ = process.wait();
    (first_frame.expect("the child rendered a frame"), lines)
}

fn main() {
    if let Ok(mode) = std::env::var(CHILD) {
        child(&mode);
        return;
    }
    let full = std::env::args().any(|a| a == "--bench");
    let runs = if full { 7 } else { 1 };
    let mut starts: Vec<Duration> = (0..runs).map(|_| spawn("startup", &[]).0).collect();
    starts.sort();
    println!(
        "cold start to first frame (software renderer, 1080x1920), {runs} runs: median {:.0?}, min {:.0?}, max {:.0?}",
        starts[starts.len() / 2],
        starts[0],
        starts[starts.len() - 1]
    );

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = HubConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        database: sportello::config::hub::Database::sqlite(dir.path().join("hub.sqlite")),
        ..HubConfig::default()
    };
    config.tls.mode = TlsMode::Off;
    let hub = rt
        .block_on(hub::start(config.clone(), Arc::new(SystemClock)))
        .expect("hub");
    let token = admin::create_enrollment_token(sportello::hub::store::Location::of(&config))
        .expect("token");
    // `SPORTELLO_UI_BENCH_TICKETS` runs longer, to see whether memory levels off.
    let tickets = std::env::var("SPORTELLO_UI_BENCH_TICKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full { 100 } else { 5 });
    let (_, lines) = spawn(
        "memory",
        &[
            ("BENCH_HUB", hub.url.clone()),
            ("BENCH_TOKEN", token),
            ("BENCH_TICKETS", tickets.to_string()),
        ],
    );
    let rss = lines
        .iter()
        .find_map(|l| l.strip_prefix("@RSS "))
        .expect("memory figures");
    let figures: Vec<u64> = rss
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    println!(
        "resident memory: {} MiB after the first ticket, {} MiB after {} more tickets (each rendered)",
        figures[0] / 1024,
        figures[1] / 1024,
        figures[2]
    );
    let along: Vec<String> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("@RSS_AT "))
        .filter_map(|l| l.split_once(' '))
        .filter_map(|(n, kib)| Some(format!("{n}: {} MiB", kib.parse::<u64>().ok()? / 1024)))
        .collect();
    if along.len() > 1 {
        println!("resident memory along the way: {}", along.join(", "));
    }
    rt.block_on(hub.shutdown());
}
