//! Encoder -> virtual printer -> PNG -> QR decoded and text read back, for every
//! service in every shipped language, with native and raster QR: code-page languages
//! read back from the transcript and the picture, raster languages (Arabic, Chinese,
//! Cyrillic on a printer without WPC1251) from the picture, line by line.

// Only the printer helpers of tests/common (the rest needs the hub feature), so this
// file builds with `--no-default-features --features kiosk` too.
#[allow(dead_code)]
#[path = "common/printing.rs"]
mod common;

use image::GrayImage;
use sportello::catalogue::Catalogue;
use sportello::lang::{Lang, tr};
use sportello::printer::emulator::VirtualPrinter;
use sportello::printer::escpos::{Align, Bitmap, QrMode};
use sportello::printer::layout::{self, DocumentData, TicketData, wrap};
use sportello::printer::profile::{Profile, TextMode};
use sportello::printer::raster_text::{FontError, TextFont, TextPainter, TextStyle};

fn print(
    profile: &Profile,
    bytes: &[u8],
) -> (sportello::printer::emulator::Receipt, image::GrayImage) {
    let mut printer = VirtualPrinter::new(profile, None);
    printer.keep_images(true);
    assert!(printer.feed(bytes).is_empty(), "a layout asks no status");
    printer.tear_off();
    assert_eq!(printer.receipts().len(), 1, "one receipt per ticket");
    (printer.receipts()[0].clone(), printer.images()[0].clone())
}

/// A raster line as the emulator draws it: the bitmap at the left edge of the paper.
fn band(profile: &Profile, line: &Bitmap) -> GrayImage {
    GrayImage::from_fn(
        u32::from(profile.dots_per_line),
        u32::from(line.height()),
        |x, y| image::Luma([if line.get(x as u16, y as u16) { 0 } else { 255 }]),
    )
}

/// The font of every raster language, loaded once; `None` (noted) when not installed.
fn fonts() -> Vec<Option<TextFont>> {
    Lang::all()
        .map(|lang| {
            let needed = ["generic-58", "generic-80"]
                .iter()
                .filter_map(|n| Profile::named(n).ok())
                .any(|p| p.text_mode(lang) == TextMode::Raster);
            if !needed {
                return None;
            }
            match TextFont::for_lang(lang) {
                Ok(font) => Some(font),
                // Only a font not installed skips (scripts/test installs them).
                Err(err @ FontError::Unreadable { .. }) => {
                    eprintln!("skipped {lang} raster tickets: {err}");
                    None
                }
                Err(err) => panic!("{lang}: {err}"),
            }
        })
        .collect()
}

