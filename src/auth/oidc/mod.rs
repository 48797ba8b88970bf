//! OpenID Connect sign-on: discovery, the authorization request (code flow, PKCE S256, state
//! and nonce), the code exchange and the ID token's checks, all by the `openidconnect` crate
//! over the outbound client ([`crate::http_client`], which follows no redirects). What the
//! verified claims do to accounts is `study::sso`'s; the cookie and routes are `web`'s.

pub mod settings;

use crate::http_client::HttpClient;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreRevocableToken,
    CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthenticationFlow, AuthorizationCode, Client, ClientId, ClientSecret,
    CsrfToken, EmptyExtraTokenFields, EndSessionUrl, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IdTokenFields, IssuerUrl, LogoutRequest, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadataWithLogout, RedirectUrl, Scope,
    StandardErrorResponse, StandardTokenResponse, TokenResponse,
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use settings::{ProviderSettings, SignOn};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Claims besides the standard ones (the groups claim, a custom username claim), as sent.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OtherClaims(pub serde_json::Map<String, serde_json::Value>);
impl AdditionalClaims for OtherClaims {}

type IdFields = IdTokenFields<
    OtherClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type TokenAnswer = StandardTokenResponse<IdFields, CoreTokenType>;
type CoreIdToken = openidconnect::IdToken<
    OtherClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type IdClaims = openidconnect::IdTokenClaims<OtherClaims, CoreGenderClaim>;
type OidcClient = Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    TokenAnswer,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// How long a login under way may take at the provider.
pub const FLOW_SECONDS: i64 = 600;
/// How long a provider's discovery document (and so its keys) is reused.
const DISCOVERY_TTL: Duration = Duration::from_secs(300);

/// Why a sign-on step failed; every one changes nothing.
#[derive(Debug, thiserror::Error)]
pub enum SignOnError {
    /// No provider has this key.
    #[error("there is no such sign-on provider")]
    UnknownProvider,
    /// The provider could not be reached or answered nonsense (discovery, keys, token).
    #[error("the sign-on provider could not be reached: {0}")]
    Unreachable(String),
    /// The provider refused, or its answer failed a check (token, signature, nonce ...).
    #[error("the sign-on was refused: {0}")]
    Refused(String),
}

/// A login to send the browser off with.
#[derive(Debug)]
pub struct Begun {
    /// The provider's authorization URL, with state, nonce and the PKCE challenge.
    pub url: String,
    /// The `state` in that URL.
    pub state: String,
    /// The nonce in that URL.
    pub nonce: String,
    /// The PKCE verifier of its challenge.
    pub pkce_verifier: String,
}

/// What a verified ID token says.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The issuer, as in the token (checked against discovery).
    pub issuer: String,
    /// The subject.
    pub subject: String,
    /// `email`, if sent.
    pub email: Option<String>,
    /// `email_verified` in the same token.
    pub email_verified: bool,
    /// `name` (or `preferred_username`), if sent.
    pub name: Option<String>,
    /// The configured username claim's value, if sent.
    pub username: Option<String>,
    /// The groups claim's values (from userinfo when the ID token has none).
    pub groups: Vec<String>,
    /// Whether the provider's required claim (if any) is carried, by the ID token or userinfo.
    pub carries_required_claim: bool,
    /// The raw ID token, kept for the logout's `id_token_hint`.
    pub id_token: String,
}

/// The configured providers, their discovery documents (cached a few minutes) and the client.
#[derive(Debug)]
pub struct Providers {
    settings: SignOn,
    http: HttpClient,
    discovered: Mutex<HashMap<String, (Instant, Arc<ProviderMetadataWithLogout>)>>,
}

impl Providers {
    /// The providers of these settings (nothing is fetched yet: a provider that is down must
    /// not stop the server from starting).
    pub fn new(settings: SignOn) -> anyhow::Result<Self> {
        Ok(Self {
            settings,
            http: HttpClient::new()?,
            discovered: Mutex::new(HashMap::new()),
        })
    }

    /// The settings.
    pub fn settings(&self) -> &SignOn {
        &self.settings
    }

    /// (key, button label) of each provider, in order.
    pub fn buttons(&self) -> Vec<(String, String)> {
        self.settings
            .providers
            .iter()
            .map(|p| (p.key.clone(), p.name.clone()))
            .collect()
    }

