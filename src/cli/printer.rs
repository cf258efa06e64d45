//! `sportello printer ...`: the maintainer's printer tools.
//!
//! `emulate` runs the virtual printer on a pseudo-terminal (the demo and manual tests
//! use it); `sample` writes a ticket's bytes to a file; `test` prints a test page on a
//! real printer and reports the decoded status; `status` only asks the status;
//! `profiles` lists the printer models known.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::Subcommand;

use sportello::catalogue::Catalogue;
use sportello::lang::Lang;
use sportello::printer::emulator::{Emulator, EmulatorOptions, Paper, VirtualState};
use sportello::printer::escpos::QrMode;
use sportello::printer::job::{self, JobOptions, PrintOutcome};
use sportello::printer::layout::{self, DocumentData, TicketData};
use sportello::printer::profile::{self, Profile, TextMode};
use sportello::printer::raster_text::TextFont;
use sportello::printer::status;
use sportello::printer::transport::{FlowControl, SerialLink, SerialSettings};

/// The printer subcommands.
#[derive(Subcommand)]
pub enum PrinterCommand {
    /// Run a virtual printer on a pseudo-terminal; print its path, then each receipt.
    ///
    /// Type on stdin to change its state: ok, near-end, paper-out, cover-open,
    /// cover-closed, cutter-error, silent, talk, quit.
    Emulate {
        /// Printer profile to emulate.
        #[arg(long, default_value = "generic-80")]
        profile: String,
        /// Directory for the receipt PNGs.
        #[arg(long, default_value = "receipts")]
        out: PathBuf,
        /// Emulate a line this slow (8N1); as fast as possible when omitted.
        #[arg(long)]
        baud: Option<u32>,
    },
    /// Write the ESC/POS bytes of a sample ticket (or document) to a file.
    Sample {
        /// Printer profile.
        #[arg(long)]
        profile: String,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
        /// Language of the ticket.
        #[arg(long, default_value = "it")]
        lang: Lang,
        /// Service code from the catalogue.
        #[arg(long, default_value = "naspi")]
        service: String,
        /// Force the QR as a raster image even if the printer has native QR.
        #[arg(long)]
        raster_qr: bool,
        /// A sample certificate instead of a queue ticket.
        #[arg(long)]
        document: bool,
    },
    /// Print a test page on a real printer and report its status.
    Test {
        /// Serial device.
        #[arg(long)]
        port: PathBuf,
        /// Printer profile.
        #[arg(long)]
        profile: String,
        /// Baud rate.
        #[arg(long, default_value_t = 115_200)]
        baud: u32,
        /// Flow control: none, rtscts, xonxoff.
        #[arg(long, default_value = "none")]
        flow: FlowControl,
    },
    /// Send a file of ESC/POS bytes (e.g. from `sample`) as one print job.
    Print {
        /// The bytes to print.
        file: PathBuf,
        /// Serial device.
        #[arg(long)]
        port: PathBuf,
        /// Printer profile.
        #[arg(long)]
        profile: String,
        /// Baud rate.
        #[arg(long, default_value_t = 115_200)]
        baud: u32,
        /// Flow control: none, rtscts, xonxoff.
        #[arg(long, default_value = "none")]
        flow: FlowControl,
    },
    /// Ask the printer's real-time status and decode it.
    Status {
        /// Serial device.
        #[arg(long)]
        port: PathBuf,
        /// Baud rate.
        #[arg(long, default_value_t = 115_200)]
        baud: u32,
        /// Flow control: none, rtscts, xonxoff.
        #[arg(long, default_value = "none")]
        flow: FlowControl,
    },
    /// List the printer profiles.
    Profiles,
}

/// Runs one printer subcommand.
pub fn run(command: PrinterCommand) -> Result<(), String> {
    match command {
        PrinterCommand::Emulate { profile, out, baud } => emulate(&profile, out, baud),
        PrinterCommand::Sample {
            profile,
            out,
            lang,
            service,
            raster_qr,
            document,
        } => sample(&profile, &out, lang, &service, raster_qr, document),
        PrinterCommand::Test {
            port,
            profile,
            baud,
            flow,
        } => {
            let profile = load_profile(&profile)?;
            let bytes = layout::test_page(&profile);
            send_job(port, &profile, baud, flow, &bytes)
        }
        PrinterCommand::Print {
            file,
            port,
            profile,
            baud,
            flow,
        } => {
            let profile = load_profile(&profile)?;
            let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            send_job(port, &profile, baud, flow, &bytes)
        }
        PrinterCommand::Status { port, baud, flow } => show_status(port, baud, flow),
        PrinterCommand::Profiles => {
            for p in profile::builtin() {
                let pages: Vec<String> = p
                    .code_pages
                    .iter()
                    .map(|(page, n)| format!("{} {n}", page.name()))
                    .collect();
                println!(
                    "{:<16} {} - {} dots, {} cols, {} (ESC t {}; pages {}), QR {}, cutter {}{}",
                    p.name,
                    p.model,
                    p.dots_per_line,
                    p.chars_per_line,
                    p.text_page.name(),
                    p.text_page_number(),
                    pages.join(", "),
                    if p.native_qr { "native" } else { "raster" },
                    p.cutter,
                    if p.presenter.is_some() {
                        ", presenter"
                    } else {
                        ""
                    },
                );
            }
            Ok(())
        }
    }
}

