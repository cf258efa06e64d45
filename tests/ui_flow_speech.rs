//! A blind citizen's visits, with the tactile keypad only and the recording speech output,
//! against the real core, store, virtual printer and hub:
//!
//! 1. Holding the centre key starts the voice guide; the arrows and the centre key take a
//!    walk-in ticket from the home page to the printed ticket; what is said is the page,
//!    its choices, each focused control with its role (the same label as on screen), and
//!    the ticket's number spelled. Volume keys step; the end of the visit silences the
//!    voice and resets the volume.
//! 2. With a health card read, the masked codice fiscale is never said on the speaker,
//!    but is in the headset once one is plugged in; typing it on the speaker says only
//!    that a character was entered.
//! 3. A long press on the screen outside the controls starts the voice guide; a tap
//!    does not. "Where is my turn?" typed by keypad says the ticket's state.
//!
//! One test per process: Slint's event loop can run once.

mod common;

use std::time::Duration;

use common::{TestHub, kiosk_config, run_flow, start_ui, wait_until};
use sportello::kiosk::keypad::{HOLD_TO_SPEAK, sent};
use sportello::speech::recording::Event;
use sportello::speech::{Output, Utterance, Volume};
use sportello::ui::Page;

const LONG: Duration = Duration::from_secs(20);

fn texts(said: &[Utterance]) -> Vec<String> {
    said.iter().map(|u| u.text.clone()).collect()
}

/// The position of the first sentence containing `part`, from `from` on.
fn find(said: &[Utterance], part: &str, from: usize) -> usize {
    said.iter()
        .skip(from)
        .position(|u| u.text.contains(part))
        .map(|i| i + from)
        .unwrap_or_else(|| panic!("never said {part:?} after #{from}: {:#?}", texts(said)))
}