    fn provider(&self, key: &str) -> Result<&ProviderSettings, SignOnError> {
        self.settings
            .provider(key)
            .ok_or(SignOnError::UnknownProvider)
    }

    /// The provider's discovery document, fetched when not cached or when `fresh`.
    async fn metadata(
        &self,
        provider: &ProviderSettings,
        fresh: bool,
    ) -> Result<Arc<ProviderMetadataWithLogout>, SignOnError> {
        if !fresh {
            let cached = self
                .discovered
                .lock()
                .ok()
                .and_then(|c| c.get(&provider.key).cloned());
            if let Some((at, metadata)) = cached
                && at.elapsed() < DISCOVERY_TTL
            {
                return Ok(metadata);
            }
        }
        let issuer = IssuerUrl::new(provider.issuer.clone())
            .map_err(|e| SignOnError::Unreachable(format!("issuer URL: {e}")))?;
        // Discovery checks that the document's issuer is exactly the one configured, and
        // fetches the provider's keys.
        let metadata = ProviderMetadataWithLogout::discover_async(issuer, &self.http)
            .await
            .map_err(|e| match e {
                openidconnect::DiscoveryError::Request(_)
                | openidconnect::DiscoveryError::Response(..) => {
                    SignOnError::Unreachable(error_chain(&e))
                }
                // A document for another issuer, or one that does not parse.
                other => SignOnError::Refused(error_chain(&other)),
            })?;
        let metadata = Arc::new(metadata);
        if let Ok(mut cache) = self.discovered.lock() {
            cache.insert(provider.key.clone(), (Instant::now(), metadata.clone()));
        }
        Ok(metadata)
    }

