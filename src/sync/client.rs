//! `HubClient`: the kiosk's typed, async client of the hub's `/api/v1`.
//!
//! Every method returns a [`ClientError`] that says what to do next: retry later
//! (unreachable, timeout, 5xx), stop and show out-of-service (disabled), or give up on
//! this request (rejected, conflict). TLS is rustls; with a pin, only the hub's own
//! certificate is accepted (see [`super::pin`]).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use reqwest::header::{ETAG, IF_NONE_MATCH};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::config::check_hub_url;
use crate::lang::Lang;
use crate::pin;
use crate::protocol::{
    ApplicationStatus, BandsRequest, BandsResponse, CatalogueResponse, CertificateOffer,
    CreateLoginSessionRequest, EnrollRequest, EnrollResponse, ErrorBody, HeartbeatRequest,
    HeartbeatResponse, IssueCertificateRequest, IssueTicketRequest, IssuedCertificate,
    KeysResponse, LoginSessionCreated, LoginSessionStatus, QueuesResponse, TicketResponse,
    TicketStatusResponse, UpdateOffer, WithdrawRequest, WithdrawResponse,
};
use crate::protocol::{errors, paths};

/// How to reach a hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubClientConfig {
    /// `https://host:port` (or `http://` on loopback).
    pub base_url: String,
    /// SHA-256 fingerprint of the hub's certificate (hex, colons optional).
    pub certificate_sha256: Option<String>,
    /// The kiosk's bearer token, once enrolled.
    pub token: Option<String>,
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Time allowed for a whole request.
    pub timeout: Duration,
}

impl HubClientConfig {
    /// A config for `base_url` with 5 s to connect and 10 s per request.
    pub fn new(base_url: impl Into<String>) -> HubClientConfig {
        HubClientConfig {
            base_url: base_url.into(),
            certificate_sha256: None,
            token: None,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
        }
    }
}

/// What went wrong talking to the hub, sorted by what the caller should do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// No answer (network down, hub off, timeout): retry later.
    #[error("hub unreachable: {0}")]
    Unreachable(String),
    /// The server's certificate is not the pinned one: wrong hub or a new certificate.
    #[error("the hub's certificate does not match the pinned fingerprint")]
    PinMismatch,
    /// 403: the office disabled this kiosk; show the out-of-service screen.
    #[error("this kiosk is disabled by the office: {message}")]
    Disabled {
        /// The hub's message.
        message: String,
    },
    /// 4xx: the hub refused this request; sending it again will not help.
    #[error("hub rejected the request ({status}, {code}): {message}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// The hub's error code.
        code: String,
        /// The hub's message.
        message: String,
    },
    /// 409: the request conflicts with what the hub already has (e.g. an op_id reused).
    #[error("hub reports a conflict ({code}): {message}")]
    Conflict {
        /// The hub's error code.
        code: String,
        /// The hub's message.
        message: String,
    },
    /// 5xx: the hub failed; retry later.
    #[error("hub error {status}: {message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The hub's message, if any.
        message: String,
    },
    /// The answer could not be read (a proxy page, a truncated body): retry later.
    #[error("unreadable answer from the hub: {0}")]
    BadResponse(String),
    /// The client itself is misconfigured (bad URL or pin).
    #[error("hub client set-up: {0}")]
    Config(String),
}

impl ClientError {
    /// Whether the same request may succeed later without any change.
    pub fn retry_later(&self) -> bool {
        matches!(
            self,
            ClientError::Unreachable(_) | ClientError::Server { .. } | ClientError::BadResponse(_)
        ) || self.is_refusal(&[errors::TOO_MANY_TICKETS])
    }

    /// The hub's stable code (`protocol::errors`) when it refused the request.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Rejected { code, .. } | ClientError::Conflict { code, .. } => Some(code),
            ClientError::Disabled { .. } => Some(errors::KIOSK_DISABLED),
            _ => None,
        }
    }

    /// Whether the hub refused the request with one of `codes`.
    pub fn is_refusal(&self, codes: &[&str]) -> bool {
        self.code().is_some_and(|code| codes.contains(&code))
    }

    /// A short reference for the staff: the hub's code, or what kind of failure it was.
    pub fn reference(&self) -> &str {
        match self {
            ClientError::Unreachable(_) => "hub_unreachable",
            ClientError::PinMismatch => "pin_mismatch",
            ClientError::Server { .. } => "hub_error",
            ClientError::BadResponse(_) => "bad_response",
            ClientError::Config(_) => "client_config",
            other => other.code().unwrap_or("refused"),
        }
    }
}