#[test]
fn a_ticket_by_keypad_and_voice_and_private_data_in_the_headset_only() {
    i_slint_backend_testing::init_integration_test_with_system_time();
    let hub_rt = tokio::runtime::Runtime::new().unwrap();
    let hub = hub_rt.block_on(TestHub::start());
    let kiosk_dir = tempfile::tempdir().unwrap();
    let config = kiosk_config(kiosk_dir.path(), &hub.url(), &hub.db());
    let ui = start_ui(config, Duration::from_secs(600), Duration::from_secs(30));

    run_flow(async move {
        wait_until("online", LONG, || ui.kiosk().get_online()).await;
        assert_eq!(ui.page(), Page::Welcome);

        // The keypad moves a visible focus even without the voice; nothing is said.
        ui.key(sent::NEXT);
        let first = ui.kiosk().get_focused().to_string();
        assert!(
            !first.is_empty() && ui.shows(&first),
            "focus on a control: {first:?}"
        );
        assert!(ui.speech.said().is_empty(), "silent until asked");
        assert!(!ui.controller.speaking());

        // 1. Hold the centre key: the voice guide starts and presents the page.
        ui.hold(sent::ENTER, HOLD_TO_SPEAK + Duration::from_millis(200))
            .await;
        assert!(ui.controller.speaking());
        assert_eq!(ui.page(), Page::Welcome, "the long press confirmed nothing");
        let said = ui.speech.said();
        assert!(
            said[0].text.starts_with("Guida vocale attiva"),
            "{:#?}",
            texts(&said)
        );
        find(&said, "Prendi il numero", 0);
        find(&said, "scelte: premi la freccia giù", 0);
        assert!(
            said.iter()
                .all(|u| u.output == Output::Speaker && u.lang == sportello::lang::Lang::IT)
        );

        // Down to the job-centre service for employers, each focus said with its role and
        // position, and framed on screen under the same label.
        // "Altri servizi" turns the page (the new page is announced) until it is there.
        let target = "Servizi alle imprese";
        let mut steps = 0;
        let mut seen = std::collections::HashSet::new();
        while ui.kiosk().get_focused() != target {
            ui.key(sent::NEXT);
            steps += 1;
            assert!(
                steps < 60,
                "{target} is not among the choices: {:#?}",
                texts(&ui.speech.said())
            );
            let focused = ui.kiosk().get_focused().to_string();
            assert!(
                ui.shows(&focused),
                "the voice names what the screen shows: {focused:?}"
            );
            let said = ui.speech.said();
            let last = said.last().unwrap().text.clone();
            match sportello::lang::Lang::all().find(|l| l.native_name() == focused) {
                // Another language's name is said by its own voice, then "pulsante. n di m".
                Some(other) if other != sportello::lang::Lang::IT => {
                    let name = &said[said.len() - 2];
                    assert_eq!((name.text.as_str(), name.lang), (focused.as_str(), other));
                    assert!(last.starts_with("pulsante"), "{last:?}");
                }
                _ => assert!(
                    last.starts_with(&format!("{focused}, pulsante")),
                    "{last:?}"
                ),
            }
            assert!(last.contains(" di "), "its position: {last:?}");
            if !seen.insert(focused) {
                // Round the whole page: turn it.
                while !ui.kiosk().get_focused().starts_with("Altri servizi") {
                    ui.key(sent::NEXT);
                }
                ui.key(sent::ENTER);
                assert!(
                    ui.speech.said().last().unwrap().text.contains("scelte"),
                    "page announced"
                );
                seen.clear();
            }
        }
        // F1 explains the page and the keys; F2 repeats.
        ui.key(sent::HELP);
        find(
            &ui.speech.said(),
            "il tasto centrale conferma, Indietro torna indietro",
            0,
        );
        let help = ui.speech.said().last().unwrap().clone();
        ui.key(sent::REPEAT);
        assert_eq!(ui.speech.said().last(), Some(&help));
        // Louder twice: each step is said and set.
        ui.key(sent::VOLUME_UP);
        ui.key(sent::VOLUME_UP);
        assert!(
            ui.speech
                .events()
                .contains(&Event::Volume(Volume::DEFAULT.up().up()))
        );
        assert!(
            ui.speech
                .said()
                .last()
                .unwrap()
                .text
                .starts_with("Volume 6 di 8")
        );

        // Confirm: the confirmation page is announced; down to the print button.
        let before = ui.speech.events().len();
        ui.key(sent::NEXT);
        ui.key(sent::PREVIOUS);
        assert_eq!(ui.kiosk().get_focused(), target);
        ui.key(sent::ENTER);
        assert_eq!(ui.page(), Page::Confirm);
        let events = ui.speech.events()[before..].to_vec();
        let page_said = events
            .iter()
            .rposition(|e| matches!(e, Event::Stopped))
            .unwrap();
        assert!(
            matches!(&events[page_said + 1], Event::Said(u) if u.text.starts_with("Il tuo numero per Servizi alle imprese")),
            "a new page cuts off and announces itself: {events:#?}"
        );
        while ui.kiosk().get_focused() != "Stampa il mio numero" {
            ui.key(sent::NEXT);
        }
        ui.key(sent::ENTER);
        ui.wait_page(Page::Ticket, LONG).await;
        let said = ui.speech.said();
        let printed = find(&said, "Ritira il biglietto", 0);
        let number = find(&said, "Il tuo numero è B, zero, zero, uno", printed);
        find(&said, "Servizi alle imprese", number);
        find(&said, "vale solo oggi", number);
        assert_eq!(ui.kiosk().get_ticket().number, "B001");

        // "Fine" from the keypad ends the visit: silence, voice off, volume reset.
        while ui.kiosk().get_focused() != "Fine" {
            ui.key(sent::NEXT);
        }
        let before = ui.speech.events().len();
        ui.key(sent::ENTER);
        assert_eq!(ui.page(), Page::Welcome);
        assert!(
            !ui.controller.speaking(),
            "the voice guide ends with the visit"
        );
        let after = ui.speech.events()[before..].to_vec();
        assert!(after.contains(&Event::Stopped), "{after:#?}");
        assert!(
            after.contains(&Event::Volume(Volume::DEFAULT)),
            "{after:#?}"
        );
        assert!(
            !after.iter().any(|e| matches!(e, Event::Said(_))),
            "nothing said once the visit ended: {after:#?}"
        );

        // 2. Privacy: a health card read on a service that takes the codice fiscale.
        ui.speech.clear();
        ui.hold(sent::ENTER, HOLD_TO_SPEAK + Duration::from_millis(200))
            .await;
        while ui.kiosk().get_focused() != "Disoccupazione (NASpI, DIS-COLL)" {
            ui.key(sent::NEXT);
        }
        ui.key(sent::ENTER);
        assert_eq!(ui.page(), Page::Confirm);
        ui.scan("RSSMRA45C12F205C");
        assert!(ui.shows("Codice fiscale: RSS************C"));
        while !ui.kiosk().get_focused().starts_with("Codice fiscale") {
            ui.key(sent::NEXT);
        }
        let on_speaker = ui.speech.said().last().unwrap().clone();
        assert_eq!(on_speaker.output, Output::Speaker);
        assert!(
            on_speaker.text.starts_with("Codice fiscale, pulsante"),
            "{on_speaker:?}"
        );
        // A headset plugged in: the voice moves there and says the private label.
        let board = ui.kiosk.sim_board.as_ref().unwrap();
        board.set_headset_plugged(true);
        wait_until("the headset", LONG, || {
            ui.speech
                .said()
                .last()
                .is_some_and(|u| u.output == Output::Headset)
        })
        .await;
        ui.key(sent::NEXT);
        ui.key(sent::PREVIOUS);
        let in_headset = ui.speech.said().last().unwrap().clone();
        assert_eq!(in_headset.output, Output::Headset);
        assert!(in_headset.text.contains("RSS"), "{in_headset:?}");
        for u in ui.speech.said() {
            if u.output == Output::Speaker {
                assert!(
                    !u.text.contains("RSS") && !u.text.contains("RSSMRA"),
                    "on the speaker: {u:?}"
                );
            }
        }
        board.set_headset_plugged(false);
        wait_until("the headset out", LONG, || {
            ui.controller.speaking() && {
                ui.key(sent::NEXT);
                ui.speech
                    .said()
                    .last()
                    .is_some_and(|u| u.output == Output::Speaker)
            }
        })
        .await;

        // Typing a codice fiscale on the speaker: the keys are "Tasto", a typed character
        // is "Carattere inserito", never the character.
        while !ui.kiosk().get_focused().starts_with("Codice fiscale") {
            ui.key(sent::NEXT);
        }
        ui.key(sent::ENTER);
        assert_eq!(ui.page(), Page::Identify);
        // The card filled all 16 characters: delete one first (the last key but one).
        while ui.kiosk().get_focused() != "Cancella l'ultimo carattere" {
            ui.key(sent::NEXT);
        }
        ui.key(sent::ENTER);
        assert_eq!(ui.kiosk().get_cf_text().chars().count(), 15);
        while ui.kiosk().get_focused() != "1" {
            ui.key(sent::NEXT);
        }
        let key = ui.speech.said().last().unwrap().clone();
        assert!(key.text.starts_with("Tasto, pulsante"), "{key:?}");
        let typed_before = ui.kiosk().get_cf_text().to_string();
        ui.key(sent::ENTER);
        assert_eq!(
            ui.kiosk().get_cf_text().to_string(),
            format!("{typed_before}1")
        );
        let echo = ui.speech.said().last().unwrap().clone();
        assert_eq!(
            (echo.text.as_str(), echo.output),
            ("Carattere inserito", Output::Speaker)
        );
        // Back, by the keypad's Back key.
        ui.key(sent::BACK);
        assert_eq!(ui.page(), Page::Confirm);

        // 3. A new visit: a tap on the header does nothing; a finger held there for 2 s
        // (no control under it) starts the voice guide.
        while ui.kiosk().get_focused() != "Ricomincia" {
            ui.key(sent::NEXT);
        }
        ui.key(sent::ENTER);
        assert!(!ui.controller.speaking());
        ui.press_screen(540.0, 20.0, Duration::from_millis(200))
            .await;
        assert!(!ui.controller.speaking(), "a tap is not a long press");
        ui.press_screen(540.0, 20.0, HOLD_TO_SPEAK + Duration::from_millis(200))
            .await;
        assert!(
            ui.controller.speaking(),
            "a long press on the screen starts the voice"
        );
        assert_eq!(ui.page(), Page::Welcome);
    });
}