    fn client(
        &self,
        provider: &ProviderSettings,
        metadata: &ProviderMetadataWithLogout,
    ) -> Result<OidcClient, SignOnError> {
        let redirect = self
            .settings
            .redirect_uri()
            .ok_or_else(|| SignOnError::Refused("no public_url is set".to_owned()))?;
        let redirect = RedirectUrl::new(redirect)
            .map_err(|e| SignOnError::Refused(format!("redirect URI: {e}")))?;
        Ok(OidcClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(provider.client_id.clone()),
            provider
                .client_secret
                .as_ref()
                .map(|s| ClientSecret::new(s.expose_secret().to_owned())),
        )
        .set_redirect_uri(redirect))
    }

    /// Starts a login at provider `key`: the URL to send the browser to, and the state, nonce
    /// and PKCE verifier to keep until it comes back.
    pub async fn begin(&self, key: &str, fresh_login: bool) -> Result<Begun, SignOnError> {
        let provider = self.provider(key)?;
        let metadata = self.metadata(provider, false).await?;
        let client = self.client(provider, &metadata)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client.authorize_url(
            AuthenticationFlow::<openidconnect::core::CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in &provider.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        // Linking from /account asks the provider to check who is there now (`prompt=login`):
        // a session someone left open must not let another person's identity be tied to it.
        if fresh_login {
            request = request.add_prompt(CoreAuthPrompt::Login);
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        Ok(Begun {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Finishes a login at provider `key`: exchanges the code (with the PKCE verifier) and
    /// verifies the ID token (signature by the provider's current keys, issuer, audience,
    /// expiry, the nonce). A signature by a key not yet known fetches the keys again once
    /// (the provider rotated them).
    pub async fn finish(
        &self,
        key: &str,
        code: &str,
        nonce: &str,
        pkce_verifier: &str,
    ) -> Result<Verified, SignOnError> {
        let provider = self.provider(key)?;
        let metadata = self.metadata(provider, false).await?;
        let client = self.client(provider, &metadata)?;
        let answer: TokenAnswer = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| SignOnError::Refused(format!("no token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                openidconnect::RequestTokenError::ServerResponse(r) => {
                    SignOnError::Refused(format!("the token endpoint said {}", r.error()))
                }
                openidconnect::RequestTokenError::Request(e) => {
                    SignOnError::Unreachable(error_chain(&e))
                }
                other => SignOnError::Refused(error_chain(&other)),
            })?;
        let id_token = answer
            .id_token()
            .ok_or_else(|| SignOnError::Refused("the provider sent no ID token".to_owned()))?;
        let (claims, client) = self.verify(provider, id_token, nonce).await?;
        let mut all = claims_map(&claims)?;
        // Claims the rules need and the ID token left out (many providers keep groups to
        // userinfo) are asked of the userinfo endpoint, with the access token, for the same
        // subject; the ID token's own claims win.
        let wanted = [
            Some(provider.groups_claim.as_str()).filter(|_| {
                !provider.instructor_groups.is_empty() || !provider.admin_groups.is_empty()
            }),
            provider.required_claim.as_ref().map(|r| r.name.as_str()),
        ];
        if wanted.iter().flatten().any(|name| !all.contains_key(*name))
            && client.user_info_url().is_some()
        {
            let info: openidconnect::UserInfoClaims<OtherClaims, CoreGenderClaim> = client
                .user_info(
                    answer.access_token().clone(),
                    Some(claims.subject().clone()),
                )
                .map_err(|e| SignOnError::Refused(error_chain(&e)))?
                .request_async(&self.http)
                .await
                .map_err(|e| match e {
                    openidconnect::UserInfoError::Request(e) => {
                        SignOnError::Unreachable(error_chain(&e))
                    }
                    // A server error or a throttle (the endpoint down or overloaded) is the
                    // provider unreachable, worth trying again; any other refusal (401, 403:
                    // a token or scope the operator must fix) is a refusal.
                    openidconnect::UserInfoError::Response(status, _, why)
                        if status.is_server_error()
                            || status.as_u16() == 408
                            || status.as_u16() == 429 =>
                    {
                        SignOnError::Unreachable(format!("userinfo answered {status}: {why}"))
                    }
                    other => SignOnError::Refused(format!("userinfo: {}", error_chain(&other))),
                })?;
            let info = serde_json::to_value(&info)
                .map_err(|e| SignOnError::Refused(format!("userinfo: {e}")))?;
            if let serde_json::Value::Object(info) = info {
                for (name, value) in info {
                    all.entry(name).or_insert(value);
                }
            }
        }
        let text = |name: &str| {
            all.get(name)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        };
        let name = claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_owned());
        let preferred = claims.preferred_username().map(|u| u.as_str().to_owned());
        let email = claims.email().map(|e| e.as_str().to_owned());
        let username = match provider.username_claim.as_str() {
            "preferred_username" => preferred.clone(),
            "email" => email.clone(),
            "name" => name.clone(),
            "sub" => Some(claims.subject().as_str().to_owned()),
            other_name => text(other_name),
        };
        let groups = match all.get(&provider.groups_claim) {
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .filter_map(serde_json::Value::as_str)
                .map(str::to_owned)
                .collect(),
            Some(serde_json::Value::String(one)) => vec![one.clone()],
            _ => Vec::new(),
        };
        let carries_required_claim = provider
            .required_claim
            .as_ref()
            .is_none_or(|required| carries(required, &all));
        Ok(Verified {
            issuer: claims.issuer().as_str().to_owned(),
            subject: claims.subject().as_str().to_owned(),
            email,
            // From the ID token only: the same payload as the address it vouches for.
            email_verified: claims.email_verified().unwrap_or(false),
            name: name.or(preferred),
            username,
            groups,
            carries_required_claim,
            id_token: id_token.to_string(),
        })
    }

    /// Verifies an ID token from `provider`'s token endpoint: its signature by the provider's
    /// current keys (a key id not yet known fetches them again once: the provider rotated
    /// them), issuer, audience, expiry (a minute's leeway) and the nonce.
    async fn verify(
        &self,
        provider: &ProviderSettings,
        id_token: &CoreIdToken,
        nonce: &str,
    ) -> Result<(IdClaims, OidcClient), SignOnError> {
        let metadata = self.metadata(provider, false).await?;
        let client = self.client(provider, &metadata)?;
        let nonce = Nonce::new(nonce.to_owned());
        let first = id_token.claims(&verifier(&client), &nonce).cloned();
        match first {
            Ok(claims) => Ok((claims, client)),
            // Signed by a key not in the cached set: the provider may have rotated its keys.
            // (Any other bad signature is refused at once, without asking the provider.)
            Err(openidconnect::ClaimsVerificationError::SignatureVerification(
                openidconnect::SignatureVerificationError::NoMatchingKey,
            )) => {
                let metadata = self.metadata(provider, true).await?;
                let client = self.client(provider, &metadata)?;
                let claims = id_token
                    .claims(&verifier(&client), &nonce)
                    .map_err(|e| SignOnError::Refused(error_chain(&e)))?
                    .clone();
                Ok((claims, client))
            }
            Err(e) => Err(SignOnError::Refused(error_chain(&e))),
        }
    }

    /// Where to send a browser logging out of provider `key` (its `end_session_endpoint`, with
    /// the ID token hint and the way back), if it advertises one.
    pub async fn logout_url(&self, key: &str, id_token: &str) -> Option<String> {
        let provider = self.provider(key).ok()?;
        let metadata = self.metadata(provider, false).await.ok()?;
        let endpoint: EndSessionUrl = metadata
            .additional_metadata()
            .end_session_endpoint
            .clone()?;
        let back =
            PostLogoutRedirectUrl::new(format!("{}/", self.settings.public_url.as_ref()?)).ok()?;
        let hint = openidconnect::IdToken::<
            OtherClaims,
            CoreGenderClaim,
            CoreJweContentEncryptionAlgorithm,
            CoreJwsSigningAlgorithm,
        >::from_str(id_token)
        .ok()?;
        Some(
            LogoutRequest::from(endpoint)
                .set_id_token_hint(&hint)
                .set_client_id(ClientId::new(provider.client_id.clone()))
                .set_post_logout_redirect_uri(back)
                .http_get_url()
                .to_string(),
        )
    }
}

/// How far past its expiry an ID token is still taken (the provider's clock and ours differ).
pub const EXPIRY_LEEWAY_SECONDS: i64 = 60;

/// The crate's ID token verifier for `client`, its clock set back by the leeway.
fn verifier(client: &OidcClient) -> openidconnect::IdTokenVerifier<'_, CoreJsonWebKey> {
    client.id_token_verifier().set_time_fn(|| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        chrono::DateTime::from_timestamp(now - EXPIRY_LEEWAY_SECONDS, 0).unwrap_or_default()
    })
}

