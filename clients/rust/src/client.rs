//! The connection, the envelope and the untyped request API.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use fernet::Fernet;
use serde_json::{Map, Value, json};

use crate::{Error, ProtocolError};

/// Failures of the untyped [`Client::request`] (which reports HTTP statuses
/// and refusals in its [`Reply`]) and of building a [`Client`].
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

impl From<Error> for ClientError {
    fn from(e: Error) -> ClientError {
        match e {
            Error::Connect(e) | Error::Timeout(e) | Error::Transport(e) => {
                ClientError::Transport(e)
            }
            Error::BadKey => ClientError::BadKey,
            Error::Protocol(ProtocolError::Undecryptable) => ClientError::Undecryptable,
            Error::Protocol(ProtocolError::ReqidMismatch { sent, got }) => {
                ClientError::ReqidMismatch { sent, got }
            }
            Error::Protocol(ProtocolError::NotEnvelope(why)) => ClientError::BadReply(why),
            other => ClientError::BadReply(other.to_string()),
        }
    }
}

/// One answer to [`Client::request`]. For HTTP statuses other than 200
/// (401, 400, 413, 429, 503…) there is no envelope: `success` is false,
/// `failure_reason` holds the server's plain-text explanation and `status`
/// the code.
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

impl Reply {
    /// `failure_reason` as a variant to match on.
    pub fn refusal(&self) -> Option<authnzd_proto::Refusal> {
        self.failure_reason
            .as_deref()
            .map(authnzd_proto::Refusal::parse)
    }
}

/// A connection to one authnzd (or authnzerver) with one key.
///
/// Cloning is cheap and clones share the connection pool, so build one
/// client per server and hand clones to tasks.
#[derive(Clone)]
pub struct Client {
    url: String,
    fernet: Arc<Fernet>,
    http: reqwest::Client,
    client_ipaddr: String,
}

impl std::fmt::Debug for Client {
    // Never print the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.url)
            .field("client_ipaddr", &self.client_ipaddr)
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
///     .connect_timeout(Duration::from_millis(500))
///     .timeout(Duration::from_secs(2))
///     .client_ipaddr("203.0.113.7")
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
#[must_use]
pub struct Builder {
    url: String,
    key: String,
    connect_timeout: Duration,
    timeout: Duration,
    pool_idle_timeout: Duration,
    client_ipaddr: String,
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("url", &self.url)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("client_ipaddr", &self.client_ipaddr)
            .finish_non_exhaustive()
    }
}

impl Builder {
    /// Time to set up a connection (default 5 s).
    pub fn connect_timeout(mut self, t: Duration) -> Builder {
        self.connect_timeout = t;
        self
    }

    /// Time for a whole request, connection included (default 30 s).
    pub fn timeout(mut self, t: Duration) -> Builder {
        self.timeout = t;
        self
    }

    /// How long an unused pooled connection is kept open (default 60 s).
    pub fn pool_idle_timeout(mut self, t: Duration) -> Builder {
        self.pool_idle_timeout = t;
        self
    }

    /// The end user's IP address, sent with each request unless the body
    /// carries its own `client_ipaddr` (default `127.0.0.1`). authnzd rate
    /// limits and audits by it.
    pub fn client_ipaddr(mut self, ip: impl Into<String>) -> Builder {
        self.client_ipaddr = ip.into();
        self
    }

    pub fn build(self) -> Result<Client, ClientError> {
        let fernet = Fernet::new(self.key.trim()).ok_or(ClientError::BadKey)?;
        // reqwest's rustls needs a process-wide crypto provider; Err only
        // means one is installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        // One pooled HTTP client: connections are reused across requests
        // and across clones of the Client.
        let http = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            .pool_idle_timeout(self.pool_idle_timeout)
            .build()?;
        Ok(Client {
            url: self.url,
            fernet: Arc::new(fernet),
            http,
            client_ipaddr: self.client_ipaddr,
        })
    }
}

impl Client {
    /// `url` is the server's RPC URL (`http://host:port/`); `key` its Fernet
    /// key. Default timeouts; see [`Client::builder`] to change them.
    pub fn new(url: impl Into<String>, key: &str) -> Result<Client, ClientError> {
        Client::builder(url, key).build()
    }

    pub fn builder(url: impl Into<String>, key: &str) -> Builder {
        Builder {
            url: url.into(),
            key: key.to_owned(),
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            pool_idle_timeout: Duration::from_secs(60),
            client_ipaddr: "127.0.0.1".into(),
        }
    }

    /// The end user's IP address sent with each request unless the body
    /// carries its own `client_ipaddr`. The clone shares the pool.
    pub fn with_client_ipaddr(mut self, ip: impl Into<String>) -> Client {
        self.client_ipaddr = ip.into();
        self
    }

    /// Sends `name` with `body` and a fresh random request id.
    pub async fn request(&self, name: &str, body: Value) -> Result<Reply, ClientError> {
        self.request_with_id(name, body, random_reqid()).await
    }

    /// Sends `name` with `body` and the caller's request id (a string or an
    /// integer); a reply to any other id is an error.
    pub async fn request_with_id(
        &self,
        name: &str,
        body: Value,
        reqid: Value,
    ) -> Result<Reply, ClientError> {
        let Value::Object(body) = body else {
            return Err(ClientError::BodyNotObject);
        };
        Ok(self.exchange(name, body, reqid).await?)
    }

