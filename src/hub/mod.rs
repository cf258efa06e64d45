//! `sportello hub`: the office server that numbers tickets, drives counters and the
//! waiting-room board, and knows every kiosk.
//!
//! [`start`] opens the database, sets up TLS, builds the router and serves it on its own
//! task; [`run`] does the same for the command line and waits for Ctrl+C or SIGTERM.

pub mod admin;
pub mod appointments;
pub mod audit;
pub mod auth;
pub mod bands;
pub mod call_audio;
pub mod carried;
pub mod certificates;
pub mod charts;
pub mod clock;
pub mod counter;
pub mod counter_api;
pub mod csrf;
pub mod daily_reports;
pub mod display;
pub mod error;
pub mod events;
pub mod fleet;
pub mod fleet_updates;
pub mod headers;
pub mod host_check;
pub mod housekeeping;
pub mod issue_limit;
pub mod kiosk_api;
pub mod kiosk_tokens;
pub mod limits;
pub mod login;
pub mod login_confirm;
pub mod login_failures;
pub mod metrics;
pub mod numbering;
pub mod offices;
pub mod oidc;
pub mod pages;
pub mod pg_schema;
pub mod queue;
pub mod records;
pub mod reports;
pub mod reports_page;
pub mod sample_history;
pub mod signing;
pub mod sql;
pub mod state;
pub mod store;
pub mod throttle;
pub mod tickets;
pub mod tls;
pub mod tracking;
pub mod updates;
pub mod verify;
pub mod withdraw;
pub mod writer;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::routing::{MethodRouter, delete, get, post};
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;

use self::clock::Clock;
use self::error::ApiError;
use self::state::AppState;
use crate::catalogue::{Catalogue, CatalogueError};
use crate::config::hub::{Database, HubConfig};
use crate::protocol::paths;

/// Largest request body accepted, in bytes; kiosk requests are a few hundred.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Largest enrolment body: a kiosk enrolling again at a new hub carries up to
/// `MAX_CARRIED_NUMBERS` offline numbers (about 100 bytes each). Still read within the
/// body deadline, before the token is checked (docs/security.md).
pub const MAX_ENROLL_BODY_BYTES: usize = 256 * 1024;

/// Why the hub could not start.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// The services file is unusable.
    #[error(transparent)]
    Catalogue(#[from] CatalogueError),
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Database(#[from] store::OpenError),
    /// The certificate could not be loaded or created.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The reason.
        #[source]
        source: std::io::Error,
    },
    /// The certificate sealing key could not be loaded or created.
    #[error(transparent)]
    Signing(#[from] signing::SigningError),
    /// The time zone in the config is unknown (normally caught by validation).
    #[error("unknown time zone `{0}`")]
    TimeZone(String),
    /// A config key does not fit the catalogue the hub serves (e.g. `[hours.services]`
    /// naming a service the `services` file does not have).
    #[error("config key `{key}`: {problem}")]
    Config {
        /// The dotted key.
        key: String,
        /// What is wrong.
        problem: String,
    },
}

/// The documented kiosk API and service endpoints: (method, path, handler). The router
/// is built from this table and `docs/openapi.json` is checked against it.
fn documented() -> Vec<(&'static str, &'static str, MethodRouter<AppState>)> {
    vec![
        (
            "POST",
            paths::ENROLL,
            post(kiosk_api::enroll).layer(DefaultBodyLimit::max(MAX_ENROLL_BODY_BYTES)),
        ),
        ("GET", paths::CATALOGUE, get(kiosk_api::catalogue)),
        ("POST", paths::TICKETS, post(kiosk_api::issue_ticket)),
        ("GET", paths::TICKET, get(kiosk_api::ticket_status)),
        (
            "GET",
            paths::TICKET_BY_NUMBER,
            get(kiosk_api::ticket_by_number),
        ),
        ("POST", paths::WITHDRAWALS, post(kiosk_api::withdraw)),
        ("GET", paths::QUEUES, get(kiosk_api::queues)),
        ("POST", paths::BANDS, post(kiosk_api::lease_bands)),
        ("POST", paths::HEARTBEAT, post(kiosk_api::heartbeat)),
        ("GET", paths::UPDATE_BUNDLE, get(kiosk_api::update_bundle)),
        ("POST", paths::LOGIN_SESSIONS, post(login::create_session)),
        ("GET", paths::LOGIN_SESSION, get(login::session_status)),
        ("DELETE", paths::LOGIN_SESSION, delete(login::end_session)),
        ("GET", paths::LOGIN_APPLICATIONS, get(login::applications)),
        (
            "GET",
            paths::LOGIN_CERTIFICATES,
            get(login::certificate_offers),
        ),
        (
            "POST",
            paths::LOGIN_CERTIFICATES,
            post(login::issue_certificate),
        ),
        ("GET", paths::KEYS, get(keys)),
        ("GET", "/healthz", get(healthz)),
        ("GET", "/metrics", get(metrics::metrics)),
    ]
}

/// `GET /api/v1/keys`: the public key(s) of certificate seals, as a JWK Set.
async fn keys(State(state): State<AppState>) -> axum::Json<crate::protocol::KeysResponse> {
    axum::Json(crate::protocol::KeysResponse {
        keys: vec![state.seal_key.public().jwk()],
    })
}

/// (method, path) of every route `docs/openapi.json` must describe.
pub fn documented_routes() -> Vec<(&'static str, &'static str)> {
    documented().into_iter().map(|(m, p, _)| (m, p)).collect()
}

/// `GET /healthz`: 200 when the database answers.
async fn healthz(State(state): State<AppState>) -> Result<axum::Json<serde_json::Value>, ApiError> {
    state
        .db
        .read(|conn| Ok(conn.sql().query_one("SELECT 1", &[])?))
        .await
        .map_err(|_| {
            ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "database_unavailable",
                "the database does not answer",
            )
        })?;
    Ok(axum::Json(serde_json::json!({ "status": "ok" })))
}

