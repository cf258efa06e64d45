//! The hub as an OpenID Connect relying party: the citizen signs in on their phone with
//! the identity provider the office is federated with.
//!
//! Authorization code flow with PKCE (S256), a nonce and a state, through the
//! `openidconnect` crate over the hub's own reqwest client (rustls with ring, redirects
//! off). The provider's discovery document (and keys) is fetched on first use and kept
//! for [`METADATA_TTL`], so the hub starts even while the provider is unreachable. The ID
//! token is checked (signature, issuer, audience, expiry, nonce, and `acr` when
//! `acr_values` is configured); the person's claims come from the userinfo endpoint
//! (checked to be the same `sub`), the ID token's names as a fallback.
//!
//! The codice fiscale is read from `fiscal_number_claim` (SPID and CIE write
//! `TINIT-<code>`; the prefix is removed) and must be a valid [`CodiceFiscale`]. Nothing
//! here logs a claim.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthPrompt, CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreProviderMetadata,
};
use openidconnect::{
    AdditionalClaims, AuthenticationContextClass, AuthorizationCode, ClientId, ClientSecret,
    CsrfToken, IssuerUrl, LanguageTag, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, UserInfoClaims,
};
use serde::{Deserialize, Serialize};

use crate::config::hub::OidcConfig;
use crate::identity::CodiceFiscale;
use crate::lang::Lang;

/// How long a fetched discovery document (with the provider's keys) is used.
pub const METADATA_TTL: Duration = Duration::from_secs(600);

/// How old an authentication (`auth_time`) may be when the callback arrives: every
/// kiosk sign-in asks for a fresh one (`prompt=login`, `max_age=0`, security finding 2),
/// so it happened after the phone was sent to the provider, at most the sign-in deadline
/// (`auth.sign_in_seconds`, 5 minutes by default) ago; this allows for longer deadlines
/// and clock skew.
pub const FRESH_AUTHENTICATION: Duration = Duration::from_secs(15 * 60);

/// Refuses an ID token whose `auth_time` is older than [`FRESH_AUTHENTICATION`]: a
/// provider that ignored `max_age=0` and reused an old sign-in (no `auth_time` is taken
/// as the provider honouring `prompt=login`).
fn fresh_authentication(auth_time: Option<chrono::DateTime<chrono::Utc>>) -> Result<(), String> {
    match auth_time {
        Some(at)
            if chrono::Utc::now()
                .signed_duration_since(at)
                .to_std()
                .unwrap_or_default()
                > FRESH_AUTHENTICATION =>
        {
            Err(format!("authenticated at {at}, not just now"))
        }
        _ => Ok(()),
    }
}

/// The path of the callback, under the public base URL.
pub const CALLBACK_PATH: &str = "/login/callback";

/// Why a sign-in could not start or finish. [`OidcError::code`] is what the audit log and
/// the kiosk see; the text is for the hub's log and never holds a claim's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcError {
    /// The provider did not answer or answered nonsense (discovery, token, userinfo).
    #[error("identity provider unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the code or its answer did not verify.
    #[error("sign-in not accepted: {0}")]
    Rejected(String),
    /// The person's claims hold no codice fiscale.
    #[error("the identity has no `{0}` claim")]
    NoFiscalNumber(String),
    /// The claim is there but is not a valid codice fiscale.
    #[error("the identity's fiscal number is not a valid codice fiscale")]
    InvalidFiscalNumber,
    /// The authentication level (`acr`) is not one of those configured.
    #[error("the authentication level is not sufficient")]
    InsufficientLevel,
    /// The hub's own configuration is unusable (bad URL).
    #[error("OIDC configuration: {0}")]
    Config(String),
}