    /// One round trip. Every HTTP status is a [`Reply`]; only failures to
    /// get or read one are errors.
    pub(crate) async fn exchange(
        &self,
        name: &str,
        body: Map<String, Value>,
        reqid: Value,
    ) -> Result<Reply, Error> {
        let ip = body
            .get("client_ipaddr")
            .and_then(Value::as_str)
            .unwrap_or(&self.client_ipaddr)
            .to_owned();
        let envelope = json!({"request": name, "body": body, "reqid": reqid, "client_ipaddr": ip});
        let res = self
            .http
            .post(&self.url)
            .body(self.seal(&envelope))
            .send()
            .await
            .map_err(Error::from_reqwest)?;
        let status = res.status().as_u16();
        let retry_after = res
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let text = res.text().await.map_err(Error::from_reqwest)?;
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
        let reply = self.open_envelope(&text)?;
        Ok(parse_reply(reply, &reqid, status)?)
    }

    /// `base64(fernet(json))`, the request body authnzerver expects. Each
    /// call encrypts afresh (new IV and timestamp), so a sealed body can be
    /// sent only once: authnzd refuses replays.
    pub fn seal(&self, envelope: &Value) -> String {
        self.seal_bytes(envelope.to_string().as_bytes())
    }

    /// [`Client::seal`] for an envelope the caller has serialised itself
    /// (e.g. from borrowed structs, to spare building a [`Value`]).
    pub fn seal_bytes(&self, envelope_json: &[u8]) -> String {
        STANDARD.encode(self.fernet.encrypt(envelope_json))
    }

    /// Decrypts a response body.
    pub fn open(&self, body: &str) -> Result<Value, ClientError> {
        Ok(self.open_envelope(body)?)
    }

    /// Decrypts a response body to its JSON text, for callers that parse
    /// it into their own types. Checks nothing but the key.
    pub fn open_bytes(&self, body: &[u8]) -> Result<Vec<u8>, ClientError> {
        self.decrypt(body).map_err(|_| ClientError::Undecryptable)
    }

    fn decrypt(&self, body: &[u8]) -> Result<Vec<u8>, ProtocolError> {
        let token = STANDARD
            .decode(body.trim_ascii())
            .map_err(|_| ProtocolError::Undecryptable)?;
        let token = String::from_utf8(token).map_err(|_| ProtocolError::Undecryptable)?;
        self.fernet
            .decrypt(&token)
            .map_err(|_| ProtocolError::Undecryptable)
    }

    fn open_envelope(&self, body: &str) -> Result<Value, Error> {
        let plain = self.decrypt(body.as_bytes())?;
        Ok(serde_json::from_slice(&plain).map_err(ProtocolError::BadJson)?)
    }
}

fn parse_reply(reply: Value, sent: &Value, status: u16) -> Result<Reply, ProtocolError> {
    let Value::Object(mut top) = reply else {
        return Err(ProtocolError::NotEnvelope("not an object".into()));
    };
    let got = top.remove("reqid").unwrap_or(Value::Null);
    if &got != sent {
        return Err(ProtocolError::ReqidMismatch {
            sent: sent.clone(),
            got,
        });
    }
    let success = top
        .get("success")
        .and_then(Value::as_bool)
        .ok_or_else(|| ProtocolError::NotEnvelope("no boolean `success`".into()))?;
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
    // authnzerver repeats these inside `response`; its client strips them.
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

pub(crate) fn random_reqid() -> Value {
    let mut b = [0u8; 8];
    // A request id needs uniqueness, not secrecy; fall back to the clock.
    if getrandom::fill(&mut b).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        b = nanos.to_be_bytes();
    }
    Value::from(b.iter().map(|x| format!("{x:02x}")).collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_checked_against_the_request_id() {
        let ok = json!({"success": true, "reqid": 7, "messages": ["fine"],
                        "response": {"user_id": 4, "success": true}});
        let r = parse_reply(ok.clone(), &json!(7), 200).unwrap();
        assert_eq!(r.response, json!({"user_id": 4}));
        assert_eq!(r.messages, ["fine"]);
        // Same value, other JSON type: not the same id.
        let err = parse_reply(ok, &json!("7"), 200).unwrap_err();
        assert!(
            matches!(err, ProtocolError::ReqidMismatch { .. }),
            "{err:?}"
        );
        let err = parse_reply(json!({"reqid": 1}), &json!(1), 200).unwrap_err();
        assert!(matches!(err, ProtocolError::NotEnvelope(_)), "{err:?}");
    }

    #[test]
    fn foreign_tokens_do_not_open() {
        let key = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";
        let c = Client::new("http://127.0.0.1:1/", key).unwrap();
        let sealed = c.seal(&json!({"a": 1}));
        assert_eq!(c.open(&sealed).unwrap(), json!({"a": 1}));
        let other = Client::new("http://127.0.0.1:1/", &Fernet::generate_key()).unwrap();
        assert!(matches!(
            other.open(&sealed),
            Err(ClientError::Undecryptable)
        ));
        assert!(matches!(c.open("%%%"), Err(ClientError::Undecryptable)));
        let raw = c.seal_bytes(br#"{"b":2}"#);
        assert_eq!(c.open_bytes(raw.as_bytes()).unwrap(), br#"{"b":2}"#);
        assert!(matches!(
            other.open_bytes(raw.as_bytes()),
            Err(ClientError::Undecryptable)
        ));
        let not_json = STANDARD.encode(c.fernet.encrypt(b"nope"));
        assert!(matches!(
            c.open_envelope(&not_json),
            Err(Error::Protocol(ProtocolError::BadJson(_)))
        ));
    }

    #[test]
    fn bad_keys_are_refused() {
        assert!(matches!(
            Client::new("http://127.0.0.1:1/", "short"),
            Err(ClientError::BadKey)
        ));
        assert!(matches!(Error::from(ClientError::BadKey), Error::BadKey));
    }
}
