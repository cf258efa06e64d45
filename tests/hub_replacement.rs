//! Replacing the office hub (issue 18, item 5). A kiosk whose kiosk.toml gets a new
//! enrollment token enrolls again and brings its unsent work along: nothing it handed over
//! is lost, no number is given twice, and it reports to the new hub.
//!
//! - a new hub with an empty database takes the numbers the kiosk printed offline under
//!   the old one and keeps its tag;
//! - a hub restored from the old one's files on a new machine gives the kiosk back its
//!   own identity;
//! - carried numbers the new hub has already used or leased are refused, by name.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Handed, TestHub, fast_intervals, kiosk_config, pause_hub, ticket, verdict};
use sportello::config::hub::Database;
use sportello::config::kiosk::KioskConfig;
use sportello::hub::admin;
use sportello::kiosk::run::{self, RunningKiosk};
use sportello::kiosk::session::TicketRequest;
use sportello::lang::Lang;
use sportello::protocol::numbers::parse_number;
use sportello::protocol::{BandsRequest, CarriedNumber, EnrollRequest, PreviousEnrollment};
use sportello::store::Store;
use sportello::store::enrollment::{META_KIOSK_ID, META_TAG};
use uuid::Uuid;

fn wait(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A ticket from the kiosk's core, as the touch screen asks for it.
fn issue(kiosk: &RunningKiosk, service: &str) -> Handed {
    let request = TicketRequest {
        op_id: Uuid::new_v4(),
        service: service.to_string(),
        priority: false,
        lang: Lang::IT,
        codice_fiscale: None,
        codice_fiscale_from_card: false,
    };
    let issued = kiosk
        .runtime
        .block_on(kiosk.core.issue_ticket(request.clone()))
        .unwrap_or_else(|problem| panic!("ticket for {service}: {problem:?}"));
    Handed {
        op_id: request.op_id,
        number: issued.number,
    }
}

fn start_kiosk(config: &KioskConfig) -> (RunningKiosk, Store) {
    let kiosk = run::start(config.clone(), fast_intervals()).unwrap();
    let store = Store::open(&config.data_dir.join("kiosk.sqlite")).unwrap();
    (kiosk, store)
}

fn pending(store: &Store) -> u64 {
    store.outbox_stats().unwrap().pending
}

fn hub_rows(db: &Path, sql: &str) -> Vec<Vec<Option<String>>> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    let columns = stmt.column_count();
    stmt.query_map([], |r| {
        (0..columns)
            .map(|i| r.get::<_, Option<String>>(i))
            .collect::<rusqlite::Result<Vec<_>>>()
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// A kiosk on its first hub: enrolled, holding bands, one ticket issued online.
fn kiosk_on(hub: &TestHub, dir: &Path) -> (KioskConfig, RunningKiosk, Store, Handed) {
    let mut config = kiosk_config(dir, &hub.url(), &hub.db());
    config.hub.ticket_timeout_ms = 300;
    config.hub.request_timeout_ms = 800;
    let (kiosk, store) = start_kiosk(&config);
    wait("enrolled, with bands", Duration::from_secs(30), || {
        let today = kiosk.core.today();
        today.is_some_and(|d| store.bands(d).map(|b| b.len() >= 3).unwrap_or(false))
    });
    let online = issue(&kiosk, "naspi");
    wait(
        "the online ticket delivered",
        Duration::from_secs(20),
        || pending(&store) == 0,
    );
    (config, kiosk, store, online)
}

/// Tickets issued while the hub is unreachable: numbered from the kiosk's bands.
fn offline_tickets(kiosk: &RunningKiosk, services: &[&str]) -> Vec<Handed> {
    services
        .iter()
        .map(|service| {
            let handed = issue(kiosk, service);
            let (_, seq) = parse_number(&handed.number)
                .unwrap_or_else(|| panic!("a band number, not {}", handed.number));
            assert!(seq >= 500, "{} is from a band", handed.number);
            handed
        })
        .collect()
}

#[test]
fn a_new_hub_takes_the_unsent_tickets_once_with_their_numbers_and_the_kiosk_reports_to_it() {
    let hub_rt = tokio::runtime::Runtime::new().unwrap();
    let mut old_hub = hub_rt.block_on(TestHub::start());
    let dir = tempfile::tempdir().unwrap();
    let (mut config, kiosk, store, _online) = kiosk_on(&old_hub, dir.path());
    let old_id = store.meta(META_KIOSK_ID).unwrap().unwrap();
    let old_tag = store.meta(META_TAG).unwrap().unwrap();

    // The old hub dies with the kiosk's afternoon still to deliver.
    hub_rt.block_on(pause_hub(&mut old_hub));
    let mut handed = offline_tickets(&kiosk, &["naspi", "naspi", "isee", "did-patto"]);
    assert_eq!(pending(&store), 4);
    drop(kiosk);

    // A new hub, an empty database; the maintainer stamps its address and, first, a token
    // with a typo: the hub refuses it and the old token's 401s, and the outbox waits.
    let mut new_hub = hub_rt.block_on(TestHub::start());
    config.hub.url = new_hub.url();
    config.hub.enrollment_token = Some("a-token-with-a-typo".into());
    let (kiosk, _) = start_kiosk(&config);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        pending(&store),
        4,
        "nothing sent, nothing settled as refused"
    );
    assert_eq!(store.meta(META_KIOSK_ID).unwrap(), Some(old_id.clone()));
    drop(kiosk);
    config.hub.enrollment_token = Some(admin::create_enrollment_token(new_hub.location()).unwrap());
    let (kiosk, _) = start_kiosk(&config);
    wait(
        "the outbox drained to the new hub",
        Duration::from_secs(30),
        || pending(&store) == 0,
    );
    let v = verdict(&new_hub.db(), &dir.path().join("kiosk.sqlite"), &handed);
    assert!(v.clean(0), "{v:#?}");

    let kiosks = hub_rows(&new_hub.db(), "SELECT id, tag FROM kiosks");
    assert_eq!(kiosks.len(), 1, "{kiosks:?}");
    let new_id = kiosks[0][0].clone().unwrap();
    assert_ne!(new_id, old_id, "a new hub gives a new identity");
    assert_eq!(
        kiosks[0][1].as_deref(),
        Some(old_tag.as_str()),
        "the tag is kept"
    );
    assert_eq!(store.meta(META_KIOSK_ID).unwrap(), Some(new_id.clone()));
    wait(
        "a heartbeat at the new hub",
        Duration::from_secs(20),
        || {
            !hub_rows(
                &new_hub.db(),
                "SELECT id FROM kiosks WHERE last_heartbeat IS NOT NULL",
            )
            .is_empty()
        },
    );

    // The new hub's bands never hold a number the kiosk carried, on the kiosk or the hub.
    let today = kiosk.core.today().unwrap();
    wait("bands from the new hub", Duration::from_secs(20), || {
        store.bands(today).map(|b| b.len() >= 3).unwrap_or(false)
    });
    let carried: Vec<(char, u16)> = handed
        .iter()
        .map(|h| parse_number(&h.number).unwrap())
        .collect();
    for band in store.bands(today).unwrap() {
        for (prefix, seq) in &carried {
            assert!(
                !(band.prefix == *prefix && (band.first..=band.last).contains(seq)),
                "band {band:?} holds the carried number {prefix}{seq:03}"
            );
        }
    }
    let leased = hub_rows(
        &new_hub.db(),
        "SELECT service, CAST(first AS TEXT), CAST(last AS TEXT), CAST(carried AS TEXT) FROM bands ORDER BY id",
    );
    assert_eq!(
        leased
            .iter()
            .filter(|row| row[3].as_deref() == Some("1"))
            .count(),
        4,
        "one carried band per carried number: {leased:?}"
    );

    // Offline again under the new hub: new numbers, and they too arrive once.
    hub_rt.block_on(pause_hub(&mut new_hub));
    handed.extend(offline_tickets(&kiosk, &["naspi", "isee"]));
    hub_rt.block_on(new_hub.restart());
    wait(
        "the second backlog drained",
        Duration::from_secs(30),
        || pending(&store) == 0,
    );
    let v = verdict(&new_hub.db(), &dir.path().join("kiosk.sqlite"), &handed);
    assert!(v.clean(0), "{v:#?}");
}

#[test]
fn a_hub_restored_on_a_new_machine_gives_the_kiosk_back_its_identity_and_bands() {
    let hub_rt = tokio::runtime::Runtime::new().unwrap();
    let mut old_hub = hub_rt.block_on(TestHub::start());
    let dir = tempfile::tempdir().unwrap();
    let (mut config, kiosk, store, online) = kiosk_on(&old_hub, dir.path());
    let old_id = store.meta(META_KIOSK_ID).unwrap();
    let today = kiosk.core.today().unwrap();

    hub_rt.block_on(pause_hub(&mut old_hub));
    let offline = offline_tickets(&kiosk, &["naspi", "isee", "isee"]);
    let bands_before = store.bands(today).unwrap();
    drop(kiosk);

    // The old machine's files, restored onto the new one.
    let restored = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(old_hub.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, restored.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    let restored_db = restored.path().join("hub.sqlite");
    let new_hub = hub_rt.block_on(TestHub::start_with(
        |c| c.database = Database::sqlite(&restored_db),
        None,
    ));
    config.hub.url = new_hub.url();
    config.hub.enrollment_token = Some(admin::create_enrollment_token(new_hub.location()).unwrap());
    let (_kiosk, _) = start_kiosk(&config);
    wait("the outbox drained", Duration::from_secs(30), || {
        pending(&store) == 0
    });

    let mut handed = vec![online];
    handed.extend(offline);
    let v = verdict(&new_hub.db(), &dir.path().join("kiosk.sqlite"), &handed);
    assert!(v.clean(0), "{v:#?}");
    assert_eq!(store.meta(META_KIOSK_ID).unwrap(), old_id, "the same kiosk");
    let kiosks = hub_rows(&new_hub.db(), "SELECT id FROM kiosks");
    assert_eq!(
        kiosks.len(),
        1,
        "no second row for the same kiosk: {kiosks:?}"
    );
    let carried = hub_rows(
        &new_hub.db(),
        "SELECT CAST(id AS TEXT) FROM bands WHERE carried = 1",
    );
    assert!(carried.is_empty(), "its own bands hold its numbers");
    let kept: Vec<_> = store
        .bands(today)
        .unwrap()
        .into_iter()
        .filter(|b| bands_before.contains(b))
        .collect();
    assert!(
        !kept.is_empty(),
        "the bands stay, with how far they were used: {bands_before:?}"
    );
}

#[test]
fn carried_numbers_already_leased_here_are_refused_and_the_rest_are_kept_for_the_kiosk() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let hub = TestHub::start().await;
        // A kiosk already here, with the top of today's naspi numbers leased.
        let first = hub.kiosk("first").await;
        let leased = first
            .lease_bands(&BandsRequest {
                services: Some(vec!["naspi".into()]),
            })
            .await
            .unwrap();
        let band = &leased.bands[0];
        let taken = format!("N{:03}", band.last);
        let free = format!("N{:03}", band.first - 5);
        let carry = |service: &str, number: &str| CarriedNumber {
            service: service.into(),
            number: number.into(),
            issued_at: chrono::Utc::now().fixed_offset(),
        };

        let mut client = hub.client();
        let enrolled = client
            .enroll(&EnrollRequest {
                enrollment_token: admin::create_enrollment_token(hub.location()).unwrap(),
                name: Some("replaced".into()),
                previous: Some(PreviousEnrollment {
                    kiosk_token: "a token this hub never gave".into(),
                    tag: Some("A".into()),
                    numbers: vec![
                        carry("naspi", &taken),
                        carry("naspi", &free),
                        carry("naspi", "N010"),
                        carry("isee", &free),
                        carry("no-such-service", "N900"),
                    ],
                }),
            })
            .await
            .unwrap();
        assert_eq!(
            enrolled.refused_numbers,
            vec![taken.clone(), "N010".into(), free.clone(), "N900".into()],
            "leased to another kiosk, below the band zone, the wrong prefix, no such service"
        );
        assert_ne!(enrolled.tag, "A", "the first kiosk holds A");
        client.set_token(enrolled.token);

        // Its own bands are leased below the carried number, never over it.
        let own = client
            .lease_bands(&BandsRequest {
                services: Some(vec!["naspi".into()]),
            })
            .await
            .unwrap();
        let (_, free_seq) = parse_number(&free).unwrap();
        assert!(
            own.bands[0].last < free_seq,
            "{own:?} is below the carried {free}"
        );
        // The ticket carrying the kept number is accepted, the other refused.
        let mut kept = ticket("naspi");
        kept.offline_number = Some(free.clone());
        let accepted = client.issue_ticket(&kept).await.unwrap();
        assert_eq!(accepted.ticket.number, free);
        let mut refused = ticket("naspi");
        refused.offline_number = Some(taken.clone());
        let err = client.issue_ticket(&refused).await.unwrap_err();
        assert!(
            err.is_refusal(&["number_not_leased"]),
            "{taken} is the first kiosk's: {err}"
        );

        // As many numbers as a kiosk may carry fit the enrolment; one more is refused.
        let many = |n: usize| {
            let numbers = vec![carry("did-patto", "D501"); n];
            EnrollRequest {
                enrollment_token: admin::create_enrollment_token(hub.location()).unwrap(),
                name: Some("busy".into()),
                previous: Some(PreviousEnrollment {
                    kiosk_token: "unknown".into(),
                    tag: None,
                    numbers,
                }),
            }
        };
        let too_many = hub
            .client()
            .enroll(&many(sportello::protocol::MAX_CARRIED_NUMBERS + 1))
            .await
            .unwrap_err();
        assert!(
            too_many.is_refusal(&["too_many_carried_numbers"]),
            "{too_many}"
        );
        let busy = hub
            .client()
            .enroll(&many(sportello::protocol::MAX_CARRIED_NUMBERS))
            .await
            .unwrap();
        assert_eq!(
            busy.refused_numbers.len(),
            sportello::protocol::MAX_CARRIED_NUMBERS - 1,
            "the first D501 is taken, the repeats are refused"
        );

        // A tag nobody holds is kept.
        let kept_tag = hub
            .client()
            .enroll(&EnrollRequest {
                enrollment_token: admin::create_enrollment_token(hub.location()).unwrap(),
                name: Some("third".into()),
                previous: Some(PreviousEnrollment {
                    kiosk_token: "another unknown token".into(),
                    tag: Some("Q".into()),
                    numbers: Vec::new(),
                }),
            })
            .await
            .unwrap();
        assert_eq!(kept_tag.tag, "Q");
    });
}