/// How long one download of an update may run (a few hundred megabytes on a slow office
/// line); a download cut short resumes where it stopped.
const DOWNLOAD_LIMIT: Duration = Duration::from_secs(3600);

/// SHA-256 of a file, in hex.
fn file_sha256(path: &Path) -> std::io::Result<String> {
    use sha2::Digest;
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = sha2::Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Runs a hub call with a time limit; running out of time counts as unreachable.
pub async fn bounded<T>(
    limit: Duration,
    call: impl Future<Output = Result<T, ClientError>>,
) -> Result<T, ClientError> {
    tokio::time::timeout(limit, call)
        .await
        .unwrap_or_else(|_| Err(ClientError::Unreachable("timeout".into())))
}

/// A numbered ticket and whether the hub had already applied this op_id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    /// The hub's answer.
    pub ticket: TicketResponse,
    /// `true` when the hub answered a replay (200) rather than issuing now (201).
    pub replayed: bool,
}

/// The catalogue, or the news that the cached one is current.
#[derive(Debug, Clone, PartialEq)]
pub enum CatalogueFetch {
    /// The ETag matched: keep the cached catalogue.
    NotModified,
    /// A new catalogue and its ETag.
    Changed {
        /// ETag to send next time.
        etag: Option<String>,
        /// The services.
        catalogue: CatalogueResponse,
    },
}

/// A client of one hub; cheap to clone.
#[derive(Debug, Clone)]
pub struct HubClient {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
    pin_mismatch: Arc<AtomicBool>,
}

impl HubClient {
    /// Builds a client; fails only on a bad URL, a bad pin or a pin on plain HTTP.
    pub fn new(config: HubClientConfig) -> Result<HubClient, ClientError> {
        check_hub_url(&config.base_url).map_err(ClientError::Config)?;
        let base = config.base_url.trim_end_matches('/').to_string();
        let pin_mismatch = Arc::new(AtomicBool::new(false));
        let mut builder = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .no_proxy()
            // A fresh connection per request: a kiosk sends a few requests a minute, and
            // office networks and Wi-Fi drop idle connections without telling anyone, which
            // would turn the next request into a timeout.
            .pool_max_idle_per_host(0)
            .user_agent(concat!("sportello-kiosk/", env!("CARGO_PKG_VERSION")));
        if let Some(text) = &config.certificate_sha256 {
            if !base.starts_with("https://") {
                return Err(ClientError::Config(
                    "a certificate pin needs an https:// URL".to_string(),
                ));
            }
            let pin = pin::parse_pin(text).map_err(ClientError::Config)?;
            let tls = pin::client_config(pin, pin_mismatch.clone())
                .map_err(|e| ClientError::Config(e.to_string()))?;
            builder = builder.use_preconfigured_tls(tls);
        }
        let http = builder
            .build()
            .map_err(|e| ClientError::Config(e.to_string()))?;
        Ok(HubClient {
            http,
            base,
            token: config.token,
            pin_mismatch,
        })
    }

