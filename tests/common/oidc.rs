//! The real OpenID Connect provider (tools/oidc-provider, the npm package oidc-provider)
//! as a child process, a hub registered with it, and a phone: a browser-like HTTP client
//! with a cookie jar that follows redirects, types the kiosk's code into the hub's
//! confirmation page and posts the provider's sign-in form.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sportello::config::hub::{HubConfig, OidcConfig};
use sportello::hub::clock::ManualClock;

use super::hub_setup::TestHub;

/// The client the provider knows the hub as.
pub const CLIENT_ID: &str = "sportello-hub";
/// Its secret.
pub const CLIENT_SECRET: &str = "sportello-test-secret";

/// A running provider; killed when dropped.
pub struct OidcProvider {
    pub issuer: String,
    child: Child,
    stderr: Arc<Mutex<String>>,
}

impl OidcProvider {
    /// Starts `scripts/oidc-provider` on a free loopback port, accepting `redirect_uri`.
    /// A provider that has not announced itself within its time is started once more: a
    /// CI run saw one Node.js process hang before it printed its line (2026-12-03, one
    /// start in some hundred; never seen again in the same tree).
    pub fn start(redirect_uri: &str) -> OidcProvider {
        match std::panic::catch_unwind(|| OidcProvider::start_once(redirect_uri, 90)) {
            Ok(provider) => provider,
            Err(panic) => {
                eprintln!("the OIDC provider did not start in 90 s: starting it once more");
                record_stall(&panic);
                OidcProvider::start_once(redirect_uri, 180)
            }
        }
    }

    fn start_once(redirect_uri: &str, wait_seconds: u64) -> OidcProvider {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/oidc-provider");
        let mut child = Command::new(script)
            .env("REDIRECT_URIS", redirect_uri)
            .env("CLIENT_ID", CLIENT_ID)
            .env("CLIENT_SECRET", CLIENT_SECRET)
            .env("EXIT_ON_STDIN_CLOSE", "1")
            .env("PORT", "0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {script}: {e}"));
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next());
            // Keep reading so the provider never blocks on a full pipe.
            for _ in lines {}
        });
        // npm ci may run first when the packages are not installed yet.
        let first = rx.recv_timeout(Duration::from_secs(wait_seconds));
        let line = match first {
            Ok(Some(Ok(line))) => line,
            other => {
                std::thread::sleep(Duration::from_millis(200));
                let status = child.try_wait().ok().flatten();
                let _ = child.kill();
                let _ = child.wait();
                let log = stderr.lock().unwrap().clone();
                if status.and_then(|s| s.code()) == Some(3) {
                    panic!(
                        "the login tests need Node.js (>= 20) and npm: run scripts/setup node\n{log}"
                    );
                }
                panic!("the OIDC provider did not start ({other:?}, {status:?}):\n{log}");
            }
        };
        let value: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|_| panic!("unexpected first line from the provider: {line}"));
        let issuer = value["issuer"].as_str().unwrap().to_string();
        OidcProvider {
            issuer,
            child,
            stderr,
        }
    }

    /// What the provider wrote to stderr so far.
    pub fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

/// Where stalled starts are written for `scripts/test` to show (a passing test's stderr
/// is swallowed, and the cause of the stalls is still unknown).
const STALLS_LOG: &str = concat!(env!("CARGO_TARGET_TMPDIR"), "/oidc-provider-stalls.log");

