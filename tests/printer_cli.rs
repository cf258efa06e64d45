//! The `sportello printer` commands, run as a maintainer would: a virtual printer in
//! one process, the test page and a sample ticket sent to it from another.

mod common;

use common::sportello;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use sportello::lang::Lang;
use sportello::printer::layout::{self, TicketData};
use sportello::printer::profile::Profile;

/// The emulator child; killed (by its own pid) when dropped.
struct Emulate(Child);

impl Drop for Emulate {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn emulate_then_test_page_and_sample_ticket() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("receipts");
    let mut child = Emulate(
        common::sportello_command()
            .args([
                "printer",
                "emulate",
                "--profile",
                "epson-tm-t20iii",
                "--out",
            ])
            .arg(&out)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let (tx, rx) = mpsc::channel();
    let stdout = child.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let line = |what: &str| {
        rx.recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("no {what}"))
    };
    let pty = line("pty path");
    assert!(pty.starts_with("/dev/"), "{pty}");

    let (ok, stdout, stderr) = sportello(&["printer", "status", "--port", &pty]);
    assert!(
        ok && stdout.contains("status: ready (DLE EOT 1-4: 12 12 12 12)"),
        "{stdout}{stderr}"
    );

    let (ok, stdout, stderr) = sportello(&[
        "printer",
        "test",
        "--port",
        &pty,
        "--profile",
        "epson-tm-t20iii",
    ]);
    assert!(ok, "{stdout}{stderr}");
    assert!(
        stdout.contains("printed in") && stdout.contains("status: ready"),
        "{stdout}"
    );
    let receipt = line("receipt line");
    assert!(receipt.starts_with("receipt 1: "), "{receipt}");
    let png = receipt.trim_start_matches("receipt 1: ");
    let img = image::open(png).unwrap().to_luma8();
    assert_eq!(img.width(), 576);
    assert_eq!(
        common::decode_qr(&img),
        vec!["https://example.invalid/sportello/test"]
    );

    // A sample ticket in English, written to a file and printed from it.
    let file = dir.path().join("ticket.bin");
    let file = file.to_str().unwrap();
    let (ok, stdout, _) = sportello(&[
        "printer",
        "sample",
        "--profile",
        "epson-tm-t20iii",
        "--lang",
        "en",
        "--service",
        "isee",
        "--out",
        file,
    ]);
    assert!(ok, "{stdout}");
    let bytes = std::fs::read(file).unwrap();
    let profile = Profile::named("epson-tm-t20iii").unwrap();
    let mut expected = TicketData::example("ISEE means test (DSU)", "I012");
    expected.priority = true;
    let catalogue = sportello::catalogue::Catalogue::builtin();
    let isee = catalogue.service("isee").unwrap();
    expected.service_name_it = Some(isee.name(Lang::IT).to_string());
    assert_eq!(bytes, layout::queue_ticket(&expected, &profile, Lang::EN));
    let (ok, stdout, stderr) = sportello(&[
        "printer",
        "print",
        file,
        "--port",
        &pty,
        "--profile",
        "epson-tm-t20iii",
    ]);
    assert!(ok, "{stdout}{stderr}");
    let receipt = line("second receipt");
    let img = image::open(receipt.trim_start_matches("receipt 2: "))
        .unwrap()
        .to_luma8();
    assert_eq!(common::decode_qr(&img), vec![expected.tracking_url]);

    // Paper out, typed on the emulator's stdin: the next job is refused with the reason.
    use std::io::Write;
    let stdin = child.0.stdin.as_mut().unwrap();
    writeln!(stdin, "paper-out").unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let (ok, _, stderr) = sportello(&[
        "printer",
        "test",
        "--port",
        &pty,
        "--profile",
        "epson-tm-t20iii",
    ]);
    assert!(!ok);
    assert!(stderr.contains("before printing: paper out"), "{stderr}");
}

#[test]
fn sample_rejects_unknown_names() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.bin");
    let out = out.to_str().unwrap();
    let (ok, _, err) = sportello(&["printer", "sample", "--profile", "tm-t20", "--out", out]);
    assert!(
        !ok && err.contains("unknown printer profile `tm-t20`"),
        "{err}"
    );
    let (ok, _, err) = sportello(&[
        "printer",
        "sample",
        "--profile",
        "generic-58",
        "--service",
        "x",
        "--out",
        out,
    ]);
    assert!(!ok && err.contains("unknown service `x`"), "{err}");
    let (ok, stdout, _) = sportello(&["printer", "profiles"]);
    assert!(
        ok && stdout.contains("custom-vkp80iii") && stdout.contains("presenter"),
        "{stdout}"
    );
    assert!(stdout.contains("WPC1251 46"), "{stdout}");
}

#[test]
fn sample_in_a_raster_language_draws_its_text() {
    let Some(lang) = Lang::all().find(|l| l.code_pages().is_empty()) else {
        eprintln!("skipped: no raster language shipped");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ticket.bin");
    let out = out.to_str().unwrap();
    let code = lang.code();
    let args = [
        "printer",
        "sample",
        "--profile",
        "generic-80",
        "--lang",
        code,
        "--out",
        out,
    ];
    let (ok, stdout, err) = sportello(&args);
    if let Some(missing) = lang
        .fonts()
        .iter()
        .find(|p| !std::path::Path::new(p).is_file())
    {
        // The error names the file and the package to install.
        assert!(
            !ok && err.contains(missing) && err.contains(lang.font_package()),
            "{err}"
        );
        eprintln!("skipped: {missing} is not installed");
        return;
    }
    assert!(ok, "{stdout}{err}");
    let bytes = std::fs::read(out).unwrap();
    // generic-80 has native QR: any raster image is text.
    assert!(bytes.windows(3).any(|w| w == [0x1D, 0x76, 0x30]), "{lang}");
}

#[test]
fn status_of_a_missing_port_is_a_clear_error() {
    let (ok, _, err) = sportello(&["printer", "status", "--port", "/dev/nonexistent-printer"]);
    assert!(
        !ok && err.contains("cannot open /dev/nonexistent-printer"),
        "{err}"
    );
}