impl OidcError {
    /// Stable code for the audit log and the kiosk.
    pub fn code(&self) -> &'static str {
        match self {
            OidcError::Unavailable(_) => "provider_unavailable",
            OidcError::Rejected(_) => "provider_rejected",
            OidcError::NoFiscalNumber(_) => "no_fiscal_number",
            OidcError::InvalidFiscalNumber => "invalid_fiscal_number",
            OidcError::InsufficientLevel => "insufficient_level",
            OidcError::Config(_) => "configuration",
        }
    }
}

/// Where to send the phone, and the secrets to keep until the callback.
#[derive(Debug)]
pub struct Started {
    /// The provider's authorization URL.
    pub url: String,
    /// The `state` sent (kept hashed by the caller).
    pub state: String,
    /// The `nonce` sent.
    pub nonce: String,
    /// The PKCE verifier.
    pub pkce_verifier: String,
}

/// Who signed in.
#[derive(Clone, PartialEq, Eq)]
pub struct Identity {
    /// The person's codice fiscale.
    pub codice_fiscale: CodiceFiscale,
    /// Given name(s), if the provider sent them.
    pub given_name: Option<String>,
    /// Family name(s), if the provider sent them.
    pub family_name: Option<String>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never a name in a log line; the code is masked by its own Debug.
        f.debug_struct("Identity")
            .field("codice_fiscale", &self.codice_fiscale)
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// `M.R.`: the first letter of the given and of the family name, when known.
    pub fn initials(&self) -> Option<String> {
        let first = |s: &Option<String>| {
            s.as_deref()
                .and_then(|n| n.trim().chars().find(|c| c.is_alphabetic()))
                .map(|c| c.to_uppercase().collect::<String>())
        };
        match (first(&self.given_name), first(&self.family_name)) {
            (Some(g), Some(f)) => Some(format!("{g}.{f}.")),
            (Some(one), None) | (None, Some(one)) => Some(format!("{one}.")),
            (None, None) => None,
        }
    }

    /// "Given Family", or the code's masked form when the provider sent no name.
    pub fn full_name(&self) -> Option<String> {
        let parts: Vec<&str> = [&self.given_name, &self.family_name]
            .into_iter()
            .filter_map(|p| p.as_deref().map(str::trim).filter(|p| !p.is_empty()))
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    }
}

/// Every claim of the userinfo answer, so the configured claim can be looked up by name.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct AnyClaims {
    #[serde(flatten)]
    claims: serde_json::Map<String, serde_json::Value>,
}

impl AdditionalClaims for AnyClaims {}

/// A configured relying party.
pub struct Oidc {
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: ClientSecret,
    redirect: RedirectUrl,
    scopes: Vec<String>,
    fiscal_claim: String,
    acr_values: Vec<String>,
    http: reqwest::Client,
    metadata: Mutex<Option<(CoreProviderMetadata, Instant)>>,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("issuer", &self.issuer.as_str())
            .field("client_id", &self.client_id.as_str())
            .finish_non_exhaustive()
    }
}

/// Removes the `TINIT-` prefix SPID and CIE put before a codice fiscale and checks it.
pub fn codice_fiscale_from_claim(value: &str) -> Result<CodiceFiscale, OidcError> {
    let value = value.trim();
    let code = value
        .strip_prefix("TINIT-")
        .or_else(|| value.strip_prefix("tinit-"))
        .unwrap_or(value);
    code.parse::<CodiceFiscale>()
        .map_err(|_| OidcError::InvalidFiscalNumber)
}

