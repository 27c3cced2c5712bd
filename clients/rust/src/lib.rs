//! Client for authnzd (and authnzerver): encrypts a request envelope with the
//! shared Fernet key, posts it, decrypts and checks the reply.
//!
//! Typed: a method per request type, parameters from [`params`], answers
//! from [`responses`], and an [`Error`] that tells the network, the protocol
//! and the server's "no" apart.
//!
//! ```no_run
//! # async fn demo() -> Result<(), authnzd_client::Error> {
//! use authnzd_client::{Client, Error, params};
//! let client = Client::new("http://127.0.0.1:13431/", "<fernet key>")?;
//! let session = client
//!     .session_new(&params::SessionNew {
//!         ip_address: "203.0.113.7".into(),
//!         user_agent: "Mozilla/5.0".into(),
//!         expires: "2030-01-01T00:00:00Z".into(),
//!         ..Default::default()
//!     })
//!     .await?;
//! let login = client
//!     .user_login(&params::UserLogin {
//!         session_token: session.session_token,
//!         email: "ada@example.com".into(),
//!         password: "correct horse battery staple".into(),
//!     })
//!     .await;
//! match login {
//!     Ok(user) => println!("user {} ({})", user.user_id, user.user_role),
//!     Err(Error::Refused { failure_reason, .. }) => println!("no: {failure_reason}"),
//!     Err(Error::Status { status: 429, retry_after, .. }) => println!("wait {retry_after:?} s"),
//!     Err(e) => return Err(e),
//! }
//! # Ok(()) }
//! ```
//!
//! The untyped [`Client::request`] sends any request name with a JSON body:
//!
//! ```no_run
//! # async fn demo() -> Result<(), authnzd_client::ClientError> {
//! use serde_json::json;
//! let client = authnzd_client::Client::new("http://127.0.0.1:13431/", "<fernet key>")?;
//! let reply = client
//!     .request("session-new", json!({
//!         "ip_address": "203.0.113.7", "user_agent": "demo", "user_id": null,
//!         "expires": "2030-01-01T00:00:00Z", "extra_info_json": null,
//!     }))
//!     .await?;
//! assert!(reply.success);
//! println!("{}", reply.response["session_token"]);
//! # Ok(()) }
//! ```

use std::time::Duration;

mod error;
pub mod params;
pub mod responses;
mod typed;

pub use error::Error;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use fernet::Fernet;
use serde_json::{Map, Value, json};

/// Failures of the untyped [`Client::request`] (which reports HTTP statuses
/// and refusals in its [`Reply`]).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("not a Fernet key (32 bytes, URL-safe base64)")]
    BadKey,
    #[error("request body must be a JSON object")]
    BodyNotObject,
    #[error("transport: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("the reply could not be decrypted with this key")]
    Undecryptable,
    #[error("the reply is not a response envelope: {0}")]
    BadReply(String),
    #[error("the reply answers request id {got}, not {sent}")]
    ReqidMismatch { sent: Value, got: Value },
}

/// One answer. For HTTP statuses other than 200 (401, 400, 413, 429, 503…)
/// there is no envelope: `success` is false, `failure_reason` holds the
/// server's plain-text explanation and `status` the code.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub success: bool,
    /// The request's own result fields (with `success`, `messages` and
    /// `failure_reason` stripped, as authnzerver's client does).
    pub response: Value,
    pub messages: Vec<String>,
    pub failure_reason: Option<String>,
    pub status: u16,
    /// `Retry-After` seconds on a 429.
    pub retry_after: Option<u64>,
}

#[derive(Clone)]
pub struct Client {
    url: String,
    fernet: std::sync::Arc<Fernet>,
    http: reqwest::Client,
    client_ipaddr: String,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Sets up a [`Client`]: timeouts and the end user's address.
///
/// ```
/// # fn demo() -> Result<(), authnzd_client::ClientError> {
/// use std::time::Duration;
/// let key = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";
/// let client = authnzd_client::Client::builder("http://127.0.0.1:13431/", key)
///     .timeout(Duration::from_secs(2))
///     .client_ipaddr("203.0.113.7")
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    url: String,
    key: String,
    connect_timeout: Duration,
    timeout: Duration,
    client_ipaddr: String,
}

impl Builder {
    /// Time to set up a connection (default 5 s).
    pub fn connect_timeout(mut self, t: Duration) -> Builder {
        self.connect_timeout = t;
        self
    }

    /// Time for a whole request (default 30 s).
    pub fn timeout(mut self, t: Duration) -> Builder {
        self.timeout = t;
        self
    }

    /// The end user's IP address, sent with each request unless the body
    /// carries its own `client_ipaddr` (default `127.0.0.1`).
    pub fn client_ipaddr(mut self, ip: impl Into<String>) -> Builder {
        self.client_ipaddr = ip.into();
        self
    }