fn load_profile(name: &str) -> Result<Profile, String> {
    Profile::named(name).map_err(|e| e.to_string())
}

fn sample(
    name: &str,
    out: &PathBuf,
    lang: Lang,
    service: &str,
    raster_qr: bool,
    document: bool,
) -> Result<(), String> {
    let profile = load_profile(name)?;
    let bytes = if document {
        layout::document(&DocumentData::example(), &profile)
    } else {
        let catalogue = Catalogue::builtin();
        let s = catalogue
            .service(service)
            .ok_or_else(|| format!("unknown service `{service}`"))?;
        let mut ticket = TicketData::example(s.name(lang), &format!("{}012", s.prefix));
        ticket.priority = s.priority;
        ticket.service_name_it = (lang != Lang::IT).then(|| s.name(Lang::IT).to_string());
        let mode = if raster_qr {
            QrMode::Raster
        } else {
            QrMode::for_profile(&profile)
        };
        // Scripts no page of the printer holds go as raster text, from the image's fonts.
        let font = match profile.text_mode(lang) {
            TextMode::Raster => Some(TextFont::for_lang(lang).map_err(|e| e.to_string())?),
            TextMode::Page(_) => None,
        };
        layout::queue_ticket_in_with(&ticket, &profile, lang, font.as_ref(), mode)
    };
    std::fs::write(out, &bytes).map_err(|e| format!("{}: {e}", out.display()))?;
    println!("{}: {} bytes", out.display(), bytes.len());
    Ok(())
}

fn open(port: PathBuf, baud: u32, flow: FlowControl) -> Result<SerialLink, String> {
    let settings = SerialSettings {
        baud,
        flow_control: flow,
        ..SerialSettings::new(port)
    };
    SerialLink::open(&settings).map_err(|e| e.to_string())
}

fn show_status(port: PathBuf, baud: u32, flow: FlowControl) -> Result<(), String> {
    let mut link = open(port, baud, flow)?;
    let timeout = Duration::from_millis(500);
    match status::query_bytes(&mut link, timeout).map_err(|e| e.to_string())? {
        Some(bytes) => {
            println!(
                "status: {} (DLE EOT 1-4: {:02X} {:02X} {:02X} {:02X})",
                status::decode(bytes),
                bytes.printer,
                bytes.offline,
                bytes.error,
                bytes.paper
            );
            Ok(())
        }
        None => Err("status: not responding (check port, baud and cable)".to_string()),
    }
}

fn send_job(
    port: PathBuf,
    profile: &Profile,
    baud: u32,
    flow: FlowControl,
    bytes: &[u8],
) -> Result<(), String> {
    let mut link = open(port, baud, flow)?;
    println!("sending {} bytes to {}", bytes.len(), profile.model);
    let outcome = job::print_with(&mut link, profile, bytes, &JobOptions::for_baud(baud));
    let state = status::query(&mut link, Duration::from_millis(500));
    println!("status: {state}");
    match outcome {
        PrintOutcome::Printed {
            paper_near_end,
            elapsed,
        } => {
            println!(
                "printed in {} ms{}",
                elapsed.as_millis(),
                if paper_near_end {
                    " (paper near end)"
                } else {
                    ""
                }
            );
            Ok(())
        }
        PrintOutcome::Failed(failure) => Err(format!("not printed: {failure}")),
    }
}

fn emulate(name: &str, out: PathBuf, baud: Option<u32>) -> Result<(), String> {
    let profile = load_profile(name)?;
    let emulator = Emulator::spawn_with(&profile, Some(&out), EmulatorOptions { baud })
        .map_err(|e| format!("cannot start the virtual printer: {e}"))?;
    println!("{}", emulator.path().display());
    eprintln!(
        "virtual {} on {}; receipts go to {}",
        profile.model,
        emulator.path().display(),
        out.display()
    );
    let _ = std::io::stdout().flush();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line.trim().to_string()).is_err() {
                break;
            }
        }
    });
    let mut shown = 0;
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(cmd) => {
                if cmd == "quit" {
                    return Ok(());
                }
                let mut state = emulator.state();
                match apply_command(&mut state, &cmd) {
                    Ok(()) => {
                        emulator.set_state(state);
                        eprintln!("state: {state:?}");
                    }
                    Err(e) => eprintln!("{e}"),
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            // stdin closed: keep printing until killed.
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        let receipts = emulator.receipts();
        for r in receipts.iter().skip(shown) {
            let path = r
                .png
                .as_ref()
                .map_or_else(|| "(not saved)".to_string(), |p| p.display().to_string());
            println!("receipt {}: {path}", r.number);
            let _ = std::io::stdout().flush();
        }
        shown = receipts.len();
    }
}

fn apply_command(state: &mut VirtualState, cmd: &str) -> Result<(), String> {
    match cmd {
        "ok" => *state = VirtualState::default(),
        "near-end" => state.paper = Paper::NearEnd,
        "paper-out" => state.paper = Paper::Out,
        "cover-open" => state.cover_open = true,
        "cover-closed" => state.cover_open = false,
        "cutter-error" => state.cutter_error = true,
        "silent" => state.silent = true,
        "talk" => state.silent = false,
        "" => {}
        other => {
            return Err(format!(
                "unknown command `{other}`: ok, near-end, paper-out, cover-open, cover-closed, cutter-error, silent, talk, quit"
            ));
        }
    }
    Ok(())
}