impl Oidc {
    /// A relying party for `config`, whose callback is `<public_base>/login/callback`;
    /// `client_secret` is the secret (read from the file when configured so).
    pub fn new(
        config: &OidcConfig,
        client_secret: String,
        public_base: &str,
    ) -> Result<Oidc, OidcError> {
        let issuer = IssuerUrl::new(config.issuer.trim_end_matches('/').to_string())
            .map_err(|e| OidcError::Config(format!("oidc.issuer: {e}")))?;
        let redirect = RedirectUrl::new(format!(
            "{}{CALLBACK_PATH}",
            public_base.trim_end_matches('/')
        ))
        .map_err(|e| OidcError::Config(format!("oidc.redirect_base: {e}")))?;
        let loopback = issuer
            .url()
            .host_str()
            .is_some_and(|h| matches!(h, "127.0.0.1" | "localhost" | "[::1]"));
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("sportello-hub/", env!("CARGO_PKG_VERSION")));
        if loopback {
            builder = builder.no_proxy();
        }
        let http = builder
            .build()
            .map_err(|e| OidcError::Config(e.to_string()))?;
        Ok(Oidc {
            issuer,
            client_id: ClientId::new(config.client_id.clone()),
            client_secret: ClientSecret::new(client_secret),
            redirect,
            scopes: config.scopes.clone(),
            fiscal_claim: config.fiscal_number_claim.clone(),
            acr_values: config.acr_values.clone(),
            http,
            metadata: Mutex::new(None),
        })
    }

    /// Whether `iss` (the authorization response's issuer, RFC 9207) names this provider.
    pub fn is_issuer(&self, iss: &str) -> bool {
        iss.trim_end_matches('/') == self.issuer.as_str().trim_end_matches('/')
    }

    /// The redirect URI registered at the provider.
    pub fn redirect_uri(&self) -> &str {
        self.redirect.as_str()
    }

    async fn metadata(&self, refresh: bool) -> Result<CoreProviderMetadata, OidcError> {
        if !refresh {
            let cached = self
                .metadata
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone();
            if let Some((metadata, at)) = cached
                && at.elapsed() < METADATA_TTL
            {
                return Ok(metadata);
            }
        }
        let metadata = CoreProviderMetadata::discover_async(self.issuer.clone(), &self.http)
            .await
            .map_err(|e| {
                OidcError::Unavailable(format!("discovery: {}", crate::logging::error_chain(&e)))
            })?;
        *self
            .metadata
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some((metadata.clone(), Instant::now()));
        Ok(metadata)
    }

    fn client(
        &self,
        metadata: CoreProviderMetadata,
    ) -> openidconnect::core::CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    > {
        CoreClient::from_provider_metadata(
            metadata,
            self.client_id.clone(),
            Some(self.client_secret.clone()),
        )
        .set_redirect_uri(self.redirect.clone())
    }

    /// Builds the authorization request for a phone whose citizen speaks `lang`: PKCE, nonce,
    /// state, `prompt=login` and `max_age=0` (a fresh authentication every time), the
    /// configured scopes and `acr_values`.
    pub async fn start(&self, lang: Lang) -> Result<Started, OidcError> {
        let client = self.client(self.metadata(false).await?);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge)
            // Every kiosk sign-in is a deliberate authentication: a phone still signed
            // in at the provider must not sign in at a kiosk without a password.
            .add_prompt(CoreAuthPrompt::Login)
            .set_max_age(Duration::ZERO)
            .add_ui_locale(LanguageTag::new(lang.code().to_string()));
        for scope in self.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        for acr in &self.acr_values {
            request = request.add_auth_context_value(AuthenticationContextClass::new(acr.clone()));
        }
        let (url, state, nonce) = request.url();
        Ok(Started {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Trades the code for tokens, verifies the ID token against `nonce`, reads the
    /// person's claims.
    pub async fn finish(
        &self,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<Identity, OidcError> {
        let client = self.client(self.metadata(false).await?);
        let token = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| OidcError::Unavailable(format!("no token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_string()))
            .request_async(&self.http)
            .await
            .map_err(|e| match &e {
                openidconnect::RequestTokenError::ServerResponse(r) => {
                    OidcError::Rejected(format!("token endpoint: {}", r.error()))
                }
                other => OidcError::Unavailable(format!(
                    "token endpoint: {}",
                    crate::logging::error_chain(other)
                )),
            })?;
        let id_token = token
            .id_token()
            .ok_or_else(|| OidcError::Rejected("no ID token in the answer".to_string()))?;
        let acr_values = self.acr_values.clone();
        let verifier = client
            .id_token_verifier()
            .set_auth_context_verifier_fn(move |acr| {
                if acr_values.is_empty()
                    || acr.is_some_and(|a| acr_values.iter().any(|v| v == a.as_str()))
                {
                    Ok(())
                } else {
                    Err("acr".to_string())
                }
            })
            .set_auth_time_verifier_fn(fresh_authentication);
        let claims = match id_token.claims(&verifier, &Nonce::new(nonce.to_string())) {
            Ok(claims) => claims.clone(),
            Err(openidconnect::ClaimsVerificationError::InvalidAuthContext(_)) => {
                return Err(OidcError::InsufficientLevel);
            }
            Err(e) => return Err(OidcError::Rejected(format!("ID token: {e}"))),
        };
        let info: UserInfoClaims<AnyClaims, CoreGenderClaim> = client
            .user_info(token.access_token().clone(), Some(claims.subject().clone()))
            .map_err(|e| OidcError::Rejected(format!("userinfo: {e}")))?
            .request_async(&self.http)
            .await
            .map_err(|e| {
                OidcError::Unavailable(format!("userinfo: {}", crate::logging::error_chain(&e)))
            })?;
        let value = info
            .additional_claims()
            .claims
            .get(&self.fiscal_claim)
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| OidcError::NoFiscalNumber(self.fiscal_claim.clone()))?;
        let codice_fiscale = codice_fiscale_from_claim(value)?;
        let text = |claim: Option<String>| {
            claim
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        let given_name = text(
            info.given_name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_string()),
        )
        .or_else(|| {
            text(
                claims
                    .given_name()
                    .and_then(|n| n.get(None))
                    .map(|n| n.as_str().to_string()),
            )
        });
        let family_name = text(
            info.family_name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_string()),
        )
        .or_else(|| {
            text(
                claims
                    .family_name()
                    .and_then(|n| n.get(None))
                    .map(|n| n.as_str().to_string()),
            )
        });
        Ok(Identity {
            codice_fiscale,
            given_name: given_name.map(|n| n.chars().take(100).collect()),
            family_name: family_name.map(|n| n.chars().take(100).collect()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fiscal_number_claims_with_and_without_prefix() {
        let code = "RSSMRA45C12F205C";
        assert_eq!(
            codice_fiscale_from_claim(&format!("TINIT-{code}"))
                .unwrap()
                .as_str(),
            code
        );
        assert_eq!(codice_fiscale_from_claim(code).unwrap().as_str(), code);
        assert_eq!(
            codice_fiscale_from_claim("TINIT-RSSMRA45C12F205D"),
            Err(OidcError::InvalidFiscalNumber)
        );
        assert_eq!(
            codice_fiscale_from_claim("TINIT-"),
            Err(OidcError::InvalidFiscalNumber)
        );
    }

    #[test]
    fn initials_never_the_name() {
        let who = |g: Option<&str>, f: Option<&str>| Identity {
            codice_fiscale: "RSSMRA45C12F205C".parse().unwrap(),
            given_name: g.map(str::to_string),
            family_name: f.map(str::to_string),
        };
        assert_eq!(
            who(Some("Mario"), Some("Rossi")).initials().as_deref(),
            Some("M.R.")
        );
        assert_eq!(
            who(Some(" élodie"), Some("D'Amico")).initials().as_deref(),
            Some("É.D.")
        );
        assert_eq!(who(None, Some("Rossi")).initials().as_deref(), Some("R."));
        assert_eq!(who(None, None).initials(), None);
        let shown = format!("{:?}", who(Some("Mario"), Some("Rossi")));
        assert!(
            !shown.contains("Mario")
                && !shown.contains("Rossi")
                && !shown.contains("RSSMRA45C12F205C"),
            "{shown}"
        );
        assert_eq!(
            who(Some("Mario"), Some("Rossi")).full_name().as_deref(),
            Some("Mario Rossi")
        );
    }
}
