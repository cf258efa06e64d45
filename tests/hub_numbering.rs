//! Numbering against a real hub on loopback: concurrency, replays, midnight, bands,
//! appointments.

mod common;

use std::collections::BTreeMap;

use chrono::{TimeDelta, Utc};
use common::{TestHub, ticket};
use sportello::hub::admin;
use sportello::hub::clock::Clock;
use sportello::protocol::{BandsRequest, TicketStatus};
use sportello::sync::ClientError;

const SERVICES: [&str; 3] = ["naspi", "isee", "did-patto"];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_kiosks_get_unique_gapless_numbers() {
    let hub = TestHub::start().await;
    let mut kiosks = Vec::new();
    for i in 0..20 {
        kiosks.push(hub.kiosk(&format!("kiosk-{i:02}")).await);
    }
    let mut tasks = Vec::new();
    for (i, kiosk) in kiosks.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for n in 0..12 {
                let service = SERVICES[(i + n) % SERVICES.len()];
                let issued = kiosk.issue_ticket(&ticket(service)).await.unwrap();
                assert!(!issued.replayed);
                got.push((service.to_string(), issued.ticket.number));
            }
            got
        }));
    }
    let mut by_service: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for task in tasks {
        for (service, number) in task.await.unwrap() {
            by_service.entry(service).or_default().push(number);
        }
    }
    assert_eq!(by_service.values().map(Vec::len).sum::<usize>(), 240);
    let prefixes = [("naspi", 'N'), ("isee", 'I'), ("did-patto", 'D')];
    for (service, prefix) in prefixes {
        let mut numbers = by_service[service].clone();
        numbers.sort();
        let expected: Vec<String> = (1..=numbers.len())
            .map(|n| format!("{prefix}{n:03}"))
            .collect();
        assert_eq!(numbers, expected, "{service}: duplicates or gaps");
    }
    hub.stop().await;
}

