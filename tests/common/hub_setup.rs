//! Shared set-up for the hub's integration tests: a real hub on loopback with a real
//! SQLite file, enrolled kiosks speaking through `HubClient`, and clerks with cookies.
//!
//! With `SPORTELLO_TEST_POSTGRES` set to a server's URL (`postgres://user@host:port`,
//! scripts/test starts one), each hub gets a fresh database of its own on that server
//! instead: the same tests then run on PostgreSQL. They check what was stored through
//! [`TestHub::rows`], [`TestHub::value`] and [`TestHub::with_db`], which read either engine.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sportello::config::hub::{Database, HubConfig, TlsMode};
use sportello::hub::clock::{Clock, ManualClock, SystemClock};
use sportello::hub::sql::{FromValue, Row, Sql, Value};
use sportello::hub::store::{self, Location};
use sportello::hub::{self, RunningHub, admin};
use sportello::protocol::{EnrollRequest, IssueTicketRequest};
use sportello::sync::{HubClient, HubClientConfig};
use uuid::Uuid;

/// A hub on 127.0.0.1 with a fresh database in a temporary directory.
pub struct TestHub {
    pub hub: Option<RunningHub>,
    pub config: HubConfig,
    pub dir: tempfile::TempDir,
    pub clock: Option<ManualClock>,
}

/// The PostgreSQL server the hub tests run on instead of SQLite, if any.
pub fn test_postgres() -> Option<String> {
    std::env::var("SPORTELLO_TEST_POSTGRES")
        .ok()
        .filter(|url| !url.is_empty())
}

/// Runs `f` on a thread of its own: PostgreSQL's blocking client (the set-up commands
/// `admin::...`, which the hub runs from its command line) cannot run on a thread that
/// drives async tasks, as an async test's does.
pub fn blocking<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| scope.spawn(f).join().expect("the blocking call panicked"))
}

/// The database for a test hub in `dir`: an SQLite file there, or a new database on
/// the server of [`test_postgres`] (its files in `dir`).
fn test_database(dir: &std::path::Path) -> (Database, Option<PathBuf>) {
    let Some(server) = test_postgres() else {
        return (Database::sqlite(dir.join("hub.sqlite")), None);
    };
    let server = server.trim_end_matches('/');
    let name = format!("hub_{}", Uuid::new_v4().simple());
    blocking(|| {
        let mut admin = postgres::Client::connect(&format!("{server}/postgres"), postgres::NoTls)
            .expect("connect to SPORTELLO_TEST_POSTGRES");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create the test hub's database");
    });
    (
        Database::Postgres(format!("{server}/{name}")),
        Some(dir.join("data")),
    )
}

pub fn config_in(dir: &std::path::Path) -> HubConfig {
    let (database, data_dir) = test_database(dir);
    let mut config = HubConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        database,
        data_dir,
        office_name: "Ufficio di prova".to_string(),
        ..HubConfig::default()
    };
    config.tls.mode = TlsMode::Off;
    config.waiting.area = Some("Sala d'attesa, piano terra".to_string());
    config
        .waiting
        .services
        .insert("naspi".to_string(), "Sala INPS, sportelli 1-4".to_string());
    config
}

impl TestHub {
    /// Plain HTTP on loopback, system clock.
    pub async fn start() -> TestHub {
        TestHub::start_with(|_| {}, None).await
    }

    /// Plain HTTP on loopback, a manual clock starting at `at`.
    pub async fn start_at(at: DateTime<Utc>) -> TestHub {
        TestHub::start_with(|_| {}, Some(ManualClock::new(at))).await
    }

    /// With config changes and an optional manual clock.
    pub async fn start_with(
        change: impl FnOnce(&mut HubConfig),
        clock: Option<ManualClock>,
    ) -> TestHub {
        let dir = tempfile::tempdir().unwrap();
        let mut config = config_in(dir.path());
        change(&mut config);
        let running = launch(&config, clock.as_ref()).await;
        TestHub {
            hub: Some(running),
            config,
            dir,
            clock,
        }
    }

    /// On a listener bound beforehand (its port is then known before the hub starts).
    pub async fn start_on(
        listener: std::net::TcpListener,
        change: impl FnOnce(&mut HubConfig),
        clock: Option<ManualClock>,
    ) -> TestHub {
        let dir = tempfile::tempdir().unwrap();
        let mut config = config_in(dir.path());
        config.listen = listener.local_addr().unwrap();
        change(&mut config);
        let clock_arc: Arc<dyn Clock> = match &clock {
            Some(c) => Arc::new(c.clone()),
            None => Arc::new(SystemClock),
        };
        let running = hub::start_on(config.clone(), clock_arc, listener)
            .await
            .unwrap();
        TestHub {
            hub: Some(running),
            config,
            dir,
            clock,
        }
    }

    pub fn url(&self) -> String {
        self.hub.as_ref().unwrap().url.clone()
    }