fn beat() -> sportello::protocol::HeartbeatRequest {
    sportello::protocol::HeartbeatRequest {
        version: "0.1.0".into(),
        printer: sportello::protocol::PrinterState::Ok,
        outbox_depth: 0,
        oldest_pending_seconds: None,
        printer_detail: None,
        kiosk_time: None,
        update: None,
    }
}

/// A kiosk coming back to its restored hub loses the answer: its old kiosk token is
/// already replaced, so it must be able to ask again with the same enrollment token.
#[test]
fn a_returning_kiosk_that_lost_the_answer_asks_again_and_gets_its_identity() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let hub = TestHub::start().await;
        let mut first = hub.client();
        let enrolled = first
            .enroll(&EnrollRequest {
                enrollment_token: admin::create_enrollment_token(hub.location()).unwrap(),
                name: Some("returning".into()),
                previous: None,
            })
            .await
            .unwrap();
        first.set_token(enrolled.token.clone());
        first.heartbeat(&beat()).await.expect("it reports");

        let again = EnrollRequest {
            enrollment_token: admin::create_enrollment_token(hub.location()).unwrap(),
            name: Some("returning".into()),
            previous: Some(PreviousEnrollment {
                kiosk_token: enrolled.token.clone(),
                tag: Some(enrolled.tag.clone()),
                numbers: Vec::new(),
            }),
        };
        let lost = hub.client().enroll(&again).await.unwrap();
        assert_eq!(lost.kiosk_id, enrolled.kiosk_id, "its own row back");
        assert!(
            first.heartbeat(&beat()).await.is_err(),
            "the old kiosk token is replaced"
        );
        // The answer never arrived: the same request again.
        let retried = hub.client().enroll(&again).await.unwrap();
        assert_eq!(retried.kiosk_id, enrolled.kiosk_id);
        assert_eq!(retried.tag, enrolled.tag);
        let mut kiosk = hub.client();
        kiosk.set_token(retried.token);
        kiosk
            .heartbeat(&beat())
            .await
            .expect("the newest token works");
        // Once it has reported, the token is spent.
        assert!(hub.client().enroll(&again).await.is_err());
    });
}