#[tokio::test]
async fn replays_return_the_same_body_even_after_a_restart() {
    let mut hub = TestHub::start().await;
    let kiosk = hub.kiosk("a").await;
    let request = ticket("naspi");
    let first = kiosk.issue_ticket(&request).await.unwrap();
    assert!(!first.replayed);
    // Others arrive in between: the replay still carries the original position.
    kiosk.issue_ticket(&ticket("naspi")).await.unwrap();
    let again = kiosk.issue_ticket(&request).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.ticket, first.ticket);

    hub.restart().await;
    let after_restart = kiosk.issue_ticket(&request).await.unwrap();
    assert!(after_restart.replayed);
    assert_eq!(after_restart.ticket, first.ticket);
    // The op_id belongs to the kiosk that sent it.
    let other = hub.kiosk("b").await;
    match other.issue_ticket(&request).await {
        Err(ClientError::Conflict { code, .. }) => assert_eq!(code, "op_id_reused"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    hub.stop().await;
}

#[tokio::test]
async fn same_op_id_with_another_body_is_a_conflict() {
    let hub = TestHub::start().await;
    let kiosk = hub.kiosk("a").await;
    let request = ticket("naspi");
    let first = kiosk.issue_ticket(&request).await.unwrap();
    let mut changed = request.clone();
    changed.priority = true;
    match kiosk.issue_ticket(&changed).await {
        Err(ClientError::Conflict { code, .. }) => assert_eq!(code, "op_id_reused"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    // Nothing was numbered by the refused request.
    let next = kiosk.issue_ticket(&ticket("naspi")).await.unwrap();
    assert_eq!(first.ticket.number, "N001");
    assert_eq!(next.ticket.number, "N002");
    hub.stop().await;
}

#[tokio::test]
async fn the_day_turns_at_local_midnight() {
    // 22:58 UTC on 27 November is 23:58 in Rome.
    let start = "2026-11-27T22:58:00Z".parse().unwrap();
    let hub = TestHub::start_at(start).await;
    let clock = hub.clock.clone().unwrap();
    let kiosk = hub.kiosk("a").await;
    let a = kiosk.issue_ticket(&ticket("naspi")).await.unwrap().ticket;
    let b = kiosk.issue_ticket(&ticket("naspi")).await.unwrap().ticket;
    assert_eq!((a.number.as_str(), b.number.as_str()), ("N001", "N002"));
    assert_eq!(a.day.to_string(), "2026-11-27");

    // 23:59:59 in Rome: still the same day.
    clock.set("2026-11-27T22:59:59Z".parse().unwrap());
    let c = kiosk.issue_ticket(&ticket("naspi")).await.unwrap().ticket;
    assert_eq!(
        (c.number.as_str(), c.day.to_string()),
        ("N003", "2026-11-27".into())
    );

    // Midnight in Rome (23:00 UTC): numbers start again, the day is the 28th.
    clock.set("2026-11-27T23:00:00Z".parse().unwrap());
    let d = kiosk.issue_ticket(&ticket("naspi")).await.unwrap().ticket;
    assert_eq!(
        (d.number.as_str(), d.day.to_string()),
        ("N001", "2026-11-28".into())
    );
    let queues = kiosk.queues().await.unwrap();
    assert_eq!(queues.day.to_string(), "2026-11-28");
    let naspi = queues
        .services
        .iter()
        .find(|q| q.service == "naspi")
        .unwrap();
    assert_eq!(
        naspi.waiting, 1,
        "yesterday's tickets are not in today's queue"
    );
    // Yesterday's ticket that never got called is cancelled; today's N001 is a
    // different ticket with the same display number.
    let old = kiosk.ticket_status(a.ticket_id).await.unwrap();
    assert_eq!(old.status, TicketStatus::Cancelled);
    let new = kiosk.ticket_status(d.ticket_id).await.unwrap();
    assert_eq!((new.status, new.position), (TicketStatus::Waiting, 1));

    // UTC midnight is not a turn: at 23:30 UTC it is still the 28th in Rome.
    clock.advance(TimeDelta::minutes(90));
    let e = kiosk.issue_ticket(&ticket("naspi")).await.unwrap().ticket;
    assert_eq!(
        (e.number.as_str(), e.day.to_string()),
        ("N002", "2026-11-28".into())
    );
    hub.stop().await;
}

#[tokio::test]
async fn offline_numbers_come_only_from_the_kiosks_own_bands() {
    let hub = TestHub::start().await;
    let a = hub.kiosk("a").await;
    let b = hub.kiosk("b").await;
    let band_a = a
        .lease_bands(&BandsRequest {
            services: Some(vec!["naspi".into()]),
        })
        .await
        .unwrap();
    assert_eq!(band_a.bands.len(), 1);
    let band = &band_a.bands[0];
    assert_eq!((band.first, band.last), (990, 999));
    // Asking again returns the same band while it has unused numbers.
    let again = a.lease_bands(&BandsRequest::default()).await.unwrap();
    assert_eq!(again.bands.len(), 12, "every service when none is named");
    assert_eq!(again.bands[0], *band);
    let band_b = b.lease_bands(&BandsRequest::default()).await.unwrap();
    let naspi_b = band_b.bands.iter().find(|x| x.service == "naspi").unwrap();
    assert_eq!(
        (naspi_b.first, naspi_b.last),
        (980, 989),
        "never the same numbers"
    );

    // A uses a number of its band offline.
    let mut offline = ticket("naspi");
    offline.offline_number = Some("N995".into());
    // Twenty minutes ago, but never before the office day began (midnight in the hub's
    // Europe/Rome): the number belongs to today's band. CI ran this test at 00:16 in Rome once.
    let now = Utc::now();
    let since_midnight = now
        .with_timezone(&chrono_tz::Europe::Rome)
        .time()
        .signed_duration_since(chrono::NaiveTime::MIN);
    let waited = TimeDelta::minutes(20).min(since_midnight / 2);
    offline.issued_at = (now - waited).fixed_offset();
    let t = a.issue_ticket(&offline).await.unwrap().ticket;
    assert_eq!(t.number, "N995");
    // B may not use A's numbers, nor anything outside its bands.
    for number in ["N996", "N500", "N001"] {
        let mut bad = ticket("naspi");
        bad.offline_number = Some(number.into());
        match b.issue_ticket(&bad).await {
            Err(ClientError::Rejected {
                status: 422, code, ..
            }) => {
                assert_eq!(code, "number_not_leased")
            }
            other => panic!("{number}: expected 422, got {other:?}"),
        }
    }
    // The same number twice under different op_ids is a conflict.
    let mut twice = ticket("naspi");
    twice.offline_number = Some("N995".into());
    assert!(matches!(
        a.issue_ticket(&twice).await,
        Err(ClientError::Conflict { code, .. }) if code == "number_taken"
    ));
    // Wrong prefix for the service.
    let mut wrong = ticket("isee");
    wrong.offline_number = Some("N994".into());
    assert!(matches!(
        a.issue_ticket(&wrong).await,
        Err(ClientError::Rejected { status: 422, code, .. }) if code == "bad_offline_number"
    ));
    // The offline ticket waited, so it is ahead of a ticket issued now.
    let online = a.issue_ticket(&ticket("naspi")).await.unwrap().ticket;
    assert_eq!(online.number, "N001");
    assert_eq!(online.position, 2);
    // Online numbering never enters a leased band, however far it goes.
    for _ in 0..20 {
        let n = a
            .issue_ticket(&ticket("naspi"))
            .await
            .unwrap()
            .ticket
            .number;
        let seq: u16 = n[1..].parse().unwrap();
        assert!(seq < 980, "{n}");
    }
    hub.stop().await;
}

#[tokio::test]
async fn an_appointment_checks_in_ahead_of_walk_ins() {
    let hub = TestHub::start().await;
    let kiosk = hub.kiosk("a").await;
    let csv = hub.dir.path().join("bookings.csv");
    std::fs::write(
        &csv,
        "code,time,service,codice_fiscale\nAB12,09:30,naspi,RSSMRA45C12F205C\nCD34,10:00,isee,\n",
    )
    .unwrap();
    let today = Utc::now()
        .with_timezone(&chrono_tz::Europe::Rome)
        .date_naive();
    let n = common::blocking(|| {
        admin::import_appointments(
            hub.location(),
            &sportello::catalogue::Catalogue::builtin(),
            &csv,
            today,
        )
    })
    .unwrap();
    assert_eq!(n, 2);
    let walk_in = kiosk.issue_ticket(&ticket("naspi")).await.unwrap().ticket;
    assert_eq!(walk_in.position, 1);
    // Checked in from the front-desk "appointment" service: it joins the booked queue.
    let mut check_in = ticket("appuntamento");
    check_in.appointment = Some("ab-12".into());
    let booked = kiosk.issue_ticket(&check_in).await.unwrap().ticket;
    assert_eq!(booked.service, "naspi");
    assert_eq!(booked.number, "N002");
    assert_eq!(booked.position, 1, "ahead of the walk-in");
    let walk_in_now = kiosk.ticket_status(walk_in.ticket_id).await.unwrap();
    assert_eq!(walk_in_now.position, 2);
    // A replay is fine; a second check-in is not.
    assert!(kiosk.issue_ticket(&check_in).await.unwrap().replayed);
    let mut second = ticket("appuntamento");
    second.appointment = Some("AB12".into());
    assert!(matches!(
        kiosk.issue_ticket(&second).await,
        Err(ClientError::Conflict { code, .. }) if code == "appointment_used"
    ));
    let mut unknown = ticket("naspi");
    unknown.appointment = Some("ZZ99".into());
    assert!(matches!(
        kiosk.issue_ticket(&unknown).await,
        Err(ClientError::Rejected { status: 422, code, .. }) if code == "unknown_appointment"
    ));
    // Booked for isee, asked under naspi: refused.
    let mut mismatch = ticket("naspi");
    mismatch.appointment = Some("CD34".into());
    assert!(matches!(
        kiosk.issue_ticket(&mismatch).await,
        Err(ClientError::Rejected { status: 422, code, .. }) if code == "appointment_service_mismatch"
    ));
    hub.stop().await;
}

/// Security finding 7: a codice fiscale is no secret. Typed at a kiosk, someone else's
/// code must neither take their booking nor reveal what it is for; read from the health
/// card it checks in as before.
#[tokio::test]
async fn a_typed_codice_fiscale_neither_takes_nor_reveals_a_booking() {
    let hub = TestHub::start().await;
    let kiosk = hub.kiosk("a").await;
    let csv = hub.dir.path().join("bookings.csv");
    std::fs::write(
        &csv,
        "code,time,service,codice_fiscale\nBK7Q2,10:30,naspi,BNCMRC85S02F205A\nCD34,11:00,isee,VRDGLI90C55H501M\n",
    )
    .unwrap();
    let today = Utc::now()
        .with_timezone(&chrono_tz::Europe::Rome)
        .date_naive();
    common::blocking(|| {
        admin::import_appointments(
            hub.location(),
            &sportello::catalogue::Catalogue::builtin(),
            &csv,
            today,
        )
    })
    .unwrap();
    // The impostor types Marco's code at the front-desk service.
    let mut impostor = ticket("appuntamento");
    impostor.codice_fiscale = Some("BNCMRC85S02F205A".into());
    let taken = kiosk.issue_ticket(&impostor).await.unwrap().ticket;
    assert_eq!(
        taken.service, "appuntamento",
        "a typed code must not reveal the booked service"
    );
    // Marco arrives with his booking code: still his.
    let mut marco = ticket("appuntamento");
    marco.appointment = Some("BK7Q2".into());
    let booked = kiosk.issue_ticket(&marco).await.unwrap().ticket;
    assert_eq!(booked.service, "naspi");
    // Giulia scans her health card: the card's code checks her in.
    let mut giulia = ticket("appuntamento");
    giulia.codice_fiscale = Some("VRDGLI90C55H501M".into());
    giulia.codice_fiscale_from_card = true;
    let checked_in = kiosk.issue_ticket(&giulia).await.unwrap().ticket;
    assert_eq!(checked_in.service, "isee");
    hub.stop().await;
}

#[tokio::test]
async fn a_prefix_moved_to_another_service_mid_day_never_repeats_a_number() {
    let mut hub = TestHub::start().await;
    let kiosk = hub.kiosk("a").await;
    for expected in ["N001", "N002"] {
        let t = kiosk.issue_ticket(&ticket("naspi")).await.unwrap().ticket;
        assert_eq!(t.number, expected);
    }
    // The office swaps the letters of NASpI and ISEE and restarts the hub.
    let swapped = sportello::catalogue::DEFAULT_CATALOGUE
        .replace(
            "code = \"naspi\"\nprefix = \"N\"",
            "code = \"naspi\"\nprefix = \"I\"",
        )
        .replace(
            "code = \"isee\"\nprefix = \"I\"",
            "code = \"isee\"\nprefix = \"N\"",
        );
    assert_ne!(swapped, sportello::catalogue::DEFAULT_CATALOGUE);
    let file = hub.dir.path().join("catalogue.toml");
    std::fs::write(&file, swapped).unwrap();
    hub.config.services = Some(file);
    hub.restart().await;
    let isee = kiosk.issue_ticket(&ticket("isee")).await.unwrap().ticket;
    assert_eq!(isee.number, "N003", "N001 and N002 are taken today");
    let naspi = kiosk.issue_ticket(&ticket("naspi")).await.unwrap().ticket;
    assert_eq!(
        naspi.number, "I003",
        "NASpI goes on counting under its new letter"
    );
    hub.stop().await;
}

fn expect_conflict(result: Result<sportello::sync::Issued, ClientError>, expected: &str) {
    match result {
        Err(ClientError::Conflict { code, .. }) => assert_eq!(code, expected),
        other => panic!("expected a conflict `{expected}`, got {other:?}"),
    }
}

#[tokio::test]
async fn an_answer_lost_in_flight_then_an_offline_number_renumbers_the_ticket() {
    let mut hub = TestHub::start().await;
    let kiosk = hub.kiosk("a").await;
    let band = kiosk
        .lease_bands(&BandsRequest {
            services: Some(vec!["naspi".into()]),
        })
        .await
        .unwrap();
    assert_eq!((band.bands[0].first, band.bands[0].last), (990, 999));
    for _ in 0..2 {
        kiosk.issue_ticket(&ticket("naspi")).await.unwrap();
    }
    // Op X is applied as N003, but its answer never reaches the kiosk, which prints
    // N999 from its band; the outbox later sends op X again with that number.
    let request = ticket("naspi");
    let lost = kiosk.issue_ticket(&request).await.unwrap().ticket;
    assert_eq!(lost.number, "N003");
    let mut offline = request.clone();
    offline.offline_number = Some("N999".into());

    // Any other difference is still a conflict, and changes nothing.
    let mut other_body = offline.clone();
    other_body.priority = true;
    expect_conflict(kiosk.issue_ticket(&other_body).await, "op_id_reused");
    let other_kiosk = hub.kiosk("b").await;
    other_kiosk
        .lease_bands(&BandsRequest::default())
        .await
        .unwrap();
    expect_conflict(other_kiosk.issue_ticket(&offline).await, "op_id_reused");
    // The number is checked like any offline number.
    let mut not_leased = request.clone();
    not_leased.offline_number = Some("N500".into());
    assert!(matches!(
        kiosk.issue_ticket(&not_leased).await,
        Err(ClientError::Rejected { status: 422, code, .. }) if code == "number_not_leased"
    ));
    let mut used_offline = ticket("naspi");
    used_offline.offline_number = Some("N998".into());
    kiosk.issue_ticket(&used_offline).await.unwrap();
    let mut taken = request.clone();
    taken.offline_number = Some("N998".into());
    expect_conflict(kiosk.issue_ticket(&taken).await, "number_taken");
    assert_eq!(
        kiosk.ticket_status(lost.ticket_id).await.unwrap().number,
        "N003"
    );

    let renumbered = kiosk.issue_ticket(&offline).await.unwrap();
    assert!(renumbered.replayed, "answered 200, not 201");
    let t = &renumbered.ticket;
    assert_eq!(t.number, "N999");
    assert_eq!(
        (t.ticket_id, t.service.as_str(), t.day),
        (lost.ticket_id, "naspi", lost.day)
    );
    // Replays of the new body get the same body, also after a second look.
    for _ in 0..2 {
        let again = kiosk.issue_ticket(&offline).await.unwrap();
        assert!(again.replayed);
        assert_eq!(again.ticket, renumbered.ticket);
    }
    // The old body, or yet another number, is now a conflict.
    expect_conflict(kiosk.issue_ticket(&request).await, "op_id_reused");
    let mut another = request.clone();
    another.offline_number = Some("N997".into());
    expect_conflict(kiosk.issue_ticket(&another).await, "op_id_reused");

    // One ticket, under its new number; N003 is retired for the day.
    let status = kiosk.ticket_status(lost.ticket_id).await.unwrap();
    assert_eq!(
        (status.number.as_str(), status.status),
        ("N999", TicketStatus::Waiting)
    );
    assert_eq!(
        kiosk.ticket_by_number("N999").await.unwrap().ticket_id,
        lost.ticket_id
    );
    assert!(matches!(
        kiosk.ticket_by_number("N003").await,
        Err(ClientError::Rejected { status: 404, .. })
    ));
    let mut later = Vec::new();
    for _ in 0..3 {
        later.push(
            kiosk
                .issue_ticket(&ticket("naspi"))
                .await
                .unwrap()
                .ticket
                .number,
        );
    }
    assert_eq!(later, ["N004", "N005", "N006"]);
    let queues = kiosk.queues().await.unwrap();
    let naspi = queues
        .services
        .iter()
        .find(|q| q.service == "naspi")
        .unwrap();
    assert_eq!(naspi.waiting, 7, "N001-N002, N999, N998, N004-N006");

    // Not even a service that takes over the letter N mid-day gets N003.
    let swapped = sportello::catalogue::DEFAULT_CATALOGUE
        .replace(
            "code = \"naspi\"\nprefix = \"N\"",
            "code = \"naspi\"\nprefix = \"I\"",
        )
        .replace(
            "code = \"isee\"\nprefix = \"I\"",
            "code = \"isee\"\nprefix = \"N\"",
        );
    let file = hub.dir.path().join("catalogue.toml");
    std::fs::write(&file, swapped).unwrap();
    hub.config.services = Some(file);
    hub.restart().await;
    let isee = kiosk.issue_ticket(&ticket("isee")).await.unwrap().ticket;
    assert_eq!(isee.number, "N007", "N001-N006 are used or retired today");
    hub.stop().await;
}

#[tokio::test]
async fn a_renumbered_ticket_that_was_called_waits_again_in_its_place() {
    let hub = TestHub::start().await;
    let kiosk = hub.kiosk("a").await;
    kiosk.lease_bands(&BandsRequest::default()).await.unwrap();
    let request = ticket("isee");
    let lost = kiosk.issue_ticket(&request).await.unwrap().ticket;
    let behind = kiosk.issue_ticket(&ticket("isee")).await.unwrap().ticket;
    assert_eq!(
        (lost.number.as_str(), behind.number.as_str()),
        ("I001", "I002")
    );
    // The board calls I001; nobody holds it, the citizen has I999.
    let clerk = hub.clerk("anna").await;
    clerk.setup("Sportello 1", &["isee"]).await;
    assert_eq!(clerk.next().await.unwrap().as_deref(), Some("I001"));
    clerk
        .post("/counter/api/no-show", serde_json::json!({}))
        .await
        .unwrap();
    let mut offline = request.clone();
    offline.offline_number = Some("I999".into());
    let renumbered = kiosk.issue_ticket(&offline).await.unwrap().ticket;
    assert_eq!(
        (renumbered.number.as_str(), renumbered.position),
        ("I999", 1)
    );
    let status = kiosk.ticket_status(lost.ticket_id).await.unwrap();
    assert_eq!(
        (status.status, status.position, status.counter),
        (TicketStatus::Waiting, 1, None)
    );
    // Still ahead of the later ticket: it keeps its time in the queue.
    assert_eq!(clerk.next().await.unwrap().as_deref(), Some("I999"));
    hub.stop().await;
}

fn at_rome(hub: &TestHub, local: &str) {
    let naive = chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M:%S").unwrap();
    let at = naive
        .and_local_timezone(chrono_tz::Europe::Rome)
        .single()
        .unwrap()
        .with_timezone(&Utc);
    hub.clock.as_ref().unwrap().set(at);
}

fn is_open(queues: &sportello::protocol::QueuesResponse, service: &str) -> bool {
    queues
        .services
        .iter()
        .find(|q| q.service == service)
        .unwrap()
        .open
}

fn expect_closed(result: Result<sportello::sync::Issued, ClientError>) {
    match result {
        Err(ClientError::Rejected {
            status: 422,
            code,
            message,
        }) => {
            assert_eq!(code, "service_closed");
            assert!(message.contains("12:00"), "{message}");
        }
        other => panic!("expected service_closed, got {other:?}"),
    }
}

#[tokio::test]
async fn after_its_last_ticket_time_a_service_takes_no_walk_ins() {
    let start = "2026-11-27T08:00:00Z".parse().unwrap();
    let hub = TestHub::start_with(
        |c| {
            let time = |s: &str| {
                sportello::config::hub::TimeOfDay(
                    chrono::NaiveTime::parse_from_str(s, "%H:%M").unwrap(),
                )
            };
            c.hours.last_ticket = Some(time("15:30"));
            c.hours.services.insert("naspi".into(), time("12:00"));
        },
        Some(sportello::hub::clock::ManualClock::new(start)),
    )
    .await;
    let kiosk = hub.kiosk("a").await;
    kiosk.lease_bands(&BandsRequest::default()).await.unwrap();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
    common::book(
        &hub,
        day,
        "AB12,12:30,naspi,\nCD34,12:45,naspi,RSSMRA45C12F205C\n",
    );

    // 12:00:59 in Rome: the last minute NASpI takes tickets.
    at_rome(&hub, "2026-11-27 12:00:59");
    let queues = kiosk.queues().await.unwrap();
    assert!(queues.services.iter().all(|q| q.open));
    let before = ticket("naspi");
    kiosk.issue_ticket(&before).await.unwrap();

    // 12:01: NASpI is closed; the others follow the office-wide 15:30.
    at_rome(&hub, "2026-11-27 12:01:00");
    let queues = kiosk.queues().await.unwrap();
    assert!(!is_open(&queues, "naspi"));
    assert!(is_open(&queues, "isee"));
    expect_closed(kiosk.issue_ticket(&ticket("naspi")).await);
    kiosk.issue_ticket(&ticket("isee")).await.unwrap();
    // An op applied before closing still replays.
    assert!(kiosk.issue_ticket(&before).await.unwrap().replayed);
    // Appointment check-ins, by code or by a health card's codice fiscale, are accepted.
    let mut by_code = ticket("naspi");
    by_code.appointment = Some("AB12".into());
    let booked = kiosk.issue_ticket(&by_code).await.unwrap().ticket;
    assert_eq!(booked.position, 1);
    let mut by_cf = ticket("appuntamento");
    by_cf.codice_fiscale = Some("RSSMRA45C12F205C".into());
    by_cf.codice_fiscale_from_card = true;
    let booked = kiosk.issue_ticket(&by_cf).await.unwrap().ticket;
    assert_eq!(booked.service, "naspi");
    // The same codice fiscale without a booking left is a walk-in: refused.
    let mut walk_in = ticket("naspi");
    walk_in.codice_fiscale = Some("RSSMRA45C12F205C".into());
    expect_closed(kiosk.issue_ticket(&walk_in).await);
    // A ticket the kiosk already printed offline is accepted.
    let mut offline = ticket("naspi");
    offline.offline_number = Some("N999".into());
    offline.issued_at = (hub.clock.as_ref().unwrap().now() - TimeDelta::minutes(5)).fixed_offset();
    assert_eq!(
        kiosk.issue_ticket(&offline).await.unwrap().ticket.number,
        "N999"
    );

    // 15:31: everything is closed.
    at_rome(&hub, "2026-11-27 15:31:00");
    let queues = kiosk.queues().await.unwrap();
    assert!(queues.services.iter().all(|q| !q.open));
    assert!(matches!(
        kiosk.issue_ticket(&ticket("isee")).await,
        Err(ClientError::Rejected { status: 422, code, .. }) if code == "service_closed"
    ));
    // The next morning all open again.
    at_rome(&hub, "2026-11-28 08:00:00");
    let queues = kiosk.queues().await.unwrap();
    assert!(queues.services.iter().all(|q| q.open));
    assert_eq!(
        kiosk
            .issue_ticket(&ticket("naspi"))
            .await
            .unwrap()
            .ticket
            .number,
        "N001"
    );
    hub.stop().await;
}

#[tokio::test]
async fn hours_for_a_service_the_catalogue_lacks_stop_the_hub() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config_in(dir.path());
    config.hours.services.insert(
        "pensioni".into(),
        sportello::config::hub::TimeOfDay(chrono::NaiveTime::from_hms_opt(12, 0, 0).unwrap()),
    );
    let clock = std::sync::Arc::new(sportello::hub::clock::SystemClock);
    match sportello::hub::start(config, clock).await {
        Err(e) => {
            let text = e.to_string();
            assert!(text.contains("hours.services.pensioni"), "{text}");
        }
        Ok(_) => panic!("the hub started with hours for an unknown service"),
    }
}

#[tokio::test]
async fn an_offline_front_desk_check_in_keeps_its_number_and_joins_the_booked_queue() {
    let hub = TestHub::start().await;
    let kiosk = hub.kiosk("a").await;
    kiosk.lease_bands(&BandsRequest::default()).await.unwrap();
    common::book(
        &hub,
        common::today_in_rome(),
        "AB12,09:30,naspi,\nCD34,10:00,isee,RSSMRA45C12F205C\n",
    );
    let walk_in = kiosk.issue_ticket(&ticket("naspi")).await.unwrap().ticket;
    // Offline, the kiosk cannot know the booked service: it printed from the front
    // desk's band.
    let mut by_code = ticket("appuntamento");
    by_code.appointment = Some("AB12".into());
    by_code.offline_number = Some("P999".into());
    let t = kiosk.issue_ticket(&by_code).await.unwrap().ticket;
    assert_eq!(
        (t.number.as_str(), t.service.as_str(), t.position),
        ("P999", "naspi", 1)
    );
    assert_eq!(
        kiosk
            .ticket_status(walk_in.ticket_id)
            .await
            .unwrap()
            .position,
        2
    );
    let mut by_cf = ticket("appuntamento");
    by_cf.codice_fiscale = Some("RSSMRA45C12F205C".into());
    by_cf.codice_fiscale_from_card = true;
    by_cf.offline_number = Some("P998".into());
    let t = kiosk.issue_ticket(&by_cf).await.unwrap().ticket;
    assert_eq!((t.number.as_str(), t.service.as_str()), ("P998", "isee"));
    // The number must still come from the band of the service asked for.
    let mut wrong = ticket("appuntamento");
    wrong.offline_number = Some("N999".into());
    assert!(matches!(
        kiosk.issue_ticket(&wrong).await,
        Err(ClientError::Rejected { status: 422, code, .. }) if code == "bad_offline_number"
    ));
    hub.stop().await;
}

#[tokio::test]
async fn emergency_numbers_carry_the_kiosks_tag_and_are_used_once() {
    let hub = TestHub::start().await;
    // The TestHub's `kiosk` helper keeps only the token; enroll by hand to see the tags.
    let mut enrolled = Vec::new();
    for name in ["a", "b"] {
        let token =
            common::blocking(|| sportello::hub::admin::create_enrollment_token(hub.location()))
                .unwrap();
        let mut client = hub.client();
        let answer = client
            .enroll(&sportello::protocol::EnrollRequest {
                enrollment_token: token,
                name: Some(name.into()),
                previous: None,
            })
            .await
            .unwrap();
        client.set_token(answer.token);
        enrolled.push((client, answer.tag));
    }
    let [(a, tag_a), (b, tag_b)] = [enrolled.remove(0), enrolled.remove(0)];
    assert_eq!((tag_a.as_str(), tag_b.as_str()), ("A", "B"));

    let mut emergency = ticket("naspi");
    emergency.offline_number = Some("N-A01".into());
    let t = a.issue_ticket(&emergency).await.unwrap().ticket;
    assert_eq!(t.number, "N-A01");
    // Another kiosk's tag, or the same number again, is refused.
    let mut wrong = ticket("naspi");
    wrong.offline_number = Some("N-A02".into());
    assert!(matches!(
        b.issue_ticket(&wrong).await,
        Err(ClientError::Rejected { status: 422, code, .. }) if code == "number_not_leased"
    ));
    let mut again = ticket("naspi");
    again.offline_number = Some("N-A01".into());
    assert!(matches!(
        a.issue_ticket(&again).await,
        Err(ClientError::Conflict { code, .. }) if code == "number_taken"
    ));
    // It can be looked up like any number, and online numbering is untouched.
    let found = b.ticket_by_number("n-a01").await.unwrap();
    assert_eq!(found.number, "N-A01");
    let online = a.issue_ticket(&ticket("naspi")).await.unwrap().ticket;
    assert_eq!(online.number, "N001");
}