    /// The hub's SQLite file, for tests that read it directly (they run on SQLite only).
    pub fn db(&self) -> PathBuf {
        match &self.config.database {
            Database::Sqlite(path) => path.clone(),
            Database::Postgres(_) => panic!(
                "this test reads the hub's SQLite file, and the hub is on PostgreSQL: read \
                 through `rows`, `value` or `with_db`, which work on both"
            ),
        }
    }

    /// Runs `f` on a connection of its own to the hub's database, either engine (off the
    /// async threads): how a test checks what the hub stored.
    pub fn with_db<T: Send>(&self, f: impl FnOnce(Sql<'_>) -> T + Send) -> T {
        let location = self.location();
        blocking(move || {
            let conn = store::connect(&location).expect("open the hub's database");
            f(conn.sql())
        })
    }

    /// The rows of `statement` (written for both engines: `?1` parameters).
    pub fn rows(&self, statement: &str, args: &[Value]) -> Vec<Row> {
        self.with_db(|sql| {
            sql.query_all(statement, args)
                .unwrap_or_else(|e| panic!("{statement}: {e}"))
        })
    }

    /// The one value of `statement`'s first row (`SELECT count(*) ...`), `None` when
    /// there is no row.
    pub fn value<T: FromValue + Send>(&self, statement: &str, args: &[Value]) -> Option<T> {
        self.rows(statement, args)
            .first()
            .map(|row| row.get(0).unwrap_or_else(|e| panic!("{statement}: {e}")))
    }

    /// hub.toml naming this hub's database (and its files), for `sportello hub --config`.
    pub fn hub_toml(&self) -> PathBuf {
        let file = self.dir.path().join("hub.toml");
        let data_dir = match &self.config.data_dir {
            Some(dir) => format!("data_dir = \"{}\"\n", dir.display()),
            None => String::new(),
        };
        std::fs::write(
            &file,
            format!(
                "listen = \"127.0.0.1:0\"\ndatabase = \"{}\"\n{data_dir}",
                self.config.database
            ),
        )
        .unwrap();
        file
    }

    /// Where the hub's data is, for the set-up commands (`admin::...`).
    pub fn location(&self) -> Location {
        Location::of(&self.config)
    }

    /// Stops the server and starts it again on the same database and port.
    pub async fn restart(&mut self) {
        if let Some(h) = self.hub.take() {
            self.config.listen = h.addr;
            h.shutdown().await;
        }
        self.hub = Some(launch(&self.config, self.clock.as_ref()).await);
    }

    /// Adds office `code` (counters `Sportello 1` and `Sportello A`; `services` as
    /// `office add --service` takes them, all when `None`; `last_ticket` as
    /// `--last-ticket`, hub.toml's hours when `None`).
    pub fn add_office(
        &self,
        code: &str,
        name: &str,
        time_zone: &str,
        services: Option<&[&str]>,
        last_ticket: Option<&str>,
    ) {
        let location = self.location();
        let counters = ["Sportello 1".to_string(), "Sportello A".to_string()];
        let services: Option<Vec<String>> =
            services.map(|s| s.iter().map(|s| s.to_string()).collect());
        let catalogue = sportello::catalogue::Catalogue::builtin();
        let hours = sportello::hub::offices::hours_json(last_ticket, &[], &catalogue).unwrap();
        let office = sportello::hub::offices::NewOffice {
            code,
            name,
            time_zone,
            counters: &counters,
            services: services.as_deref(),
            hours: hours.as_deref(),
        };
        blocking(|| admin::add_office(&location, &office, &catalogue)).unwrap();
    }

    /// Enrolls a new kiosk and returns a client holding its token.
    pub async fn kiosk(&self, name: &str) -> HubClient {
        self.kiosk_in(sportello::hub::offices::CONFIGURED_CODE, name)
            .await
    }

    /// Enrolls a new kiosk of office `office` and returns a client holding its token.
    pub async fn kiosk_in(&self, office: &str, name: &str) -> HubClient {
        let location = self.location();
        let token = blocking(|| admin::create_enrollment_token_in(&location, office)).unwrap();
        let mut client = self.client();
        let enrolled = client
            .enroll(&EnrollRequest {
                enrollment_token: token,
                name: Some(name.to_string()),
                previous: None,
            })
            .await
            .unwrap();
        client.set_token(enrolled.token);
        client
    }

    /// A client without a token.
    pub fn client(&self) -> HubClient {
        HubClient::new(HubClientConfig::new(self.url())).unwrap()
    }

    /// Adds a clerk and logs them in.
    pub async fn clerk(&self, name: &str) -> Clerk {
        self.clerk_in(sportello::hub::offices::CONFIGURED_CODE, name)
            .await
    }

    /// Adds a clerk of office `office` and logs them in.
    pub async fn clerk_in(&self, office: &str, name: &str) -> Clerk {
        let location = self.location();
        blocking(|| admin::add_operator_in(&location, office, name, "password123")).unwrap();
        let clerk = Clerk::new(&self.url());
        clerk.login(name, "password123").await.unwrap();
        clerk
    }

    pub async fn stop(mut self) {
        if let Some(h) = self.hub.take() {
            h.shutdown().await;
        }
    }
}

async fn launch(config: &HubConfig, clock: Option<&ManualClock>) -> RunningHub {
    let clock: Arc<dyn Clock> = match clock {
        Some(c) => Arc::new(c.clone()),
        None => Arc::new(SystemClock),
    };
    hub::start(config.clone(), clock).await.unwrap()
}

/// Imports bookings (`code,time,service[,codice_fiscale]` lines) for `day`.
pub fn book(hub: &TestHub, day: chrono::NaiveDate, lines: &str) {
    let csv = hub
        .dir
        .path()
        .join(format!("bookings-{}.csv", Uuid::new_v4()));
    std::fs::write(&csv, format!("code,time,service,codice_fiscale\n{lines}")).unwrap();
    let catalogue = sportello::catalogue::Catalogue::builtin();
    let location = hub.location();
    blocking(|| admin::import_appointments(&location, &catalogue, &csv, day)).unwrap();
}

/// A valid codice fiscale: `first15` and its check letter.
pub fn codice_fiscale(first15: &str) -> String {
    let letter = sportello::identity::codice_fiscale::check_letter(first15.as_bytes());
    format!("{first15}{letter}")
}

/// Today's office day in Rome by the system clock.
pub fn today_in_rome() -> chrono::NaiveDate {
    Utc::now()
        .with_timezone(&chrono_tz::Europe::Rome)
        .date_naive()
}

/// A ticket request for `service` with a fresh op_id.
pub fn ticket(service: &str) -> IssueTicketRequest {
    IssueTicketRequest {
        op_id: Uuid::new_v4(),
        service: service.to_string(),
        priority: false,
        lang: "it".to_string(),
        appointment: None,
        codice_fiscale: None,
        codice_fiscale_from_card: false,
        offline_number: None,
        issued_at: Utc::now().fixed_offset(),
    }
}

/// A clerk's browser-less session: JSON calls with the session cookie.
pub struct Clerk {
    http: reqwest::Client,
    base: String,
    cookie: std::sync::Mutex<Option<String>>,
}

/// A non-2xx answer from a counter endpoint.
#[derive(Debug)]
pub struct ClerkError {
    pub status: u16,
    pub code: String,
}

impl Clerk {
    pub fn new(base: &str) -> Clerk {
        Clerk {
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            base: base.to_string(),
            cookie: std::sync::Mutex::new(None),
        }
    }