    pub fn build(self) -> Result<Client, ClientError> {
        let fernet = Fernet::new(self.key.trim()).ok_or(ClientError::BadKey)?;
        // reqwest's rustls needs a process-wide crypto provider; Err only
        // means one is installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        // One pooled HTTP client: connections are reused across requests.
        let http = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .build()?;
        Ok(Client {
            url: self.url,
            fernet: std::sync::Arc::new(fernet),
            http,
            client_ipaddr: self.client_ipaddr,
        })
    }
}

impl Client {
    /// `url` is the server's RPC URL (`http://host:port/`); `key` its Fernet key.
    pub fn new(url: impl Into<String>, key: &str) -> Result<Client, ClientError> {
        Client::builder(url, key).build()
    }

    pub fn builder(url: impl Into<String>, key: &str) -> Builder {
        Builder {
            url: url.into(),
            key: key.to_owned(),
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            client_ipaddr: "127.0.0.1".into(),
        }
    }

    /// The end user's IP address sent with each request unless the body
    /// carries its own `client_ipaddr`.
    pub fn with_client_ipaddr(mut self, ip: impl Into<String>) -> Client {
        self.client_ipaddr = ip.into();
        self
    }

    /// Sends `name` with `body` and a fresh random request id.
    pub async fn request(&self, name: &str, body: Value) -> Result<Reply, ClientError> {
        let reqid = Value::from(random_reqid());
        self.request_with_id(name, body, reqid).await
    }

    pub async fn request_with_id(
        &self,
        name: &str,
        body: Value,
        reqid: Value,
    ) -> Result<Reply, ClientError> {
        let Value::Object(body) = body else {
            return Err(ClientError::BodyNotObject);
        };
        let ip = body
            .get("client_ipaddr")
            .and_then(Value::as_str)
            .unwrap_or(&self.client_ipaddr)
            .to_owned();
        let envelope = json!({"request": name, "body": body, "reqid": reqid, "client_ipaddr": ip});
        let sealed = self.seal(&envelope);
        let res = self.http.post(&self.url).body(sealed).send().await?;
        let status = res.status().as_u16();
        let retry_after = res
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let text = res.text().await?;
        if status != 200 {
            return Ok(Reply {
                success: false,
                response: Value::Null,
                messages: vec![],
                failure_reason: Some(text.trim().to_owned()),
                status,
                retry_after,
            });
        }
        let reply = self.open(&text)?;
        parse_reply(reply, &reqid, status)
    }

    /// `base64(fernet(json))`, the request body authnzerver expects.
    pub fn seal(&self, envelope: &Value) -> String {
        STANDARD.encode(self.fernet.encrypt(envelope.to_string().as_bytes()))
    }

    /// Decrypts a response body.
    pub fn open(&self, body: &str) -> Result<Value, ClientError> {
        let token = STANDARD
            .decode(body.trim())
            .map_err(|_| ClientError::Undecryptable)?;
        let token = String::from_utf8(token).map_err(|_| ClientError::Undecryptable)?;
        let plain = self
            .fernet
            .decrypt(&token)
            .map_err(|_| ClientError::Undecryptable)?;
        serde_json::from_slice(&plain).map_err(|e| ClientError::BadReply(e.to_string()))
    }
}

fn parse_reply(reply: Value, sent: &Value, status: u16) -> Result<Reply, ClientError> {
    let Value::Object(mut top) = reply else {
        return Err(ClientError::BadReply("not an object".into()));
    };
    let got = top.remove("reqid").unwrap_or(Value::Null);
    if &got != sent {
        return Err(ClientError::ReqidMismatch {
            sent: sent.clone(),
            got,
        });
    }
    let success = top
        .get("success")
        .and_then(Value::as_bool)
        .ok_or_else(|| ClientError::BadReply("no boolean `success`".into()))?;
    let messages = match top.remove("messages") {
        Some(Value::Array(m)) => m
            .into_iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect(),
        _ => vec![],
    };
    let failure_reason = top
        .remove("failure_reason")
        .and_then(|v| v.as_str().map(str::to_owned));
    let mut response = match top.remove("response") {
        Some(Value::Object(r)) => r,
        _ => Map::new(),
    };
    for k in ["success", "messages", "failure_reason"] {
        response.remove(k);
    }
    Ok(Reply {
        success,
        response: Value::Object(response),
        messages,
        failure_reason,
        status,
        retry_after: None,
    })
}

fn random_reqid() -> String {
    let mut b = [0u8; 8];
    // A request id needs uniqueness, not secrecy; fall back to the clock.
    if getrandom::fill(&mut b).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        b = nanos.to_be_bytes();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}