/// The pages and their JSON helpers, outside the documented kiosk API: (method, path,
/// handler).
fn pages() -> Vec<(&'static str, &'static str, MethodRouter<AppState>)> {
    vec![
        ("GET", "/", get(pages::index)),
        ("GET", "/counter", get(pages::counter)),
        ("GET", "/display", get(pages::display)),
        ("GET", "/fleet", get(pages::fleet)),
        ("GET", "/audit", get(pages::audit)),
        ("GET", "/reports", get(pages::reports)),
        ("GET", "/reports/view", get(reports_page::view)),
        ("GET", "/reports/summary", get(reports_page::summary)),
        ("GET", "/reports/api/report", get(reports_page::report_json)),
        (
            "GET",
            "/reports/export/{file}",
            get(reports_page::export_csv),
        ),
        ("GET", "/audit/api/events", get(audit::events)),
        ("POST", "/audit/api/events", post(audit::search)),
        ("GET", "/login/callback", get(login::login_callback)),
        ("GET", "/login/{token}", get(login_confirm::confirm_page)),
        ("POST", "/login/{token}", post(login_confirm::confirm)),
        ("GET", "/verify", get(verify::verify_page)),
        ("GET", paths::VERIFY_API, get(verify::verify_api)),
        ("GET", "/t", get(tracking::tracking_page)),
        ("GET", "/t/", get(tracking::tracking_page)),
        ("GET", "/t/{reference}", get(tracking::tracking_page)),
        ("GET", "/assets/{file}", get(pages::asset)),
        ("GET", "/display/state", get(display::display_state)),
        ("GET", "/display/events", get(display::display_events)),
        ("GET", "/display/calls/{file}", get(call_audio::call_wav)),
        ("POST", "/counter/api/login", post(counter_api::login)),
        ("POST", "/counter/api/logout", post(counter_api::logout)),
        ("GET", "/counter/api/state", get(counter_api::counter_state)),
        ("POST", "/counter/api/setup", post(counter_api::setup)),
        ("POST", "/counter/api/next", post(counter_api::call_next)),
        ("POST", "/counter/api/recall", post(counter_api::recall)),
        ("POST", "/counter/api/serving", post(counter_api::serving)),
        ("POST", "/counter/api/done", post(counter_api::done)),
        ("POST", "/counter/api/no-show", post(counter_api::no_show)),
        ("POST", "/counter/api/transfer", post(counter_api::transfer)),
        ("GET", "/fleet/api/kiosks", get(fleet::kiosks)),
        (
            "POST",
            "/fleet/api/kiosks/{kiosk_id}/disabled",
            post(fleet::set_disabled),
        ),
        ("GET", "/fleet/api/updates", get(fleet_updates::view)),
        (
            "POST",
            "/fleet/api/updates/rollout",
            post(fleet_updates::start),
        ),
        ("POST", "/fleet/api/updates/stop", post(fleet_updates::stop)),
    ]
}

/// (method, path) of every route the hub serves: the kiosk API and the pages.
pub fn all_routes() -> Vec<(&'static str, &'static str)> {
    documented()
        .into_iter()
        .chain(pages())
        .map(|(m, p, _)| (m, p))
        .collect()
}

