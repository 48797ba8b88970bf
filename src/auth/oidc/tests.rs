//! Unit tests of the sign-on protocol: what the mock provider of the integration tests cannot
//! show (PKCE, forged ID tokens), checked against locally built answers.

use super::*;

fn provider() -> ProviderSettings {
    let layer = settings::SignOn::check(
        "https://study.example.edu",
        "on",
        toml_layer(
            "issuer = \"https://idp.example.edu\"\nclient_id = \"studyhall\"\n\
             instructor_groups = \"staff, tas\"\nadmin_groups = \"it\"\n\
             allowed_domains = \"Example.edu\"\n",
        ),
    )
    .expect("valid");
    layer.providers[0].clone()
}

fn toml_layer(text: &str) -> settings::OidcLayer {
    config::Config::builder()
        .add_source(config::File::from_str(text, config::FileFormat::Toml))
        .build()
        .and_then(config::Config::try_deserialize)
        .expect("a layer")
}

#[test]
fn groups_map_to_the_highest_role_and_no_group_is_a_student() {
    use crate::domain::Role;
    let p = provider();
    assert_eq!(role_for(&p, &["tas".to_owned()]), Role::Instructor);
    assert_eq!(
        role_for(&p, &["tas".to_owned(), "it".to_owned()]),
        Role::Admin
    );
    assert_eq!(role_for(&p, &["students".to_owned()]), Role::Student);
    assert_eq!(role_for(&p, &[]), Role::Student);
}

#[test]
fn only_listed_domains_pass_when_some_are_listed() {
    let p = provider();
    assert!(domain_allowed(&p.allowed_domains, Some("a@EXAMPLE.edu")));
    assert!(!domain_allowed(
        &p.allowed_domains,
        Some("a@example.edu.evil.com")
    ));
    assert!(!domain_allowed(&p.allowed_domains, Some("example.edu")));
    assert!(!domain_allowed(&p.allowed_domains, None));
    assert!(domain_allowed(&[], None));
}

/// The mock provider used by the integration tests does not check PKCE, so the verifier's
/// handling is checked here: the authorization URL carries the S256 challenge of exactly
/// the verifier kept for the code exchange.
#[tokio::test]
async fn the_authorization_request_carries_the_s256_challenge_of_the_kept_verifier() {
    use sha2::{Digest, Sha256};
    let (providers, p) = providers_with_keys(vec![]);
    let begun = providers.begin(&p.key, false).await.expect("begun");
    let again = providers.begin(&p.key, false).await.expect("begun");
    let url = url::Url::parse(&begun.url).expect("a URL");
    assert!(begun.url.starts_with("https://idp.example.edu/authorize?"));
    let query: HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["code_challenge_method"], "S256");
    let expected = base64_engine::encode(&Sha256::digest(begun.pkce_verifier.as_bytes()));
    assert_eq!(query["code_challenge"], expected);
    assert_eq!(query["state"], begun.state);
    assert_eq!(query["nonce"], begun.nonce);
    assert_eq!(
        query["redirect_uri"],
        "https://study.example.edu/auth/oidc/callback"
    );
    assert!(query["scope"].split(' ').any(|s| s == "openid"));
    assert!(!query.contains_key("prompt"), "a login asks nothing more");
    // A link from /account asks the provider to check who is there now.
    let link = providers.begin(&p.key, true).await.expect("begun");
    let link = url::Url::parse(&link.url).expect("a URL");
    let link: HashMap<String, String> = link.query_pairs().into_owned().collect();
    assert_eq!(link["prompt"], "login");
    assert!(
        (43..=128).contains(&begun.pkce_verifier.len()),
        "RFC 7636: 43 to 128 characters"
    );
    for (a, b) in [
        (&begun.state, &again.state),
        (&begun.nonce, &again.nonce),
        (&begun.pkce_verifier, &again.pkce_verifier),
    ] {
        assert_ne!(a, b, "fresh for every login");
    }
    assert!(matches!(
        providers.begin("other", false).await,
        Err(SignOnError::UnknownProvider)
    ));
}

