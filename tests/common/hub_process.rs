//! A hub as its own process (`sportello hub --config FILE`), for tests that kill it or
//! run two of them on one database.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// Starts `sportello hub` on `config`; returns the child and its URL. (The caller kills
/// and waits for it.)
#[allow(clippy::zombie_processes)]
pub fn start_hub_process(config: &Path) -> (Child, String) {
    let mut child = super::sportello_command()
        .args(["hub", "--config"])
        .arg(config)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the hub");
    // The last lines of its log, for the message if it does not start; always drained.
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let keep = log.clone();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let mut log = keep.lock().unwrap();
            if log.len() == 20 {
                log.remove(0);
            }
            log.push(line);
        }
    });
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        if let Some(url) = line.strip_prefix("sportello hub: listening on ") {
            let url = url.trim().to_string();
            // Keep draining its output so the hub never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines {});
            return (child, url);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!(
        "the hub did not print its URL; its last words:\n{}",
        log.lock().unwrap().join("\n")
    );
}