/// Builds the whole router over `state`.
pub fn router(state: AppState) -> Router {
    // Several entries may share a path (one per method): merge them.
    let mut routes: Vec<(&'static str, MethodRouter<AppState>)> = Vec::new();
    for (_, path, handler) in documented().into_iter().chain(pages()) {
        match routes.iter().position(|(p, _)| *p == path) {
            Some(i) => {
                let (p, existing) = routes.remove(i);
                routes.insert(i, (p, existing.merge(handler)));
            }
            None => routes.push((path, handler)),
        }
    }
    let mut app = Router::new();
    for (path, handler) in routes {
        app = app.route(path, handler);
    }
    app.fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(csrf::same_origin_json))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::body_deadline,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            host_check::known_host,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            headers::security_headers,
        ))
        .with_state(state)
}

/// The catalogue the hub serves: the `services` file if configured, else the built-in.
pub fn load_catalogue(config: &HubConfig) -> Result<Catalogue, HubError> {
    Ok(match &config.services {
        Some(path) => Catalogue::load(path)?,
        None => Catalogue::builtin(),
    })
}

/// A hub serving on its own task.
pub struct RunningHub {
    /// The bound address (the real port when the config said port 0).
    pub addr: SocketAddr,
    /// `https://addr` or, with TLS off, `http://addr`.
    pub url: String,
    /// SHA-256 fingerprint of the certificate, for kiosk.toml; `None` without TLS.
    pub fingerprint: Option<String>,
    /// Where the certificate lives, with TLS.
    pub certificate_path: Option<std::path::PathBuf>,
    handle: Handle<SocketAddr>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    housekeeping: tokio::task::JoinHandle<()>,
}

impl RunningHub {
    /// Stops accepting, lets requests in flight finish (up to 5 s), and waits.
    pub async fn shutdown(self) {
        self.handle.graceful_shutdown(Some(Duration::from_secs(5)));
        let _ = self.task.await;
        self.housekeeping.abort();
    }
}

/// Opens everything `config` names and starts serving on `config.listen`.
pub async fn start(config: HubConfig, clock: Arc<dyn Clock>) -> Result<RunningHub, HubError> {
    let listen = config.listen;
    let listener = std::net::TcpListener::bind(listen).map_err(|source| HubError::Listen {
        addr: listen,
        source,
    })?;
    start_on(config, clock, listener).await
}