/// Appends what a stalled provider start left (its stderr, in the panic message).
fn record_stall(panic: &Box<dyn std::any::Any + Send>) {
    use std::io::Write;
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    let test = std::thread::current().name().unwrap_or("?").to_string();
    if let Ok(mut log) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(STALLS_LOG)
    {
        let _ = writeln!(log, "== {test}\n{message}\n");
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A hub with `[oidc]` pointing at a real provider that knows its callback.
pub struct AuthHub {
    pub hub: TestHub,
    pub provider: OidcProvider,
}

impl AuthHub {
    /// Binds the hub's port, starts the provider for its callback, then the hub.
    pub async fn start(change: impl FnOnce(&mut HubConfig), clock: Option<ManualClock>) -> AuthHub {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let provider = OidcProvider::start(&format!("http://127.0.0.1:{port}/login/callback"));
        let issuer = provider.issuer.clone();
        let hub = TestHub::start_on(
            listener,
            move |c| {
                c.oidc = Some(oidc_config(&issuer));
                change(c);
            },
            clock,
        )
        .await;
        AuthHub { hub, provider }
    }

    pub fn url(&self) -> String {
        self.hub.url()
    }

    pub async fn stop(self) {
        self.hub.stop().await;
    }
}

/// `[oidc]` for the local provider.
pub fn oidc_config(issuer: &str) -> OidcConfig {
    OidcConfig {
        issuer: issuer.to_string(),
        client_id: CLIENT_ID.to_string(),
        client_secret: Some(CLIENT_SECRET.to_string()),
        client_secret_file: None,
        redirect_base: None,
        scopes: vec!["openid".into(), "profile".into()],
        fiscal_number_claim: "fiscal_number".into(),
        acr_values: Vec::new(),
    }
}

/// What the phone ended up on.
#[derive(Debug)]
pub struct Landed {
    pub status: u16,
    pub url: String,
    pub body: String,
}

/// A phone's browser: cookies, redirects, forms.
pub struct Phone {
    pub http: reqwest::Client,
}

impl Default for Phone {
    fn default() -> Self {
        Phone::new()
    }
}

impl Phone {
    pub fn new() -> Phone {
        Phone {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .no_proxy()
                .redirect(reqwest::redirect::Policy::limited(10))
                .build()
                .unwrap(),
        }
    }

    /// A phone that does not follow redirects (to look at one step).
    pub fn without_redirects() -> Phone {
        Phone {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    pub async fn open(&self, url: &str) -> Landed {
        let response = self
            .http
            .get(url)
            .header("accept-language", "it-IT,it;q=0.9")
            .send()
            .await
            .unwrap();
        Landed {
            status: response.status().as_u16(),
            url: response.url().to_string(),
            body: response.text().await.unwrap(),
        }
    }

    /// Posts the provider's sign-in form found on `page`.
    pub async fn submit_login(&self, page: &Landed, login: &str, password: &str) -> Landed {
        let action = form_action(&page.body)
            .unwrap_or_else(|| panic!("no sign-in form on {}:\n{}", page.url, page.body));
        let base = url::Url::parse(&page.url).unwrap();
        let target = base.join(&action).unwrap();
        let response = self
            .http
            .post(target)
            .form(&[("login", login), ("password", password)])
            .send()
            .await
            .unwrap();
        Landed {
            status: response.status().as_u16(),
            url: response.url().to_string(),
            body: response.text().await.unwrap(),
        }
    }

    /// Posts `code` to `url` as the hub's confirmation form does from its own page
    /// (`Origin` and `Sec-Fetch-Site` as a browser sends them).
    pub async fn post_code_response(&self, url: &str, code: &str) -> reqwest::Response {
        let origin = url::Url::parse(url).unwrap().origin().ascii_serialization();
        self.http
            .post(url)
            .header("origin", origin)
            .header("sec-fetch-site", "same-origin")
            .form(&[("code", code)])
            .send()
            .await
            .unwrap()
    }

    /// Like [`Phone::post_code_response`], read to the end.
    pub async fn post_code(&self, url: &str, code: &str) -> Landed {
        let response = self.post_code_response(url, code).await;
        Landed {
            status: response.status().as_u16(),
            url: response.url().to_string(),
            body: response.text().await.unwrap(),
        }
    }

    /// Opens the kiosk's link (the hub's confirmation page, which changes nothing) and
    /// types `code`, the one the kiosk shows beside the QR code, into its form: with the
    /// right code the phone lands on the provider's sign-in form.
    pub async fn confirm(&self, login_url: &str, code: &str) -> Landed {
        let page = self.open(login_url).await;
        assert_eq!(page.status, 200, "the hub's confirmation page: {page:?}");
        let action = form_action(&page.body)
            .unwrap_or_else(|| panic!("no code form on {}:\n{}", page.url, page.body));
        let target = url::Url::parse(&page.url).unwrap().join(&action).unwrap();
        self.post_code(target.as_str(), code).await
    }

    /// Opens the kiosk's link, types the kiosk's `code`, signs in as `login`, and returns
    /// the hub's final page.
    pub async fn sign_in(
        &self,
        login_url: &str,
        code: &str,
        login: &str,
        password: &str,
    ) -> Landed {
        let form = self.confirm(login_url, code).await;
        assert_eq!(form.status, 200, "the provider's sign-in form: {form:?}");
        self.submit_login(&form, login, password).await
    }
}

/// The `action` of the first form in `html`.
pub fn form_action(html: &str) -> Option<String> {
    let start = html.find("<form")?;
    let tag = &html[start..start + html[start..].find('>')?];
    let at = tag.find("action=\"")? + "action=\"".len();
    let end = tag[at..].find('"')?;
    Some(tag[at..at + end].replace("&amp;", "&"))
}
