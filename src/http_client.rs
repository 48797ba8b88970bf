//! The one outbound HTTP client: short timeouts, a cap on how much of a response is read, and
//! no redirects followed (an OpenID provider's discovery, keys and token endpoint answer
//! directly; a redirect there is a misconfiguration or an attack, never followed to an
//! internal address). It sits beside `db` as an adapter, so use cases and `auth` can call
//! out without importing `web`. TLS is rustls with the ring provider and the system's roots.

use openidconnect::http;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// The most of a response body read: a discovery document or a key set is a few KiB.
pub const MAX_RESPONSE_BYTES: usize = 1 << 20;
/// How long a whole request may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// How long connecting may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The client (cheap to clone: one connection pool).
#[derive(Debug, Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
}

/// Why an outbound request failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// Connecting, sending or reading failed (or timed out).
    #[error("request failed: {0}")]
    Request(#[from] reqwest::Error),
    /// The response was larger than [`MAX_RESPONSE_BYTES`].
    #[error("the response is larger than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge,
    /// The request could not be built.
    #[error("bad request: {0}")]
    Build(String),
}

/// Installs the process-wide crypto provider rustls needs before any reqwest client is
/// built (reqwest is built without one of its own): ring, which builds in seconds (aws-lc
/// needs cmake and minutes on 2 cores); its lack of post-quantum key exchange is what the
/// deprecation says. A second call is a no-op. Tests that build their own clients call it.
pub fn install_crypto_provider() {
    #[allow(deprecated)]
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl HttpClient {
    /// A client with the timeouts above, following no redirects.
    pub fn new() -> anyhow::Result<Self> {
        install_crypto_provider();
        let inner = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("studyhall/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { inner })
    }

    /// Sends `request` and reads at most [`MAX_RESPONSE_BYTES`] of its answer.
    pub async fn execute(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, HttpError> {
        let (parts, body) = request.into_parts();
        let url = reqwest::Url::parse(&parts.uri.to_string())
            .map_err(|e| HttpError::Build(e.to_string()))?;
        let mut response = self
            .inner
            .request(parts.method, url)
            .headers(parts.headers)
            .body(body)
            .send()
            .await?;
        let mut builder = http::Response::builder().status(response.status());
        if let Some(headers) = builder.headers_mut() {
            headers.extend(
                response
                    .headers()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone())),
            );
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(HttpError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        builder
            .body(body)
            .map_err(|e| HttpError::Build(e.to_string()))
    }
}

impl<'c> openidconnect::AsyncHttpClient<'c> for HttpClient {
    type Error = HttpError;
    type Future =
        Pin<Box<dyn Future<Output = Result<http::Response<Vec<u8>>, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: http::Request<Vec<u8>>) -> Self::Future {
        Box::pin(self.execute(request))
    }
}