/// An ID token's claims as one JSON object (the standard ones and the others side by side).
fn claims_map(
    claims: &IdClaims,
) -> Result<serde_json::Map<String, serde_json::Value>, SignOnError> {
    match serde_json::to_value(claims) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err(SignOnError::Refused(
            "the ID token's claims are not an object".to_owned(),
        )),
        Err(e) => Err(SignOnError::Refused(format!("the ID token's claims: {e}"))),
    }
}

/// Whether `claims` carry `required`: by name alone, present and not false, null, empty text
/// or an empty list; with a value, equal to it (text, number or boolean as written) or a list
/// holding it.
pub fn carries(
    required: &settings::RequiredClaim,
    claims: &serde_json::Map<String, serde_json::Value>,
) -> bool {
    use serde_json::Value;
    let Some(value) = claims.get(&required.name) else {
        return false;
    };
    let equals = |v: &Value, want: &str| match v {
        Value::String(s) => s == want,
        Value::Bool(b) => b.to_string() == want,
        Value::Number(n) => n.to_string() == want,
        _ => false,
    };
    match (&required.value, value) {
        (None, Value::Null | Value::Bool(false)) => false,
        (None, Value::String(s)) => !s.is_empty(),
        (None, Value::Array(items)) => !items.is_empty(),
        (None, _) => true,
        (Some(want), Value::Array(items)) => items.iter().any(|v| equals(v, want)),
        (Some(want), v) => equals(v, want),
    }
}

/// An error with its sources, for a log line (never shown on a page).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

use std::str::FromStr;

/// The groups of `groups` that map to a role at `provider`: admin beats instructor, and no
/// mapped group is a student.
pub fn role_for(provider: &ProviderSettings, groups: &[String]) -> crate::domain::Role {
    use crate::domain::Role;
    if groups.iter().any(|g| provider.admin_groups.contains(g)) {
        Role::Admin
    } else if groups
        .iter()
        .any(|g| provider.instructor_groups.contains(g))
    {
        Role::Instructor
    } else {
        Role::Student
    }
}

/// Whether `email`'s domain is among `domains` (empty: any domain, and no e-mail needed).
pub fn domain_allowed(domains: &[String], email: Option<&str>) -> bool {
    if domains.is_empty() {
        return true;
    }
    let Some((_, domain)) = email.and_then(|e| e.rsplit_once('@')) else {
        return false;
    };
    let domain = domain.to_ascii_lowercase();
    domains.contains(&domain)
}

#[cfg(test)]
mod tests;
