//! Encoder -> virtual printer -> PNG -> QR decoded and text read back, for every
//! service in Italian and English, with native and raster QR.

mod common;

use sportello::catalogue::Catalogue;
use sportello::lang::Lang;
use sportello::printer::emulator::VirtualPrinter;
use sportello::printer::escpos::QrMode;
use sportello::printer::layout::{self, DocumentData, TicketData, wrap};
use sportello::printer::profile::Profile;

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

fn check_ticket(profile: &Profile, mode: QrMode) {
    let catalogue = Catalogue::builtin();
    assert!(catalogue.services().len() >= 10);
    for service in catalogue.services() {
        for lang in Lang::all() {
            let number = format!("{}012", service.prefix);
            let mut ticket = TicketData::example(service.name(lang), &number);
            ticket.priority = service.priority;
            let bytes = layout::queue_ticket_with(&ticket, profile, lang, mode);
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

            // The transcript holds the service name (wrapped), accents intact.
            let text = receipt.lines.join(" ");
            assert!(text.contains(service.name(lang)), "{context}: {text}");
            assert!(receipt.lines.contains(&number), "{context}");
            let priority = if lang == Lang::IT {
                "** PRIORITÀ **"
            } else {
                "** PRIORITY **"
            };
            assert_eq!(
                receipt.lines.iter().any(|l| l == priority),
                service.priority,
                "{context}"
            );

            // The picture itself reads right: each wrapped line of the service name is
            // found pixel for pixel, drawn in bold and centred.
            let cols = usize::from(profile.chars_per_line);
            for line in wrap(service.name(lang), cols) {
                let reference = common::reference_line(profile, &line, true);
                assert!(
                    common::contains_band(&img, &reference),
                    "{context}: `{line}` not in the PNG"
                );
            }
        }
    }
}

#[test]
fn every_service_in_both_languages_with_native_qr() {
    check_ticket(&Profile::named("generic-80").unwrap(), QrMode::Native);
}

#[test]
fn every_service_in_both_languages_with_raster_qr() {
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