/// Like [`start`], on a listener already bound (tests bind first to learn the port, e.g.
/// to register the login callback with an identity provider before the hub starts).
pub async fn start_on(
    config: HubConfig,
    clock: Arc<dyn Clock>,
    listener: std::net::TcpListener,
) -> Result<RunningHub, HubError> {
    let tz: chrono_tz::Tz = config
        .time_zone
        .parse()
        .map_err(|_| HubError::TimeZone(config.time_zone.clone()))?;
    let catalogue = load_catalogue(&config)?;
    config
        .hours
        .check_services(&catalogue)
        .and_then(|()| config.waiting.check(&catalogue))
        .and_then(|()| config.reports.check_services(&catalogue))
        .map_err(|invalid| HubError::Config {
            key: invalid.key().to_string(),
            problem: invalid.problem().to_string(),
        })?;
    let listen = config.listen;
    let addr = listener.local_addr().map_err(|source| HubError::Listen {
        addr: listen,
        source,
    })?;
    let location = store::Location::of(&config);
    // Off the async threads: PostgreSQL's client blocks while it connects and migrates.
    let db = {
        let location = location.clone();
        tokio::task::spawn_blocking(move || store::Db::open(&location))
            .await
            .map_err(|e| HubError::Config {
                key: "database".to_string(),
                problem: format!("opening it stopped: {e}"),
            })??
    };
    {
        let config = config.clone();
        db.write(move |conn| Ok(offices::sync_configured(&*conn, &config)?))
            .await
            .map_err(|e| HubError::Config {
                key: "database".to_string(),
                problem: format!("cannot write office 1 from hub.toml: {}", e.message),
            })?;
    }
    let tls = tls::identity(&config)?;
    let seal_key = signing::load_or_create(&signing::key_path(&config))?;
    let url = match tls {
        Some(_) => format!("https://{addr}"),
        None => format!("http://{addr}"),
    };
    let public_base: String = config
        .oidc
        .as_ref()
        .and_then(|o| o.redirect_base.clone())
        .unwrap_or_else(|| url.clone())
        .trim_end_matches('/')
        .to_string();
    let oidc = match &config.oidc {
        None => None,
        Some(o) => {
            let secret = match (&o.client_secret, &o.client_secret_file) {
                (Some(secret), _) => secret.clone(),
                (None, Some(file)) => std::fs::read_to_string(file)
                    .map_err(|e| HubError::Config {
                        key: "oidc.client_secret_file".to_string(),
                        problem: format!("cannot read {}: {e}", file.display()),
                    })?
                    .lines()
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_string(),
                (None, None) => String::new(),
            };
            if secret.is_empty() {
                return Err(HubError::Config {
                    key: "oidc.client_secret_file".to_string(),
                    problem: "the client secret is empty".to_string(),
                });
            }
            let rp = oidc::Oidc::new(o, secret, &public_base).map_err(|e| HubError::Config {
                key: "oidc".to_string(),
                problem: e.to_string(),
            })?;
            Some(Arc::new(rp))
        }
    };
    let (_, etag) = kiosk_api::catalogue_body(&kiosk_api::catalogue_response(&config, &catalogue));
    let state = AppState {
        db: db.clone(),
        catalogue: Arc::new(catalogue),
        catalogue_etag: etag.into(),
        config: Arc::new(config.clone()),
        offices: Arc::new(offices::Offices::new(offices::configured(&config, tz))),
        clock,
        events: match &location.database {
            Database::Sqlite(_) => events::Events::new(),
            Database::Postgres(url) => events::Events::through_database(db.clone(), url.clone())
                .map_err(|e| HubError::Config {
                    key: "database".to_string(),
                    problem: format!("cannot start the listener of calls: {e}"),
                })?,
        },
        call_audio: Arc::new(call_audio::CallAudio::new(
            crate::speech::espeak::Engine::default(),
            config.display.call_languages.clone(),
        )),
        metrics: Arc::new(metrics::Metrics::default()),
        secure_cookies: tls.is_some(),
        last_seen: Arc::new(Mutex::new(HashMap::new())),
        kiosk_tokens: Arc::new(kiosk_tokens::KioskTokens::watching(location.kiosks_stamp())),
        display_streams: Arc::new(limits::DisplayStreams::default()),
        issue_limit: Arc::new(issue_limit::IssueLimit::new(
            config.queue.kiosk_tickets_per_minute,
        )),
        login_throttle: Arc::new(throttle::LoginThrottle::default()),
        oidc,
        seal_key: Arc::new(seal_key),
        known_hosts: Arc::new(host_check::KnownHosts::new(
            &config.allowed_hosts,
            Some(&public_base),
        )),
        public_base: public_base.into(),
    };
    let housekeeping = housekeeping::spawn(state.clone());
    let app = router(state);
    let handle = Handle::new();
    let header_timeout = Duration::from_secs(u64::from(config.client_header_seconds));
    // The peer address for the per-address login limits (`auth::ClientIp`).
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    let (fingerprint, certificate_path, task) = match tls {
        Some(identity) => {
            let rustls = RustlsConfig::from_config(identity.server_config.clone());
            let server = axum_server::from_tcp_rustls(listener, rustls)
                .map_err(|source| HubError::Listen {
                    addr: listen,
                    source,
                })?
                .handle(handle.clone());
            let server = drop_slow_clients(server, header_timeout);
            (
                Some(identity.fingerprint),
                Some(identity.certificate_path),
                tokio::spawn(server.serve(service)),
            )
        }
        None => {
            let server = axum_server::from_tcp(listener)
                .map_err(|source| HubError::Listen {
                    addr: listen,
                    source,
                })?
                .handle(handle.clone());
            let server = drop_slow_clients(server, header_timeout);
            (None, None, tokio::spawn(server.serve(service)))
        }
    };
    Ok(RunningHub {
        addr,
        url,
        fingerprint,
        certificate_path,
        handle,
        task,
        housekeeping,
    })
}

/// Bounds how long a client may take to send a request's headers: the first request on
/// a connection and every later one (hyper's header read timeout, off by default in
/// axum-server; it runs from the previous answer, so it also closes idle kept-alive
/// connections). The TLS handshake has its own 10 s bound in axum-server.
fn drop_slow_clients<A>(
    server: axum_server::Server<SocketAddr, A>,
    timeout: Duration,
) -> axum_server::Server<SocketAddr, A> {
    // Nothing here needs HTTP/2, and its connections outlived every timeout above
    // (security finding 4): HTTP/1.1 only, also over TLS.
    let mut server = server.http1_only();
    server.http_builder().http1().header_read_timeout(timeout);
    server.first_request_timeout(timeout)
}

/// `sportello hub --config FILE`: serves until Ctrl+C or SIGTERM.
pub async fn run(config: HubConfig) -> Result<(), HubError> {
    let office = config.office_name.clone();
    let hub = start(config, Arc::new(clock::SystemClock)).await?;
    tracing::info!(url = %hub.url, office = %office, "hub listening");
    println!("sportello hub: listening on {}", hub.url);
    if let Some(fp) = &hub.fingerprint {
        println!("certificate SHA-256 (kiosk.toml [hub] certificate_sha256):\n  {fp}");
    }
    shutdown_signal().await;
    println!("sportello hub: stopping");
    hub.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