/// A provider whose discovery document (with its keys) is cached: no request is made but to
/// `token_endpoint`.
fn providers_at(token_endpoint: &str, keys: Vec<CoreJsonWebKey>) -> (Providers, ProviderSettings) {
    use openidconnect::JsonWebKeySet;
    let metadata: ProviderMetadataWithLogout = serde_json::from_value(serde_json::json!({
        "issuer": "https://idp.example.edu",
        "authorization_endpoint": "https://idp.example.edu/authorize",
        "token_endpoint": token_endpoint,
        "jwks_uri": "https://idp.example.edu/jwks",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
    .expect("metadata");
    let metadata = metadata.set_jwks(JsonWebKeySet::new(keys));
    let p = provider();
    let providers = Providers::new(settings::SignOn {
        public_url: Some("https://study.example.edu".to_owned()),
        local_login: true,
        providers: vec![p.clone()],
    })
    .expect("client");
    providers
        .discovered
        .lock()
        .expect("lock")
        .insert(p.key.clone(), (Instant::now(), Arc::new(metadata)));
    (providers, p)
}

fn providers_with_keys(keys: Vec<CoreJsonWebKey>) -> (Providers, ProviderSettings) {
    providers_at("https://idp.example.edu/token", keys)
}

/// A token endpoint on a loopback port that answers one request with `answer` (JSON) and
/// hands back the request's form body.
async fn token_endpoint(
    answer: serde_json::Value,
) -> (String, tokio::task::JoinHandle<HashMap<String, String>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let url = format!("http://{}/token", listener.local_addr().expect("bound"));
    let served = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("the token request");
        let mut request = Vec::new();
        let mut chunk = [0u8; 4096];
        // The headers, then as many body bytes as they announce.
        let body_start = loop {
            let n = socket.read(&mut chunk).await.expect("read");
            assert!(n > 0, "the request ended early");
            request.extend_from_slice(&chunk[..n]);
            if let Some(at) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
        };
        let head = String::from_utf8_lossy(&request[..body_start]).to_ascii_lowercase();
        assert!(head.starts_with("post /token "), "{head}");
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("a content length");
        while request.len() < body_start + length {
            let n = socket.read(&mut chunk).await.expect("read");
            assert!(n > 0, "the body ended early");
            request.extend_from_slice(&chunk[..n]);
        }
        let body = answer.to_string();
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
             connection: close\r\n\r\n{body}",
            body.len()
        );
        socket
            .write_all(response.as_bytes())
            .await
            .expect("answered");
        url::form_urlencoded::parse(&request[body_start..body_start + length])
            .into_owned()
            .collect()
    });
    (url, served)
}

/// The test-only RSA key (never used outside these tests), under key id `k1`.
fn signing_key() -> openidconnect::core::CoreRsaPrivateSigningKey {
    openidconnect::core::CoreRsaPrivateSigningKey::from_pem(
        include_str!("testdata/test-only-signing-key.pem"),
        Some(openidconnect::JsonWebKeyId::new("k1".to_owned())),
    )
    .expect("the test key")
}

fn now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs(),
    )
    .expect("fits")
}

/// The claims of a token for `studyhall` from the test issuer, expiring at `exp`.
fn claims(exp: i64) -> serde_json::Value {
    serde_json::json!({
        "iss": "https://idp.example.edu",
        "aud": ["studyhall"],
        "sub": "ada",
        "email": "ada@example.edu",
        "email_verified": true,
        "nonce": "the-nonce",
        "iat": exp - 300,
        "exp": exp,
    })
}

fn sign(claims: serde_json::Value) -> CoreIdToken {
    let claims: IdClaims = serde_json::from_value(claims).expect("claims");
    CoreIdToken::new(
        claims,
        &signing_key(),
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        None,
        None,
    )
    .expect("signed")
}

async fn check(
    providers: &Providers,
    p: &ProviderSettings,
    token: &str,
) -> Result<String, SignOnError> {
    let token = CoreIdToken::from_str(token).expect("a JWT");
    providers
        .verify(p, &token, "the-nonce")
        .await
        .map(|(claims, _)| claims.subject().as_str().to_owned())
}

/// Issue 26: an expired or tampered ID token is refused (and so changes nothing: the
/// sign-on stops before any write). The mock provider cannot make either, so the crate's
/// verifier is checked here with tokens signed by a local key.
#[tokio::test]
async fn expired_tampered_and_misdirected_id_tokens_are_refused() {
    use openidconnect::PrivateSigningKey;
    let (providers, p) = providers_with_keys(vec![signing_key().as_verification_key()]);
    let good = sign(claims(now() + 300)).to_string();
    assert_eq!(check(&providers, &p, &good).await.expect("valid"), "ada");
    // Within the leeway, and past it.
    let late = sign(claims(now() - EXPIRY_LEEWAY_SECONDS / 2)).to_string();
    assert!(
        check(&providers, &p, &late).await.is_ok(),
        "a little clock skew"
    );
    let expired = sign(claims(now() - EXPIRY_LEEWAY_SECONDS - 60)).to_string();
    assert!(matches!(
        check(&providers, &p, &expired).await,
        Err(SignOnError::Refused(why)) if why.contains("expired")
    ));
    // The payload changed after signing (another subject), the signature kept.
    let parts: Vec<&str> = good.split('.').collect();
    let mut forged = claims(now() + 300);
    forged["sub"] = serde_json::json!("mallory");
    let payload = base64_engine::encode(forged.to_string().as_bytes());
    let tampered = format!("{}.{payload}.{}", parts[0], parts[2]);
    assert!(matches!(
        check(&providers, &p, &tampered).await,
        Err(SignOnError::Refused(_))
    ));
    // No signature at all (alg none), and a signature cut short.
    let header = base64_engine::encode(br#"{"alg":"none","typ":"JWT"}"#);
    let unsigned = format!("{header}.{payload}.");
    assert!(check(&providers, &p, &unsigned).await.is_err());
    let cut = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        &parts[2][..parts[2].len() / 2]
    );
    assert!(matches!(
        check(&providers, &p, &cut).await,
        Err(SignOnError::Refused(_))
    ));
    // Another audience, another issuer, another nonce.
    for (key, value) in [
        ("aud", serde_json::json!(["another-client"])),
        ("iss", serde_json::json!("https://evil.example")),
        ("nonce", serde_json::json!("replayed")),
    ] {
        let mut other = claims(now() + 300);
        other[key] = value;
        let token = sign(other).to_string();
        assert!(
            matches!(
                check(&providers, &p, &token).await,
                Err(SignOnError::Refused(_))
            ),
            "{key}"
        );
    }
}

