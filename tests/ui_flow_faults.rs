//! What a citizen sees when things go wrong, through the real UI, core and hub: the hub
//! unreachable (a look-up explains it; a ticket is still numbered offline from a band
//! and reaches the hub after it returns), a service closed for the day or out of its
//! 999 numbers, the kiosk
//! disabled by the office and enabled again, and the idle timeout (warning, more time,
//! then every trace of the visit wiped).
//!
//! One test per process: Slint's event loop can run once.

mod common;

use std::time::Duration;

use common::{TestHub, kiosk_config, run_flow, sleep, start_ui, wait_until};
use sportello::store::Handover;
use sportello::ui::{LookupProblem, Page, Problem};

const LONG: Duration = Duration::from_secs(20);

#[test]
fn faults_a_citizen_can_understand() {
    i_slint_backend_testing::init_integration_test_with_system_time();
    let hub_rt = tokio::runtime::Runtime::new().unwrap();
    // ISEE closes at midnight: closed all day, whatever the time of the test run.
    let mut hub = hub_rt.block_on(TestHub::start_with(
        |config| {
            config.hours.services.insert(
                "isee".to_string(),
                sportello::config::hub::TimeOfDay(chrono::NaiveTime::MIN),
            );
        },
        None,
    ));
    let kiosk_dir = tempfile::tempdir().unwrap();
    let config = kiosk_config(kiosk_dir.path(), &hub.url(), &hub.db());
    let ui = start_ui(config, Duration::from_secs(3), Duration::from_secs(2));
    let handle = hub_rt.handle().clone();

    run_flow(async move {
        wait_until("enrolled", LONG, || ui.enrolled()).await;
        wait_until("online", LONG, || ui.kiosk().get_online()).await;
        let store = ui.store();
        wait_until("bands leased", LONG, || {
            store
                .bands(common::today())
                .unwrap()
                .iter()
                .any(|b| b.service == "naspi")
        })
        .await;

        // 1. A closed service cannot be chosen; the hub would refuse it too.
        ui.press("English");
        wait_until("ISEE shown closed", LONG, || {
            use slint::Model;
            ui.kiosk()
                .get_home_rows()
                .iter()
                .any(|r| r.service.code == "isee" && !r.service.open)
        })
        .await;
        // A closed service still answers a touch, with the reason.
        ui.press("ISEE means test (DSU)");
        assert_eq!(ui.page(), Page::Problem);
        assert_eq!(ui.kiosk().get_problem(), Problem::ServiceClosed);
        assert!(ui.shows("This service is closed today"));
        // The page says where to go and gives a code, never an internal name.
        assert!(ui.shows("Code for the staff: E22"));
        assert!(ui.shows("Front desk: piano terra, a destra dell'ingresso"));
        assert!(!ui.shows_text("service_closed"));
        // Its one action leads back to the services.
        ui.press("Choose another service");
        assert_eq!(ui.page(), Page::Welcome);
        assert_eq!(ui.kiosk().get_language(), "en", "home keeps the language");
        ui.press("Italiano");

        // 1b. A service that has given all 999 numbers of today: the hub refuses, and
        // the citizen reads that it takes no more tickets today (no offline number is
        // printed for it), with its own code for the staff.
        {
            let conn = rusqlite::Connection::open(hub.db()).unwrap();
            conn.execute(
                "INSERT INTO number_blocks (office_id, day, service, next_online, band_floor)
                 VALUES (1, ?1, 'estratto-conto', 1000, 1000)
                 ON CONFLICT (office_id, day, service) DO UPDATE SET next_online = band_floor",
                [common::today().to_string()],
            )
            .unwrap();
        }
        ui.press("English");
        ui.press_service("Your contribution record").await;
        ui.press("Print my ticket");
        ui.wait_page(Page::Problem, LONG).await;
        assert_eq!(ui.kiosk().get_problem(), Problem::ServiceClosed);
        assert!(ui.shows("Code for the staff: E23"));
        assert!(!ui.shows_text("no_numbers_left"));
        assert!(
            store
                .bands(common::today())
                .unwrap()
                .iter()
                .filter(|b| b.service == "estratto-conto")
                .all(|b| b.next == b.first),
            "no offline number was taken for the refused ticket"
        );
        ui.press("Choose another service");
        ui.press("Italiano");

        // 2. The hub goes away.
        handle.block_on(common::pause_hub(&mut hub));
        ui.press("English");
        ui.press("My turn");
        ui.type_keys("N001");
        ui.press("Check");
        wait_until("unreachable", LONG, || {
            ui.kiosk().get_status_problem() == LookupProblem::Unreachable
        })
        .await;
        assert!(ui.shows_text("cannot be reached right now"));
        ui.press("Start over");

        // ...but a ticket is still numbered, from this kiosk's band, and says so.
        ui.press("English");
        ui.press_service("Unemployment benefit (NASpI)").await;
        ui.press("Print my ticket");
        ui.wait_page(Page::Ticket, LONG).await;
        let ticket = ui.kiosk().get_ticket();
        assert!(ticket.offline, "numbered offline");
        assert!(
            ticket.number.starts_with('N') && ticket.number.as_str() >= "N500",
            "{}",
            ticket.number
        );
        assert!(ui.shows_text("Offline: the wait is an estimate."));
        wait_until("the header says offline", LONG, || !ui.kiosk().get_online()).await;
        let tickets = store.tickets(common::today()).unwrap();
        assert_eq!(tickets.last().map(|t| t.handover), Some(Handover::Printed));
        assert_eq!(
            store.outbox_stats().unwrap().pending,
            1,
            "waiting for the hub"
        );

        // The hub returns: the worker delivers the offline ticket, once.
        handle.block_on(hub.restart());
        wait_until("outbox drained", LONG, || {
            store.outbox_stats().unwrap().pending == 0
        })
        .await;
        let conn = rusqlite::Connection::open(hub.db()).unwrap();
        let (count, number): (i64, String) = conn
            .query_row(
                "SELECT count(*), max(number) FROM tickets WHERE offline = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((count, number.as_str()), (1, ticket.number.as_str()));
        ui.press("Done");

        // 3. The office disables the kiosk: out of service once it knows; then back.
        let clerk = handle.block_on(hub.clerk("anna"));
        let kiosk_id = store.meta("hub_kiosk_id").unwrap().unwrap();
        handle
            .block_on(clerk.post(
                &format!("/fleet/api/kiosks/{kiosk_id}/disabled"),
                serde_json::json!({ "disabled": true }),
            ))
            .unwrap();
        ui.wait_page(Page::OutOfService, LONG).await;
        assert!(ui.shows("Out of service") || ui.shows("Fuori servizio"));
        handle
            .block_on(clerk.post(
                &format!("/fleet/api/kiosks/{kiosk_id}/disabled"),
                serde_json::json!({ "disabled": false }),
            ))
            .unwrap();
        ui.wait_page(Page::Welcome, LONG).await;

        // 4. Idle: a warning after 3 s, more time on request, then the visit is wiped.
        ui.press("English");
        ui.press_service("Unemployment benefit (NASpI)").await;
        ui.press("Add your codice fiscale (optional)");
        ui.type_keys("RSSMRA");
        wait_until("idle warning", LONG, || ui.kiosk().get_idle_warning()).await;
        assert!(ui.shows("Do you need more time?"));
        ui.press("More time");
        assert!(!ui.kiosk().get_idle_warning());
        assert_eq!(
            ui.kiosk().get_cf_text(),
            "RSSMRA",
            "more time keeps the visit"
        );
        sleep(Duration::from_millis(500)).await;
        wait_until("wiped", LONG, || ui.page() == Page::Welcome).await;
        assert_eq!(ui.kiosk().get_cf_text(), "", "nothing of the visit is left");
        assert_eq!(
            ui.kiosk().get_language(),
            "it",
            "back to the default language"
        );
        assert!(!ui.kiosk().get_idle_warning());
    });
}
