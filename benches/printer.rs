//! Printer figures: bytes per ticket with native vs raster QR, encode time, the wire
//! time at 9600 and 115200 baud, and the virtual printer's render time; then the
//! tickets whose language prints as raster text (Arabic, Chinese, Cyrillic without
//! WPC1251): bytes, the time to shape and draw them, the wire time.
//!
//! `cargo bench --bench printer` prints a Markdown table (BENCHMARKS.md). Under
//! `cargo test` it runs a few iterations only and checks the 1 KB budget.

use std::hint::black_box;
use std::time::{Duration, Instant};

use sportello::lang::Lang;
use sportello::printer::emulator::VirtualPrinter;
use sportello::printer::escpos::QrMode;
use sportello::printer::layout::{self, TicketData};
use sportello::printer::profile::{Profile, TextMode};
use sportello::printer::raster_text::TextFont;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time<T>(iterations: usize, mut f: impl FnMut() -> T) -> Duration {
    let samples = (0..iterations)
        .map(|_| {
            let start = Instant::now();
            black_box(f());
            start.elapsed()
        })
        .collect();
    median(samples)
}

/// Wire time of `bytes` at `baud`, 8N1 (10 bits per byte).
fn wire(bytes: usize, baud: u32) -> Duration {
    Duration::from_secs_f64(bytes as f64 * 10.0 / f64::from(baud))
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let iterations = if full { 2000 } else { 3 };
    let mut ticket = TicketData::example("Stato occupazionale e SAP", "S007");
    ticket.priority = true;
    println!(
        "| profile | QR | bytes | encode (median) | wire 9600 | wire 115200 | render to picture (median) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for name in ["epson-tm-t20iii", "generic-58"] {
        let profile = Profile::named(name).expect("built-in profile");
        for mode in [QrMode::Native, QrMode::Raster] {
            let bytes = layout::queue_ticket_with(&ticket, &profile, Lang::IT, mode);
            if mode == QrMode::Native {
                assert!(
                    bytes.len() < 1024,
                    "{name}: a native-QR ticket must stay under 1 KB"
                );
            }
            let encode = time(iterations, || {
                layout::queue_ticket_with(&ticket, &profile, Lang::IT, mode)
            });
            let render = time(iterations.min(50), || {
                let mut printer = VirtualPrinter::new(&profile, None);
                printer.keep_images(true);
                printer.feed(&bytes);
                printer.tear_off();
                printer.images().len()
            });
            println!(
                "| {name} | {mode:?} | {} | {:.1} µs | {:.0} ms | {:.1} ms | {:.1} ms |",
                bytes.len(),
                encode.as_secs_f64() * 1e6,
                wire(bytes.len(), 9600).as_secs_f64() * 1e3,
                wire(bytes.len(), 115_200).as_secs_f64() * 1e3,
                render.as_secs_f64() * 1e3,
            );
        }
    }
    raster_text(full);
}

/// Raster-text tickets: bytes, layout time (shaping and drawing included) and wire time.
fn raster_text(full: bool) {
    let iterations = if full { 50 } else { 1 };
    println!();
    println!("| language | profile | bytes | layout (median) | wire 115200 |");
    println!("|---|---|---|---|---|");
    for name in ["epson-tm-t20iii", "generic-58"] {
        let profile = Profile::named(name).expect("built-in profile");
        for lang in Lang::all().filter(|l| profile.text_mode(*l) == TextMode::Raster) {
            let font = match TextFont::for_lang(lang) {
                Ok(font) => font,
                Err(err) => {
                    println!("| {lang} | {name} | skipped: {err} | | |");
                    continue;
                }
            };
            let mut ticket = TicketData::example("Stato occupazionale e SAP", "S007");
            ticket.priority = true;
            ticket.service_name_it = Some("Stato occupazionale e SAP".to_string());
            let bytes = layout::queue_ticket_in(&ticket, &profile, lang, Some(&font));
            let encode = time(iterations, || {
                layout::queue_ticket_in(&ticket, &profile, lang, Some(&font))
            });
            println!(
                "| {lang} | {name} | {} | {:.1} ms | {:.0} ms |",
                bytes.len(),
                encode.as_secs_f64() * 1e3,
                wire(bytes.len(), 115_200).as_secs_f64() * 1e3,
            );
        }
    }
}
