//! Only requests addressed to this hub by a name it knows (suspected finding S2, DNS
//! rebinding).
//!
//! A web page a clerk opens on an office PC can point its own domain name at the hub's
//! address and then script requests to it from the browser: the browser sends them with
//! the attacker's name in `Host`, and treats the answers as same-origin. Refusing names
//! the hub does not know stops that. Known are: IP literals and `localhost` (rebinding
//! needs a name), this machine's host name (and `<name>.local`), the host of
//! `[oidc] redirect_base`, and the names in `allowed_hosts`.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::header::HOST;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::state::AppState;

/// The host names (lower case, no port) the hub answers to besides IP literals.
#[derive(Debug, Clone, Default)]
pub struct KnownHosts {
    names: Vec<String>,
}

impl KnownHosts {
    /// `localhost`, this machine's name, the OpenID Connect redirect host and `extra`.
    pub fn new(extra: &[String], redirect_base: Option<&str>) -> KnownHosts {
        let mut names = vec!["localhost".to_string()];
        if let Some(name) = machine_name() {
            names.push(format!("{name}.local"));
            names.push(name);
        }
        if let Some(host) = redirect_base
            .and_then(|base| url::Url::parse(base).ok())
            .and_then(|url| url.host_str().map(str::to_string))
        {
            names.push(host);
        }
        names.extend(extra.iter().cloned());
        for name in &mut names {
            *name = name.trim_end_matches('.').to_ascii_lowercase();
        }
        KnownHosts { names }
    }

    /// Whether a `Host` header's value names this hub.
    pub fn allows(&self, host_header: &str) -> bool {
        let host = strip_port(host_header.trim()).trim_end_matches('.');
        if host.parse::<std::net::Ipv4Addr>().is_ok() {
            return true;
        }
        if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            return inner.parse::<std::net::Ipv6Addr>().is_ok();
        }
        self.names
            .iter()
            .any(|known| known.eq_ignore_ascii_case(host))
    }
}

/// `name:port` → `name`; `[v6]:port` → `[v6]`.
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(end) => &host[..=end],
            None => host,
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// This machine's host name, as the kernel has it.
fn machine_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_string())
}

/// Middleware: 421 for a request whose `Host` names somebody else.
pub async fn known_host(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(host) = req.headers().get(HOST) {
        let allowed = host.to_str().is_ok_and(|h| state.known_hosts.allows(h));
        if !allowed {
            return ApiError::new(
                StatusCode::MISDIRECTED_REQUEST,
                "unknown_host",
                "this hub does not answer to that host name: add it to hub.toml `allowed_hosts`",
            )
            .into_response();
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_known_names_pass_others_do_not() {
        let known = KnownHosts::new(
            &["hub.ufficio.example".to_string()],
            Some("https://sportello.example.it/"),
        );
        for ok in [
            "127.0.0.1:8080",
            "10.0.0.5",
            "[::1]:8443",
            "localhost:8080",
            "HUB.ufficio.example",
            "sportello.example.it",
            "hub.ufficio.example.",
        ] {
            assert!(known.allows(ok), "{ok}");
        }
        for refused in [
            "evil.example",
            "evil.example:8080",
            "127.0.0.1.evil.example",
            "[not-v6]",
            "",
            "hub.ufficio.example.evil.example",
        ] {
            assert!(!known.allows(refused), "{refused}");
        }
    }
}
