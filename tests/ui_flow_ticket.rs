//! A citizen's visits, driven through the real UI by accessible labels, against the real
//! core, store, virtual printer and hub: a ticket with identification and priority (and a
//! double tap), a health card scan, "where is my turn" after a clerk called the ticket,
//! an appointment check-in, and paper out. Each step checks what the citizen sees, what
//! the store recorded, what the hub received and what the printer produced.
//!
//! One test per process: Slint's event loop can run once.

mod common;

use std::time::Duration;

use common::{TestHub, decode_qr, kiosk_config, run_flow, start_ui, wait_until};
use sportello::hub::admin;
use sportello::printer::emulator::{Paper, VirtualState};
use sportello::store::Handover;
use sportello::ui::{CfProblem, Page, PrintNote};

const LONG: Duration = Duration::from_secs(20);

#[test]
fn citizen_visits_end_to_end() {
    i_slint_backend_testing::init_integration_test_with_system_time();
    let hub_rt = tokio::runtime::Runtime::new().unwrap();
    let hub = hub_rt.block_on(TestHub::start());
    let catalogue = sportello::catalogue::Catalogue::builtin();
    let bookings = hub.dir.path().join("bookings.csv");
    std::fs::write(&bookings, "BOOK42,09:00,isee\n").unwrap();
    admin::import_appointments(hub.location(), &catalogue, &bookings, common::today()).unwrap();
    let kiosk_dir = tempfile::tempdir().unwrap();
    let config = kiosk_config(kiosk_dir.path(), &hub.url(), &hub.db());
    let ui = start_ui(config, Duration::from_secs(600), Duration::from_secs(30));
    let clerk = hub_rt.block_on(hub.clerk("mario"));

    run_flow(async move {
        wait_until("enrolled", LONG, || ui.enrolled()).await;
        wait_until("online", LONG, || ui.kiosk().get_online()).await;
        assert_eq!(ui.page(), Page::Welcome);
        assert!(ui.shows("Prendi il numero"), "Italian by default");

        // 1. A ticket with identification and priority, in English.
        ui.press("English");
        assert!(ui.shows("Take a ticket"));
        assert_eq!(ui.press_service("Unemployment benefit (NASpI)").await, 1);
        assert_eq!(ui.page(), Page::Confirm);
        ui.press("I have the right to priority");
        assert!(ui.kiosk().get_priority());
        ui.press("Add your codice fiscale (optional)");
        assert_eq!(ui.page(), Page::Identify);
        ui.type_keys("RSSMRA45C12F2O");
        assert_eq!(ui.kiosk().get_cf_problem(), CfProblem::WantDigit);
        assert!(ui.shows_text("Character 14 (O) should be a digit. Did you mean 0?"));
        ui.press("Delete the last character");
        ui.type_keys("05C");
        assert!(ui.kiosk().get_cf_valid());
        assert!(ui.shows_text("Codice fiscale complete and valid."));
        ui.press("Continue");
        assert_eq!(ui.page(), Page::Confirm, "back to the print button");
        assert!(ui.shows("Codice fiscale: RSS************C"));
        assert!(ui.kiosk().get_priority(), "the priority choice stays");
        ui.press("Print my ticket");
        // A second tap while the first is in flight must not issue a second ticket.
        ui.kiosk().invoke_confirm_ticket();
        ui.wait_page(Page::Ticket, LONG).await;
        assert!(ui.shows("Your number is N001"), "the number on screen");
        assert_eq!(ui.kiosk().get_print_note(), PrintNote::Printed);
        assert!(ui.shows_text("Take your ticket from the slot below the screen."));
        // What happens next: where to wait (the office's setting for NASpI), how the call
        // comes, and that it is good for today.
        assert!(ui.shows("Wait in: Sala INPS, sportelli 1-4"));
        assert!(ui.shows_text("valid today only. Watch the screen for your call."));

        // The store: handed over as printed; the outbox acknowledged, personal data gone.
        let store = ui.store();
        let tickets = store.tickets(common::today()).unwrap();
        assert_eq!(tickets.len(), 1);
        assert_eq!(
            (tickets[0].number.as_str(), tickets[0].handover),
            ("N001", Handover::Printed)
        );
        let op = store.operation(tickets[0].op_id).unwrap().unwrap();
        assert!(op.acked_at.is_some(), "acknowledged by the hub");
        assert_eq!(op.personal, None, "personal data erased once acknowledged");

        // The printer: one receipt with the number, the service and a QR of the link.
        let emulator = ui.kiosk.emulator.as_ref().unwrap();
        let receipts = emulator.wait_receipts(1, LONG);
        let text = receipts[0].lines.join("\n");
        assert!(text.contains("N001") && text.contains("NASpI"), "{text}");
        assert!(
            text.contains("Sala INPS, sportelli 1-4"),
            "where to wait: {text}"
        );
        let url = format!("{}/t/{}", hub.url(), tickets[0].op_id);
        assert_eq!(receipts[0].qr_payloads, vec![url.clone()]);
        let png = image::open(receipts[0].png.as_ref().unwrap())
            .unwrap()
            .to_luma8();
        assert_eq!(
            decode_qr(&png),
            vec![url],
            "the printed QR decodes to the tracking link"
        );

        // The hub: exactly one ticket (the double tap), priority, with the codice fiscale
        // for the clerk who calls it.
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(clerk.setup("Sportello 1", &["naspi"]));
        let called = rt.block_on(clerk.next()).unwrap();
        assert_eq!(called.as_deref(), Some("N001"));
        let state = rt.block_on(clerk.get("/counter/api/state")).unwrap();
        assert_eq!(
            state["current"]["codice_fiscale"], "RSSMRA45C12F205C",
            "{state}"
        );
        let conn = rusqlite::Connection::open(hub.db()).unwrap();
        let count: i64 = conn
            .query_row("SELECT count(*) FROM tickets", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 1, "one ticket for two taps");

        // 2. Where is my turn: typed number, after the clerk called it.
        ui.press("Done");
        assert_eq!(ui.page(), Page::Welcome);
        assert!(
            ui.shows("Prendi il numero"),
            "a new visit starts in Italian"
        );
        ui.press("English");
        ui.press("My turn");
        // Typed the way people write it: no leading zeros, letter O for zero.
        ui.type_keys("NO1");
        ui.press("Check");
        wait_until("status found", LONG, || ui.kiosk().get_status_found()).await;
        // A called ticket fills the screen: number and counter, no keyboard.
        assert!(ui.shows("It's your turn: N001, go to Sportello 1"));
        assert!(ui.shows_text("Go to Sportello 1"));
        assert!(!ui.shows("Check"), "nothing else to do on this screen");
        ui.press("Start over");

        // 3. A walk-in ticket in two touches: the service, then print; a health card
        // scanned on the way identifies without a step of its own.
        assert_eq!(
            ui.press_service("Contributi versati").await,
            1,
            "first touch"
        );
        assert_eq!(ui.page(), Page::Confirm);
        ui.scan("*MRSMSR81D60Z611H*");
        assert_eq!(ui.page(), Page::Confirm, "a card never adds a step");
        assert!(ui.shows("Codice fiscale: MRS************H"));
        ui.press("Stampa il mio numero");
        ui.wait_page(Page::Ticket, LONG).await;
        assert!(ui.shows("Il tuo numero è E001"));
        ui.press("Fine");

        // 4. Appointment check-in by booking code.
        ui.press("Appuntamento");
        ui.type_keys("BOOK42");
        ui.press("Registra il mio arrivo");
        ui.wait_page(Page::Ticket, LONG).await;
        assert!(
            ui.shows("Il tuo numero è I001"),
            "the booked service's queue"
        );
        ui.press("Fine");
        ui.press("Appuntamento");
        ui.type_keys("NOPE99");
        ui.press("Registra il mio arrivo");
        wait_until("not found", LONG, || {
            ui.shows_text("Non trovato. Controlla il codice e riprova.")
        })
        .await;
        assert_eq!(ui.page(), Page::Appointment);
        ui.press("Ricomincia");

        // 5. Paper out: the ticket is shown on screen with its QR, and recorded so.
        let emulator = ui.kiosk.emulator.as_ref().unwrap();
        emulator.set_state(VirtualState {
            paper: Paper::Out,
            ..VirtualState::default()
        });
        ui.press_service("Servizi alle imprese").await;
        // Told before asking for the ticket, once the kiosk has seen the printer's state.
        wait_until("the paper warning", LONG, || {
            ui.shows_text("La stampante non ha carta")
        })
        .await;
        ui.press("Stampa il mio numero");
        ui.wait_page(Page::Ticket, LONG).await;
        assert_eq!(ui.kiosk().get_print_note(), PrintNote::PaperOut);
        assert!(ui.shows_text("Carta finita: questo schermo è il tuo biglietto."));
        assert!(ui.shows("Codice QR per seguire il turno sul telefono"));
        let tickets = ui.store().tickets(common::today()).unwrap();
        let last = tickets.last().unwrap();
        assert_eq!(
            (last.number.as_str(), last.handover),
            ("B001", Handover::ScreenPaperOut)
        );

        // 6. Paper back: the same number is printed on request, once, and recorded so.
        let receipts_before = emulator.receipts().len();
        assert!(
            !ui.shows("Stampa ora il biglietto"),
            "no reprint while the paper is out"
        );
        emulator.set_state(VirtualState::default());
        wait_until("the reprint offer", LONG, || {
            ui.shows("Stampa ora il biglietto")
        })
        .await;
        ui.press("Stampa ora il biglietto");
        wait_until("the reprinted ticket", LONG, || {
            ui.kiosk().get_print_note() == PrintNote::Printed
        })
        .await;
        assert_eq!(ui.page(), Page::Ticket);
        assert!(ui.shows("Fine"), "a paper ticket ends with Done");
        assert!(!ui.shows("Stampa ora il biglietto"));
        let tickets = ui.store().tickets(common::today()).unwrap();
        let b001: Vec<_> = tickets.iter().filter(|t| t.number == "B001").collect();
        assert_eq!(b001.len(), 1, "a reprint is not a new ticket");
        assert_eq!(b001[0].handover, Handover::Printed);
        wait_until("the reprint's receipt", LONG, || {
            emulator.receipts().len() > receipts_before
        })
        .await;
        let receipts = emulator.receipts();
        assert_eq!(receipts.len(), receipts_before + 1, "printed once");
        let reprint = receipts.last().unwrap();
        assert!(
            reprint.lines.iter().any(|l| l.contains("B001")),
            "the reprint carries the same number: {:?}",
            reprint.lines
        );
        assert!(
            reprint
                .qr_payloads
                .iter()
                .any(|q| q.ends_with(&b001[0].op_id.to_string())),
            "and the same tracking QR"
        );
    });
}
