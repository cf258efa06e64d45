//! Tickets through a network that fails on purpose: a proxy between kiosk and hub
//! refuses, delays, resets mid-answer and black-holes connections at random, and the hub
//! is restarted in the middle of the run. Afterwards every ticket the kiosk handed over is
//! on the hub exactly once with the number on the paper, no number is used twice, and
//! nothing is stuck in the outbox.
//!
//! `SPORTELLO_SOAK_TICKETS` sets the number of tickets (default 40, a few seconds);
//! `scripts/soak` runs thousands and reports the figures.
//!
//! A third test measures what timed outages cost in emergency numbers, with fixed bands
//! of 10 beside bands sized by demand, two kiosks side by side under the same outages
//! (`SPORTELLO_OUTAGE_MINUTES`, default 2).

mod common;

use std::time::{Duration, Instant};

use common::{FaultProxy, Handed, Plan, TestHub, fast_intervals, kiosk_config, pause_hub, verdict};
use sportello::kiosk::core::TicketProblem;
use sportello::kiosk::run;
use sportello::kiosk::session::TicketRequest;
use sportello::lang::Lang;
use sportello::store::Store;
use uuid::Uuid;

fn wait(what: &str, limit: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
    start.elapsed()
}

#[test]
fn tickets_survive_a_flaky_network_and_a_hub_restart() {
    let tickets: usize = std::env::var("SPORTELLO_SOAK_TICKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let seed: u64 = std::env::var("SPORTELLO_SOAK_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let restarts: usize = std::env::var("SPORTELLO_SOAK_RESTARTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let restart_every = (tickets * 3 / 4 / (restarts + 1)).max(1);
    let hub_rt = tokio::runtime::Runtime::new().unwrap();
    let mut hub = hub_rt.block_on(TestHub::start_with(|c| c.queue.band_size = 20, None));
    let hub_addr = hub.hub.as_ref().unwrap().addr;
    let proxy = hub_rt.block_on(FaultProxy::start(
        hub_addr,
        Plan::Always(common::Fault::Pass),
        seed,
    ));

    let dir = tempfile::tempdir().unwrap();
    let mut config = kiosk_config(dir.path(), &proxy.url(), &hub.db());
    config.hub.ticket_timeout_ms = 300;
    config.hub.request_timeout_ms = 800;
    let kiosk = run::start(config, fast_intervals()).unwrap();
    let store = Store::open(&dir.path().join("kiosk.sqlite")).unwrap();
    wait("enrolled, with bands", Duration::from_secs(30), || {
        let today = kiosk.core.today();
        today.is_some_and(|d| store.bands(d).map(|b| b.len() >= 3).unwrap_or(false))
    });

    proxy.set_plan(Plan::Random {
        refuse: 20,
        delay: 15,
        reset: 15,
        black_hole: 10,
        max_delay: Duration::from_millis(600),
    });
    let services = ["naspi", "did-patto", "imprese", "isee"];
    let mut handed = Vec::new();
    let mut refused = 0;
    let started = Instant::now();
    for i in 0..tickets {
        if i > 0 && i % restart_every == 0 && i / restart_every <= restarts {
            hub_rt.block_on(pause_hub(&mut hub));
            hub_rt.block_on(hub.restart());
        }
        if i == tickets * 3 / 4 {
            // The last quarter with the hub unreachable: a backlog to drain.
            proxy.set_plan(Plan::Always(common::Fault::Refuse));
        }
        let request = TicketRequest {
            op_id: Uuid::new_v4(),
            service: services[i % services.len()].to_string(),
            priority: i % 7 == 0,
            lang: Lang::IT,
            codice_fiscale: None,
            codice_fiscale_from_card: false,
        };
        match kiosk
            .runtime
            .block_on(kiosk.core.issue_ticket(request.clone()))
        {
            Ok(ticket) => handed.push(Handed {
                op_id: request.op_id,
                number: ticket.number,
            }),
            // No band and no emergency number left: refused, and nothing reached the hub.
            Err(TicketProblem::NoNumber) => refused += 1,
            Err(other) => panic!("ticket {i}: {other:?}"),
        }
    }
    let issuing = started.elapsed();
    let counts = proxy.counts();
    let faults = proxy.faults_injected();
    let backlog = store.outbox_stats().unwrap().pending;
    proxy.set_plan(Plan::Always(common::Fault::Pass));
    let drain = wait("outbox drained", Duration::from_secs(120), || {
        store.outbox_stats().unwrap().pending == 0
    });
    let v = verdict(&hub.db(), &dir.path().join("kiosk.sqlite"), &handed);
    println!(
        "fault run: {tickets} tickets asked, {} handed over, {refused} refused (no number), \
         {faults} faults injected {counts:?}, {restarts} hub restarts, issuing took {issuing:.1?}, \
         backlog of {backlog} drained {drain:.1?} after reconnect; lost {}, duplicated or wrong {}, numbers reused {}, stuck {}",
        handed.len(),
        v.lost.len(),
        v.duplicated_or_wrong.len(),
        v.numbers_reused.len(),
        v.stuck.len()
    );
    assert!(v.clean(0), "{v:#?}");
    assert!(faults > 0, "the proxy injected faults");
    assert!(
        backlog > 0,
        "the unreachable stretch left operations to drain"
    );
    assert!(
        handed.len() * 10 >= tickets * 9,
        "nearly every citizen got a ticket: {} of {tickets}",
        handed.len()
    );
}

/// The hub enrolls the kiosk but the answer never arrives (connection reset mid-answer):
/// the kiosk asks again with the same one-time token and ends up enrolled, reporting and
/// issuing tickets online, as one kiosk on the hub.
#[test]
fn an_enrollment_answer_lost_in_flight_is_asked_for_again() {
    let hub_rt = tokio::runtime::Runtime::new().unwrap();
    let hub = hub_rt.block_on(TestHub::start());
    let hub_addr = hub.hub.as_ref().unwrap().addr;
    let proxy = hub_rt.block_on(FaultProxy::start(
        hub_addr,
        Plan::Always(common::Fault::ResetMidResponse),
        1,
    ));
    let dir = tempfile::tempdir().unwrap();
    let mut config = kiosk_config(dir.path(), &proxy.url(), &hub.db());
    config.hub.request_timeout_ms = 800;
    let kiosk = run::start(config, fast_intervals()).unwrap();

    let hub_db = rusqlite::Connection::open(hub.db()).unwrap();
    wait(
        "the hub to enroll the kiosk",
        Duration::from_secs(20),
        || {
            hub_db
                .query_row(
                    "SELECT count(*) FROM enrollment_tokens WHERE used_at IS NOT NULL",
                    [],
                    |r| r.get::<_, i64>(0),
                )
                .unwrap()
                == 1
        },
    );
    let kiosk_token = || -> Option<String> {
        let store = rusqlite::Connection::open(dir.path().join("kiosk.sqlite")).ok()?;
        store
            .query_row("SELECT value FROM meta WHERE key = 'hub_token'", [], |r| {
                r.get(0)
            })
            .ok()
    };
    assert_eq!(kiosk_token(), None, "every answer was cut: no token yet");

    proxy.set_plan(Plan::Always(common::Fault::Pass));
    wait("the kiosk's heartbeat", Duration::from_secs(20), || {
        hub_db
            .query_row(
                "SELECT count(*) FROM kiosks WHERE last_heartbeat IS NOT NULL",
                [],
                |r| r.get::<_, i64>(0),
            )
            .unwrap()
            == 1
    });
    assert!(kiosk_token().is_some());
    let kiosks: i64 = hub_db
        .query_row("SELECT count(*) FROM kiosks", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kiosks, 1, "enrolling again made no second kiosk");

    let op_id = Uuid::new_v4();
    let ticket = kiosk
        .runtime
        .block_on(kiosk.core.issue_ticket(TicketRequest {
            op_id,
            service: "naspi".into(),
            priority: false,
            lang: Lang::IT,
            codice_fiscale: None,
            codice_fiscale_from_card: false,
        }))
        .unwrap();
    let on_hub: String = hub_db
        .query_row(
            "SELECT number FROM tickets WHERE op_id = ?1",
            [op_id.to_string()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(on_hub, ticket.number);
}

/// What one kiosk handed over during the outage run.
#[derive(Debug, Default)]
struct OutageTally {
    handed: Vec<Handed>,
    offline: usize,
    emergency: usize,
    no_number: usize,
}

/// Outages of 15-30 s every minute (connections refused or black-holed), between them a
/// network that still refuses, resets and black-holes some connections; a citizen every
/// 0.4 s over three services. Two kiosks, each with its own hub and proxy under the same
/// schedule: one hub leases fixed bands of 10 (`band_demand_minutes = 0`, as before issue
/// 16), the other sizes them by demand (the default). Both keep every promise; the
/// demand-sized hub leases bands larger than 10, and in a run of 10 minutes or more its
/// kiosk spends no more emergency numbers than the fixed one.
#[test]
fn timed_outages_cost_fewer_emergency_numbers_with_bands_sized_by_demand() {
    let minutes: u64 = std::env::var("SPORTELLO_OUTAGE_MINUTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let seed: u64 = std::env::var("SPORTELLO_OUTAGE_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(11);
    let hub_rt = tokio::runtime::Runtime::new().unwrap();
    let variants = [("fixed bands of 10", 0u32), ("bands sized by demand", 120)];
    let mut setups = Vec::new();
    for (name, demand_minutes) in variants {
        let hub = hub_rt.block_on(TestHub::start_with(
            |c| {
                c.queue.band_demand_minutes = demand_minutes;
                // A citizen every 0.4 s is above a kiosk's online limit: the run
                // measures outages, not the limit.
                c.queue.kiosk_tickets_per_minute = 0;
            },
            None,
        ));
        let proxy = hub_rt.block_on(FaultProxy::start(
            hub.hub.as_ref().unwrap().addr,
            Plan::Always(common::Fault::Pass),
            seed,
        ));
        let dir = tempfile::tempdir().unwrap();
        let mut config = kiosk_config(dir.path(), &proxy.url(), &hub.db());
        config.hub.ticket_timeout_ms = 300;
        config.hub.request_timeout_ms = 800;
        let kiosk = run::start(config, fast_intervals()).unwrap();
        let store = Store::open(&dir.path().join("kiosk.sqlite")).unwrap();
        wait("enrolled, with bands", Duration::from_secs(30), || {
            let today = kiosk.core.today();
            today.is_some_and(|d| store.bands(d).map(|b| b.len() >= 3).unwrap_or(false))
        });
        setups.push((name, hub, proxy, dir, kiosk, store));
    }

    // The schedule, the same for both: per minute, 15-30 s out, starting 30-45 s in.
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let outages: Vec<(Duration, Duration)> = (0..minutes)
        .map(|m| {
            let length = rng.random_range(15..=30);
            let start = m * 60 + 60 - length;
            (
                Duration::from_secs(start),
                Duration::from_secs(start + length),
            )
        })
        .collect();
    let out_total: u64 = outages.iter().map(|(a, b)| (*b - *a).as_secs()).sum();
    let flaky = Plan::Random {
        refuse: 5,
        delay: 10,
        reset: 5,
        black_hole: 5,
        max_delay: Duration::from_millis(400),
    };
    let out = Plan::Random {
        refuse: 50,
        delay: 0,
        reset: 0,
        black_hole: 50,
        max_delay: Duration::ZERO,
    };
    for (_, _, proxy, ..) in &setups {
        proxy.set_plan(flaky.clone());
    }
    let run_for = Duration::from_secs(minutes * 60);
    let period = Duration::from_millis(400);
    let started = Instant::now();
    let tallies: Vec<OutageTally> = std::thread::scope(|scope| {
        let workers: Vec<_> = setups
            .iter()
            .map(|(_, _, _, _, kiosk, _)| {
                scope.spawn(move || {
                    let services = ["naspi", "did-patto", "imprese"];
                    let mut tally = OutageTally::default();
                    let mut i = 0u32;
                    while started.elapsed() < run_for {
                        let due = started + period * i;
                        if let Some(wait) = due.checked_duration_since(Instant::now()) {
                            std::thread::sleep(wait);
                        }
                        let request = TicketRequest {
                            op_id: Uuid::new_v4(),
                            service: services[i as usize % services.len()].to_string(),
                            priority: false,
                            lang: Lang::IT,
                            codice_fiscale: None,
                            codice_fiscale_from_card: false,
                        };
                        i += 1;
                        match kiosk
                            .runtime
                            .block_on(kiosk.core.issue_ticket(request.clone()))
                        {
                            Ok(ticket) => {
                                tally.offline += usize::from(ticket.offline);
                                tally.emergency += usize::from(ticket.emergency);
                                tally.handed.push(Handed {
                                    op_id: request.op_id,
                                    number: ticket.number,
                                });
                            }
                            Err(TicketProblem::NoNumber) => tally.no_number += 1,
                            Err(other) => panic!("ticket {i}: {other:?}"),
                        }
                    }
                    tally
                })
            })
            .collect();
        // The outages, applied to both proxies at the same moments.
        for (from, to) in &outages {
            if let Some(wait) = (started + *from).checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            for (_, _, proxy, ..) in &setups {
                proxy.set_plan(out.clone());
            }
            if let Some(wait) = (started + *to).checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            for (_, _, proxy, ..) in &setups {
                proxy.set_plan(flaky.clone());
            }
        }
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });

    let mut emergency = Vec::new();
    let mut largest_bands = Vec::new();
    for ((name, hub, proxy, dir, _, store), tally) in setups.iter().zip(&tallies) {
        proxy.set_plan(Plan::Always(common::Fault::Pass));
        wait("outbox drained", Duration::from_secs(120), || {
            store.outbox_stats().unwrap().pending == 0
        });
        let v = verdict(&hub.db(), &dir.path().join("kiosk.sqlite"), &tally.handed);
        println!(
            "outage run, {name}: {minutes} min, out {out_total} s ({:.0}%), {} tickets handed \
             over, {} offline, {} emergency numbers, {} refused (no number); faults {:?}; \
             lost {}, duplicated or wrong {}, numbers reused {}, stuck {}, ghosts {}",
            out_total as f64 * 100.0 / (minutes * 60) as f64,
            tally.handed.len(),
            tally.offline,
            tally.emergency,
            tally.no_number,
            proxy.counts(),
            v.lost.len(),
            v.duplicated_or_wrong.len(),
            v.numbers_reused.len(),
            v.stuck.len(),
            v.ghosts.len()
        );
        assert!(v.clean(0), "{name}: {v:#?}");
        assert!(tally.offline > 0, "{name}: the outages were felt");
        emergency.push(tally.emergency + tally.no_number);
        let conn = rusqlite::Connection::open(hub.db()).unwrap();
        let largest: i64 = conn
            .query_row("SELECT max(last - first + 1) FROM bands", [], |r| r.get(0))
            .unwrap();
        largest_bands.push(largest);
    }
    // The mechanism, in every run: the hub that sizes by demand leased larger bands once
    // it had seen the kiosk's demand; the other never more than its 10.
    assert_eq!(largest_bands[0], 10, "fixed bands: {largest_bands:?}");
    assert!(
        largest_bands[1] > 10,
        "the demand-sized hub never leased more than band_size: {largest_bands:?}"
    );
    // The outcome, only where it is more than noise: in a short run both kiosks spend the
    // first outage on the same cold-start bands of 10 (the hub has seen no demand yet),
    // and which one then needs a few more emergency numbers is chance (a CI run on
    // 2026-12-03 had 6 fixed against 10 by demand; 10 minutes gave 106 against 1).
    if minutes >= 10 {
        assert!(
            emergency[1] <= emergency[0],
            "bands sized by demand spent more emergency numbers: {emergency:?}"
        );
    } else {
        println!(
            "short run ({minutes} min): emergency numbers {emergency:?} (fixed, by demand) are \
             compared only from SPORTELLO_OUTAGE_MINUTES=10"
        );
    }
}