fn check_ticket(profile: &Profile, mode: QrMode) {
    let catalogue = Catalogue::builtin();
    assert!(catalogue.services().len() >= 10);
    let fonts = fonts();
    for lang in Lang::all() {
        let text_mode = profile.text_mode(lang);
        let font = fonts[lang.index()].as_ref();
        if text_mode == TextMode::Raster && font.is_none() {
            continue;
        }
        for service in catalogue.services() {
            let number = format!("{}012", service.prefix);
            let name = service.name(lang);
            let mut ticket = TicketData::example(name, &number);
            ticket.priority = service.priority;
            let italian = service.name(Lang::IT);
            ticket.service_name_it = (lang != Lang::IT).then(|| italian.to_string());
            let bytes = layout::queue_ticket_in_with(&ticket, profile, lang, font, mode);
            let (receipt, img) = print(profile, &bytes);
            let context = format!("{} {} {lang}", profile.name, service.code);

            assert_eq!(img.width(), u32::from(profile.dots_per_line), "{context}");
            assert_eq!(
                common::decode_qr(&img),
                vec![ticket.tracking_url.clone()],
                "{context}"
            );
            assert_eq!(
                receipt.qr_payloads.is_empty(),
                mode == QrMode::Raster,
                "{context}"
            );
            // What the clerk reads is text on every ticket: number, time, Italian name.
            let text = receipt.lines.join(" ");
            assert!(receipt.lines.contains(&number), "{context}");
            assert!(text.contains("27/11/2026 10:15"), "{context}: {text}");
            let cols = usize::from(profile.chars_per_line);
            match text_mode {
                TextMode::Page(page) => {
                    // The transcript holds the service name (wrapped) as the page prints
                    // it, accents intact where the page has them.
                    let printable = page.printable(name);
                    assert!(text.contains(&printable), "{context}: {text}");
                    if lang != Lang::IT {
                        assert!(text.contains(&page.printable(italian)), "{context}: {text}");
                    }
                    let priority = format!("** {} **", page.printable(tr(lang, "PRIORITY")));
                    assert_eq!(
                        receipt.lines.contains(&priority),
                        service.priority,
                        "{context}"
                    );
                    // The picture itself reads right: each wrapped line of the service
                    // name is found pixel for pixel, drawn in bold and centred.
                    for line in wrap(&printable, cols) {
                        let reference = common::reference_line(profile, &line, true);
                        assert!(
                            common::contains_band(&img, &reference),
                            "{context}: `{line}` not in the PNG"
                        );
                    }
                }
                TextMode::Raster => {
                    let Some(font) = font else { continue };
                    // The citizen's name only as a picture; the Italian one as text.
                    assert!(!text.contains(name), "{context}");
                    for line in wrap(&profile.text_page.printable(italian), cols) {
                        assert!(receipt.lines.contains(&line), "{context}: {line}");
                    }
                    // Each raster line of the service name is in the PNG, dot for dot.
                    let mut painter = TextPainter::new(font);
                    let lines = painter.line_images(
                        name,
                        TextStyle::TITLE,
                        lang.direction(),
                        profile.dots_per_line,
                        Align::Center,
                    );
                    assert!(!lines.is_empty(), "{context}");
                    for line in &lines {
                        assert!(
                            common::contains_band(&img, &band(profile, line)),
                            "{context}: a line of the service name is not in the PNG"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn every_service_in_every_language_with_native_qr() {
    check_ticket(&Profile::named("generic-80").unwrap(), QrMode::Native);
}

#[test]
fn every_service_in_every_language_with_raster_qr() {
    check_ticket(&Profile::named("generic-58").unwrap(), QrMode::Raster);
}

#[test]
fn accents_and_euro_read_right_in_both_code_pages() {
    let source = "àèéìòù ÀÈÉÌÒÙ € «perché» – Città";
    for (name, dash) in [("epson-tm-t20iii", '-'), ("epson-tm-t88vi", '–')] {
        let profile = Profile::named(name).unwrap();
        let (receipt, img) = print(&profile, &layout::test_page(&profile));
        // PC858 lacks the en dash and prints its ASCII fallback; WPC1252 has it.
        let line = source.replace('–', &dash.to_string());
        assert!(receipt.lines.contains(&line), "{name}: {:?}", receipt.lines);
        // The test page prints this line flush left, normal weight.
        assert!(
            common::contains_band(&img, &common::reference_line_at(&profile, &line, false, 0)),
            "{name}"
        );
        // A plain `a` where `à` belongs would not match: the accent is in the picture.
        let wrong = line.replace('à', "a");
        assert!(
            !common::contains_band(&img, &common::reference_line_at(&profile, &wrong, false, 0)),
            "{name}"
        );
        assert_eq!(receipt.barcodes, vec!["SPORTELLO-TEST"]);
    }
}

#[test]
fn forgetting_the_code_page_after_init_would_show() {
    // The emulator starts in PC437 after ESC @, like a real printer: À and € differ.
    let profile = Profile::named("generic-80").unwrap();
    let mut bytes = layout::test_page(&profile);
    let select = [0x1B, 0x74, profile.text_page_number()];
    let at = bytes.windows(3).position(|w| w == select).unwrap();
    bytes.drain(at..at + 3);
    let (receipt, _) = print(&profile, &bytes);
    assert!(
        !receipt.lines.iter().any(|l| l.contains('€')),
        "{:?}",
        receipt.lines
    );
}

#[test]
fn document_layout_round_trips() {
    for name in sportello::printer::profile::names() {
        let profile = Profile::named(&name).unwrap();
        let doc = DocumentData::example();
        let (receipt, img) = print(&profile, &layout::document(&doc, &profile));
        let payload = doc.qr_payload.clone().unwrap();
        assert_eq!(common::decode_qr(&img), vec![payload], "{name}");
        let text = receipt.lines.join(" ");
        assert!(
            text.contains("Certificato di stato occupazionale"),
            "{name}"
        );
        assert!(
            text.contains("Il presente certificato è rilasciato"),
            "{name}: {text}"
        );
        assert!(
            receipt
                .lines
                .iter()
                .all(|l| l.chars().count() <= usize::from(profile.chars_per_line))
        );
    }
}