    /// Sets the bearer token (after enrolling).
    pub fn set_token(&mut self, token: impl Into<String>) {
        self.token = Some(token.into());
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let builder = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    async fn send(&self, builder: RequestBuilder) -> Result<Response, ClientError> {
        self.pin_mismatch.store(false, Ordering::SeqCst);
        let response = builder.send().await.map_err(|e| {
            if self.pin_mismatch.load(Ordering::SeqCst) {
                ClientError::PinMismatch
            } else {
                ClientError::Unreachable(crate::logging::error_chain(&e))
            }
        })?;
        let status = response.status();
        if status.is_success() || status == StatusCode::NOT_MODIFIED {
            return Ok(response);
        }
        let text = response.text().await.unwrap_or_default();
        let (code, message) = match serde_json::from_str::<ErrorBody>(&text) {
            Ok(body) => (body.error.code, body.error.message),
            Err(_) => (
                format!("http_{}", status.as_u16()),
                text.chars().take(200).collect(),
            ),
        };
        Err(match status {
            StatusCode::FORBIDDEN => ClientError::Disabled { message },
            StatusCode::CONFLICT => ClientError::Conflict { code, message },
            s if s.is_server_error() => ClientError::Server {
                status: s.as_u16(),
                message,
            },
            s => ClientError::Rejected {
                status: s.as_u16(),
                code,
                message,
            },
        })
    }

    async fn json<T: DeserializeOwned>(response: Response) -> Result<T, ClientError> {
        let bytes = response
            .bytes()
            .await
            .map_err(|e| ClientError::Unreachable(crate::logging::error_chain(&e)))?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::BadResponse(e.to_string()))
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, ClientError> {
        let mut builder = self.request(method, path);
        if let Some(body) = body {
            builder = builder.json(body);
        }
        let response = self.send(builder).await?;
        Self::json(response).await
    }

    /// `POST /api/v1/kiosks/enroll`: trades a one-time enrollment token for a kiosk token.
    pub async fn enroll(&self, request: &EnrollRequest) -> Result<EnrollResponse, ClientError> {
        self.call(Method::POST, paths::ENROLL, Some(request)).await
    }

    /// `GET /api/v1/catalogue`, sending `If-None-Match: etag` when given.
    pub async fn catalogue(&self, etag: Option<&str>) -> Result<CatalogueFetch, ClientError> {
        // The names in every language this kiosk ships (the hub sends only those).
        let languages: Vec<&str> = Lang::all().map(Lang::code).collect();
        let mut builder = self
            .request(Method::GET, paths::CATALOGUE)
            .query(&[("languages", languages.join(","))]);
        if let Some(etag) = etag {
            builder = builder.header(IF_NONE_MATCH, etag);
        }
        let response = self.send(builder).await?;
        if response.status() == StatusCode::NOT_MODIFIED {
            return Ok(CatalogueFetch::NotModified);
        }
        let etag = response
            .headers()
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let catalogue = Self::json(response).await?;
        Ok(CatalogueFetch::Changed { etag, catalogue })
    }

    /// `POST /api/v1/tickets`: numbers a ticket; a replay of the op_id gets the same body.
    pub async fn issue_ticket(&self, request: &IssueTicketRequest) -> Result<Issued, ClientError> {
        let response = self
            .send(self.request(Method::POST, paths::TICKETS).json(request))
            .await?;
        let replayed = response.status() == StatusCode::OK;
        let ticket = Self::json(response).await?;
        Ok(Issued { ticket, replayed })
    }

    /// `POST /api/v1/withdrawals`: a ticket operation this kiosk never handed over.
    pub async fn withdraw(
        &self,
        request: &WithdrawRequest,
    ) -> Result<WithdrawResponse, ClientError> {
        let response = self
            .send(self.request(Method::POST, paths::WITHDRAWALS).json(request))
            .await?;
        Self::json(response).await
    }

    /// `GET /api/v1/tickets/{id}`.
    pub async fn ticket_status(
        &self,
        ticket_id: Uuid,
    ) -> Result<TicketStatusResponse, ClientError> {
        self.call::<(), _>(
            Method::GET,
            &paths::fill(paths::TICKET, &ticket_id.to_string()),
            None,
        )
        .await
    }

    /// `GET /api/v1/tickets/{reference}` with a ticket id or the op_id that issued the
    /// ticket, as text (the kiosk's tracking id, e.g. read back from a QR code). An
    /// unknown reference is `Rejected { status: 404, .. }`; one that is not a UUID,
    /// `Rejected { status: 400, .. }`.
    pub async fn ticket_status_by_ref(
        &self,
        reference: &str,
    ) -> Result<TicketStatusResponse, ClientError> {
        let segment = path_segment(reference, errors::BAD_TICKET_ID)?;
        self.call::<(), _>(Method::GET, &paths::fill(paths::TICKET, &segment), None)
            .await
    }

    /// `GET /api/v1/tickets/by-number/{number}`: today's ticket with a display number
    /// such as `N007` (any case). Unknown: `Rejected { status: 404, .. }`; not a letter
    /// and three digits: `Rejected { status: 400, .. }`.
    pub async fn ticket_by_number(
        &self,
        number: &str,
    ) -> Result<TicketStatusResponse, ClientError> {
        let segment = path_segment(number, errors::BAD_NUMBER)?;
        let path = paths::fill(paths::TICKET_BY_NUMBER, &segment);
        self.call::<(), _>(Method::GET, &path, None).await
    }

    /// `GET /api/v1/queues`.
    pub async fn queues(&self) -> Result<QueuesResponse, ClientError> {
        self.call::<(), _>(Method::GET, paths::QUEUES, None).await
    }

    /// `POST /api/v1/bands`: numbers to use while the hub is unreachable.
    pub async fn lease_bands(&self, request: &BandsRequest) -> Result<BandsResponse, ClientError> {
        self.call(Method::POST, paths::BANDS, Some(request)).await
    }

    /// `POST /api/v1/kiosks/heartbeat`.
    pub async fn heartbeat(
        &self,
        request: &HeartbeatRequest,
    ) -> Result<HeartbeatResponse, ClientError> {
        self.call(Method::POST, paths::HEARTBEAT, Some(request))
            .await
    }

    /// Fetches the update bundle the hub offered into `dest`, over this client's pinned
    /// link and token. A try cut short leaves `dest` + `.part`, which the next try resumes
    /// (`Range`); `dest` appears only once the size and SHA-256 match the offer, and a
    /// partial file that does not is deleted (the next try starts afresh).
    pub async fn download_update(
        &self,
        offer: &UpdateOffer,
        dest: &Path,
    ) -> Result<(), ClientError> {
        use tokio::io::AsyncWriteExt;
        if !offer.path.starts_with("/api/v1/updates/") {
            return Err(ClientError::BadResponse(format!(
                "an update offered at `{}`, not under /api/v1/updates/",
                offer.path
            )));
        }
        let io = |what: &str, e: std::io::Error| ClientError::Config(format!("{what}: {e}"));
        // Already here whole (a restart cut the installation short after the download):
        // not fetched again. A second copy beside it would not fit a kiosk's data partition
        // (the image showed "No space left on device" after a power cut mid-install).
        if tokio::fs::metadata(dest)
            .await
            .is_ok_and(|m| m.len() == offer.size)
        {
            let check = dest.to_path_buf();
            let sha256 = tokio::task::spawn_blocking(move || file_sha256(&check))
                .await
                .map_err(|e| ClientError::Config(e.to_string()))?
                .map_err(|e| io("cannot read the update", e))?;
            if sha256.eq_ignore_ascii_case(&offer.sha256) {
                return Ok(());
            }
        }
        // Anything else under that name is not the bundle: make room before fetching it.
        let _ = tokio::fs::remove_file(dest).await;
        let mut partial_name = dest.as_os_str().to_owned();
        partial_name.push(".part");
        let partial = std::path::PathBuf::from(partial_name);
        let have = tokio::fs::metadata(&partial)
            .await
            .map(|m| m.len())
            .unwrap_or(0);
        let from = if have < offer.size { have } else { 0 };
        let mut builder = self
            .request(Method::GET, &offer.path)
            .timeout(DOWNLOAD_LIMIT);
        if from > 0 {
            builder = builder.header(reqwest::header::RANGE, format!("bytes={from}-"));
        }
        let mut response = self.send(builder).await?;
        let resumed = response.status() == StatusCode::PARTIAL_CONTENT;
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(resumed)
            .truncate(!resumed)
            .open(&partial)
            .await
            .map_err(|e| io("cannot write the update", e))?;
        let mut written = if resumed { from } else { 0 };
        while let Some(piece) = response
            .chunk()
            .await
            .map_err(|e| ClientError::Unreachable(crate::logging::error_chain(&e)))?
        {
            written += piece.len() as u64;
            if written > offer.size {
                drop(file);
                let _ = tokio::fs::remove_file(&partial).await;
                return Err(ClientError::BadResponse(format!(
                    "the update is longer than the {} bytes offered",
                    offer.size
                )));
            }
            file.write_all(&piece)
                .await
                .map_err(|e| io("cannot write the update", e))?;
        }
        file.sync_all()
            .await
            .map_err(|e| io("cannot write the update", e))?;
        drop(file);
        if written < offer.size {
            return Err(ClientError::Unreachable(format!(
                "the download stopped at {written} of {} bytes",
                offer.size
            )));
        }
        let check = partial.clone();
        let sha256 = tokio::task::spawn_blocking(move || file_sha256(&check))
            .await
            .map_err(|e| ClientError::Config(e.to_string()))?
            .map_err(|e| io("cannot read the update", e))?;
        if !sha256.eq_ignore_ascii_case(&offer.sha256) {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(ClientError::BadResponse(format!(
                "the update's SHA-256 is {sha256}, the hub offered {}",
                offer.sha256
            )));
        }
        tokio::fs::rename(&partial, dest)
            .await
            .map_err(|e| io("cannot keep the update", e))
    }

    /// `POST /api/v1/auth/sessions`: starts a citizen login; show `login_url` as a QR
    /// code and poll [`HubClient::login_session`]. Too many logins from this kiosk:
    /// `Rejected { status: 429, code: "too_many_logins" | "too_many_failed_logins" }`;
    /// no identity provider configured: `Server { status: 503, .. }`.
    pub async fn create_login_session(
        &self,
        request: &CreateLoginSessionRequest,
    ) -> Result<LoginSessionCreated, ClientError> {
        self.call(Method::POST, paths::LOGIN_SESSIONS, Some(request))
            .await
    }

    /// `GET /api/v1/auth/sessions/{id}`: the session's state (poll every second or two).
    /// Another kiosk's or an unknown session: `Rejected { status: 404, .. }`.
    pub async fn login_session(&self, session_id: Uuid) -> Result<LoginSessionStatus, ClientError> {
        self.call::<(), _>(
            Method::GET,
            &paths::fill(paths::LOGIN_SESSION, &session_id.to_string()),
            None,
        )
        .await
    }

    /// `GET /api/v1/auth/sessions/{id}/applications?lang=`: the signed-in person's
    /// applications. Not signed in yet: `Conflict { code: "not_authenticated" }`; ended,
    /// expired or failed: `Rejected { status: 410, code: "session_ended" |
    /// "session_expired" | "login_failed" }`.
    pub async fn applications(
        &self,
        session_id: Uuid,
        lang: Lang,
    ) -> Result<Vec<ApplicationStatus>, ClientError> {
        let path = format!(
            "{}?lang={lang}",
            paths::fill(paths::LOGIN_APPLICATIONS, &session_id.to_string())
        );
        self.call::<(), _>(Method::GET, &path, None).await
    }

    /// `GET /api/v1/auth/sessions/{id}/certificates?lang=`: what the person can print
    /// (same errors as [`HubClient::applications`]).
    pub async fn certificates(
        &self,
        session_id: Uuid,
        lang: Lang,
    ) -> Result<Vec<CertificateOffer>, ClientError> {
        let path = format!(
            "{}?lang={lang}",
            paths::fill(paths::LOGIN_CERTIFICATES, &session_id.to_string())
        );
        self.call::<(), _>(Method::GET, &path, None).await
    }

    /// `POST /api/v1/auth/sessions/{id}/certificates`: issues and signs a certificate to
    /// print (`kiosk::documents::printable`). A kind not offered for this person:
    /// `Rejected { status: 422, code: "certificate_unavailable" | "unknown_certificate" }`.
    /// Print it, keep no copy, then call [`HubClient::end_login_session`].
    pub async fn issue_certificate(
        &self,
        session_id: Uuid,
        request: &IssueCertificateRequest,
    ) -> Result<IssuedCertificate, ClientError> {
        let path = paths::fill(paths::LOGIN_CERTIFICATES, &session_id.to_string());
        self.call(Method::POST, &path, Some(request)).await
    }

    /// `DELETE /api/v1/auth/sessions/{id}`: ends the session (finish, idle, after
    /// printing); ending an ended or expired session is fine.
    pub async fn end_login_session(&self, session_id: Uuid) -> Result<(), ClientError> {
        let path = paths::fill(paths::LOGIN_SESSION, &session_id.to_string());
        self.send(self.request(Method::DELETE, &path)).await?;
        Ok(())
    }

    /// `GET /api/v1/keys`: the public keys of certificate seals (no token needed).
    pub async fn seal_keys(&self) -> Result<KeysResponse, ClientError> {
        self.call::<(), _>(Method::GET, paths::KEYS, None).await
    }
}

/// Percent-encodes `text` (trimmed) as one URL path segment: everything but letters,
/// digits, `-`, `_` and `~`, so text typed or scanned by someone cannot change the path.
/// Empty text and dot segments (which URL parsing would resolve, encoded or not, to
/// another endpoint) are refused here with the 400 the hub gives any malformed reference.
fn path_segment(text: &str, code: &str) -> Result<String, ClientError> {
    let text = text.trim();
    if text.is_empty() || text.chars().all(|c| c == '.') {
        return Err(ClientError::Rejected {
            status: 400,
            code: code.to_string(),
            message: "not a ticket reference".to_string(),
        });
    }
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Ok(out)
}