#[test]
fn a_required_claim_is_carried_by_its_value_or_a_list_holding_it() {
    use settings::RequiredClaim;
    let map = |v: serde_json::Value| match v {
        serde_json::Value::Object(m) => m,
        _ => unreachable!(),
    };
    let claims = map(serde_json::json!({
        "affiliation": ["member", "student"], "staff": true, "alum": false,
        "dept": "cs", "empty": "", "none": null, "level": 3,
    }));
    let required = |name: &str, value: Option<&str>| RequiredClaim {
        name: name.to_owned(),
        value: value.map(str::to_owned),
    };
    assert!(carries(&required("affiliation", Some("student")), &claims));
    assert!(!carries(&required("affiliation", Some("staff")), &claims));
    assert!(carries(&required("staff", None), &claims));
    assert!(carries(&required("staff", Some("true")), &claims));
    assert!(!carries(&required("alum", None), &claims));
    assert!(carries(&required("dept", Some("cs")), &claims));
    assert!(!carries(&required("dept", Some("CS")), &claims));
    assert!(!carries(&required("empty", None), &claims));
    assert!(!carries(&required("none", None), &claims));
    assert!(carries(&required("level", Some("3")), &claims));
    assert!(!carries(&required("missing", None), &claims));
    assert!(carries(&required("affiliation", None), &claims));
    assert!(!carries(
        &required("affiliation", None),
        &map(serde_json::json!({"affiliation": []}))
    ));
}

/// The other half of PKCE (the mock provider does not check it): the code exchange sends
/// the verifier kept for this login, with the code and the redirect URI, to the token endpoint,
/// and the ID token it answers with is verified against the nonce.
#[tokio::test]
async fn the_code_exchange_sends_the_kept_verifier_to_the_token_endpoint() {
    use openidconnect::PrivateSigningKey;
    let id_token = sign(claims(now() + 300)).to_string();
    let (url, served) = token_endpoint(serde_json::json!({
        "access_token": "an-access-token",
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": id_token,
    }))
    .await;
    let (providers, p) = providers_at(&url, vec![signing_key().as_verification_key()]);
    let verifier = "a-verifier-of-forty-three-characters-or-more-kept-for-one-login";
    let verified = providers
        .finish(&p.key, "the-code", "the-nonce", verifier)
        .await
        .expect("signed on");
    assert_eq!(verified.subject, "ada");
    assert_eq!(verified.email.as_deref(), Some("ada@example.edu"));
    assert!(verified.email_verified);
    let form = served.await.expect("served");
    assert_eq!(form["grant_type"], "authorization_code");
    assert_eq!(form["code"], "the-code");
    assert_eq!(form["code_verifier"], verifier);
    assert_eq!(
        form["redirect_uri"],
        "https://study.example.edu/auth/oidc/callback"
    );
    // The same answer to another login (another nonce) is refused after the exchange.
    let (url, _served) = token_endpoint(serde_json::json!({
        "access_token": "an-access-token",
        "token_type": "Bearer",
        "id_token": sign(claims(now() + 300)).to_string(),
    }))
    .await;
    let (providers, p) = providers_at(&url, vec![signing_key().as_verification_key()]);
    assert!(matches!(
        providers
            .finish(&p.key, "the-code", "another-nonce", verifier)
            .await,
        Err(SignOnError::Refused(_))
    ));
}

/// Base64url without padding, as RFC 7636 spells the S256 challenge (written out here so
/// that the test does not trust the crate's own encoder).
mod base64_engine {
    pub fn encode(bytes: &[u8]) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
            let chars = chunk.len() + 1;
            for i in 0..chars {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            }
        }
        out
    }
}
