//! The office's reports against a month of tickets with known waits (issue 20): every
//! figure of docs/reports.md, the percentiles, a DST day, the page, the CSV and who may
//! see them. In the hub suite, so on SQLite and on PostgreSQL.

mod common;

use common::{TestHub, insert_history, october};

async fn manager(hub: &TestHub, name: &str) -> common::Clerk {
    let location = hub.location();
    let clerk = hub.clerk(name).await;
    common::blocking(|| sportello::hub::admin::set_role(&location, name, "manager")).unwrap();
    clerk.login(name, "password123").await.unwrap();
    clerk
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_month_of_known_waits_gives_every_figure() {
    let hub = TestHub::start_at("2026-11-02T10:00:00Z".parse().unwrap()).await;
    insert_history(&hub, &october());
    let carla = manager(&hub, "carla").await;
    let r = carla
        .get("/reports/api/report?period=custom&from=2026-10-01&to=2026-10-31")
        .await
        .unwrap();
    let weekdays = 22;

    // Overall: 22 × 6 + 1 never called + 3 on the DST day.
    let all = &r["overall"];
    assert_eq!(all["issued"], weekdays * 6 + 1 + 3);
    assert_eq!(all["appointment"], weekdays);
    assert_eq!(all["walk_in"], weekdays * 5 + 1 + 3);
    assert_eq!(all["priority"], weekdays);
    assert_eq!(all["offline"], weekdays);
    assert_eq!(all["no_shows"], weekdays);
    assert_eq!(all["transfers"], weekdays);
    assert_eq!(all["never_called"], 1);
    assert_eq!(all["waiting_now"], 0);
    // Waits 2, 4, 5, 10, 15, 40 (22 each) and 20 (3): 135 values, nearest rank.
    // Median: rank 68 → past 2, 4, 5 (66) → 10. 90th: rank 122 → past 113 (…, 20 × 3)
    // → 40.
    assert_eq!(all["wait_median"], 10 * 60);
    assert_eq!(all["wait_p90"], 40 * 60);
    // Within 30 minutes: all but the 40-minute ones and the one never called.
    let judged = f64::from(weekdays * 6 + 3 + 1);
    let within = all["within_target"].as_f64().unwrap();
    assert!(
        (within - f64::from(weekdays * 5 + 3) / judged).abs() < 1e-9,
        "{within}"
    );

    // Per service: NASpI, ISEE, DID.
    let services = r["services"].as_array().unwrap();
    let service = |code: &str| {
        services
            .iter()
            .find(|s| s[0] == code)
            .unwrap_or_else(|| panic!("{code} in {services:?}"))[2]
            .clone()
    };
    let naspi = service("naspi");
    assert_eq!(naspi["issued"], weekdays * 4 + 1);
    // 5, 10, 15, 40 × 22: median rank 44 → 10; 90th rank 80 → 40.
    assert_eq!(naspi["wait_median"], 600);
    assert_eq!(naspi["wait_p90"], 2400);
    assert_eq!(naspi["service_median"], 600);
    let within = naspi["within_target"].as_f64().unwrap();
    assert!((within - 66.0 / 89.0).abs() < 1e-9, "{within}");
    let isee = service("isee");
    assert_eq!(isee["wait_median"], 120);
    assert_eq!(isee["wait_p90"], 240);
    assert_eq!(isee["service_p90"], 300);
    assert_eq!(isee["within_target"], 1.0);
    let did = service("did-patto");
    assert_eq!(did["wait_median"], 20 * 60, "across the DST change");
    assert_eq!(did["issued"], 3);

    // Counters and clerks.
    let counters = r["counters"].as_array().unwrap();
    assert_eq!(counters[0]["counter"], "Sportello 1");
    assert_eq!(counters[0]["served"], weekdays * 3 + 3);
    assert_eq!(counters[0]["no_shows"], weekdays);
    assert_eq!(counters[1]["served"], weekdays * 2);
    let clerks = r["clerks"].as_array().unwrap();
    let anna = clerks.iter().find(|c| c["clerk"] == "anna").unwrap();
    // Each weekday from the 09:05 call to the 09:45 end: 40 minutes; on the 25th from
    // 00:50 to 01:55 UTC: 65 minutes.
    let hours = (f64::from(weekdays) * 40.0 + 65.0) / 60.0;
    assert!((anna["hours"].as_f64().unwrap() - (hours * 100.0).round() / 100.0).abs() < 1e-9);
    let per_hour = anna["per_hour"].as_f64().unwrap();
    assert!(
        (per_hour - f64::from(weekdays * 3 + 3) / hours).abs() < 1e-9,
        "{per_hour}"
    );

    // Arrivals by local hour, in summer and winter time alike: every Monday's four NASpI
    // tickets at 9 (Mondays 5, 12, 19, 26: two before the change, two after).
    let arrivals = &r["arrivals"];
    assert_eq!(arrivals[0][9], 4.0);
    assert_eq!(arrivals[0][8], 0.0);
    assert_eq!(arrivals[0][10], 2.0);
    // Sunday 02:00-02:59 happened twice on the 25th (00:00-00:59 and 01:00-01:59 UTC):
    // all three tickets there; four Sundays in October.
    assert_eq!(arrivals[6][2], 3.0 / 4.0);
    assert_eq!(arrivals[6][1], 0.0);
    let waits = &r["waits"];
    // Monday 9-10: waits 5, 10, 15, 40 → mean 17.5 minutes.
    assert_eq!(waits[0][9], 17.5);
    // Served capacity: Monday 9h: ends at 09:15, 09:30, 09:45 → 3 per Monday.
    assert_eq!(r["served"][0][9], 3.0);

    // Day by day: 22 weekdays and the Sunday.
    let days = r["days"].as_array().unwrap();
    assert_eq!(days.len(), 23);
    let sunday = days.iter().find(|d| d["date"] == "2026-10-25").unwrap();
    assert_eq!(sunday["wait_median"], 1200);
    let friday = days.iter().find(|d| d["date"] == "2026-10-30").unwrap();
    assert_eq!(friday["issued"], 7);

    // Privacy: no codice fiscale, no citizen name in the report.
    let text = r.to_string();
    assert!(!text.contains("codice_fiscale") && !text.contains("RSSMRA"));
    hub.stop().await;
}

#[tokio::test]
async fn the_page_and_the_exports_are_for_managers_only() {
    let hub = TestHub::start_at("2026-11-02T10:00:00Z".parse().unwrap()).await;
    insert_history(&hub, &october());
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let range = "from=2026-10-01&to=2026-10-31";

    // Nobody logged in: 401; a clerk: 403; a manager: the report.
    let anonymous = http
        .get(format!("{}/reports/view?{range}", hub.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let clerk = hub.clerk("dario").await;
    let refused = clerk
        .get(&format!("/reports/api/report?{range}"))
        .await
        .unwrap_err();
    assert_eq!(
        (refused.status, refused.code.as_str()),
        (403, "role_required")
    );
    let as_clerk = http
        .get(format!("{}/reports/view?{range}", hub.url()))
        .header("cookie", clerk.set_cookie_header().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(as_clerk.status(), 403);
    let csv = http
        .get(format!("{}/reports/export/clerks.csv?{range}", hub.url()))
        .header("cookie", clerk.set_cookie_header().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 403, "per-clerk figures are for managers only");

    let carla = manager(&hub, "carla").await;
    let cookie = carla.set_cookie_header().unwrap();
    let page = http
        .get(format!("{}/reports/view?{range}", hub.url()))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert_eq!(
        page.matches("<svg").count(),
        5,
        "bars, three heat maps, a line"
    );
    assert_eq!(page.matches("role=\"img\"").count(), 5);
    assert!(page.contains("Dal 01/10/2026 al 31/10/2026"));
    assert!(page.contains("<th scope=\"row\">anna</th>"));

    let summary = http
        .get(format!(
            "{}/reports/summary?from=2026-10-26&to=2026-10-30",
            hub.url()
        ))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(summary.status(), 200);
    let summary = summary.text().await.unwrap();
    assert_eq!(
        summary.matches("<svg").count(),
        1,
        "one chart on the one page"
    );
    assert!(
        summary.contains("Sintesi") && summary.contains("<td>31</td>"),
        "{summary}"
    );

    let csv = http
        .get(format!("{}/reports/export/services.csv?{range}", hub.url()))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    let csv = csv.text().await.unwrap();
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().starts_with("service,issued,walk_in"));
    assert!(lines.next().unwrap().starts_with("*,136,"));
    let bad = http
        .get(format!(
            "{}/reports/view?from=2026-10-31&to=2026-10-01",
            hub.url()
        ))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400, "a period that ends before it starts");
    hub.stop().await;
}

#[tokio::test]
async fn a_closed_day_is_kept_as_a_file_once() {
    let mut hub = TestHub::start_at("2026-10-31T10:00:00Z".parse().unwrap()).await;
    insert_history(&hub, &october());
    // Housekeeping runs as the hub starts: the day before is written now.
    hub.restart().await;
    let path = sportello::hub::daily_reports::summary_path(
        &hub.location().files,
        "default",
        chrono::NaiveDate::from_ymd_opt(2026, 10, 30).unwrap(),
    );
    let text = common::eventually_file(&path).await;
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with("service,issued,"));
    assert!(lines.next().unwrap().starts_with("*,7,"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("naspi,5,")), "{text}");
    // Written once: a restart leaves it as it is.
    std::fs::write(&path, "kept").unwrap();
    hub.restart().await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "kept");
    hub.stop().await;
}