    pub fn set_cookie_header(&self) -> Option<String> {
        self.cookie.lock().unwrap().clone()
    }

    pub async fn login(&self, name: &str, password: &str) -> Result<String, ClerkError> {
        let response = self
            .http
            .post(format!("{}/counter/api/login", self.base))
            .json(&serde_json::json!({ "name": name, "password": password }))
            .send()
            .await
            .unwrap();
        let set_cookie = response
            .headers()
            .get("set-cookie")
            .map(|v| v.to_str().unwrap().to_string());
        let status = response.status().as_u16();
        if status != 200 {
            let body: serde_json::Value = response.json().await.unwrap();
            return Err(ClerkError {
                status,
                code: body["error"]["code"].as_str().unwrap().to_string(),
            });
        }
        let set_cookie = set_cookie.unwrap();
        let pair = set_cookie.split(';').next().unwrap().to_string();
        *self.cookie.lock().unwrap() = Some(pair);
        Ok(set_cookie)
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: serde_json::Value,
    ) -> Result<serde_json::Value, ClerkError> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(cookie) = self.cookie.lock().unwrap().clone() {
            request = request.header("cookie", cookie);
        }
        if method != reqwest::Method::GET {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let value: serde_json::Value = response.json().await.unwrap();
        if (200..300).contains(&status) {
            Ok(value)
        } else {
            Err(ClerkError {
                status,
                code: value["error"]["code"].as_str().unwrap().to_string(),
            })
        }
    }

    pub async fn post(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> Result<serde_json::Value, ClerkError> {
        self.call(reqwest::Method::POST, path, body).await
    }

    pub async fn get(&self, path: &str) -> Result<serde_json::Value, ClerkError> {
        self.call(reqwest::Method::GET, path, serde_json::Value::Null)
            .await
    }

    pub async fn setup(&self, counter: &str, services: &[&str]) {
        self.post(
            "/counter/api/setup",
            serde_json::json!({ "counter": counter, "services": services }),
        )
        .await
        .unwrap();
    }

    /// Calls the next ticket; its number, or `None` when nobody waits.
    pub async fn next(&self) -> Result<Option<String>, ClerkError> {
        let v = self
            .post("/counter/api/next", serde_json::json!({}))
            .await?;
        Ok(v["ticket"]["number"].as_str().map(str::to_string))
    }
}
