//! What a typed call can fail with, by layer: the network and HTTP
//! ([`Error::Connect`], [`Error::Timeout`], [`Error::Transport`],
//! [`Error::Status`]), the protocol ([`Error::Protocol`]), or the server's
//! answer ([`Error::Refused`]).

use serde_json::Value;

use crate::ClientError;

/// The failure of a typed call.
///
/// ```no_run
/// # async fn demo(client: &authnzd_client::Client) {
/// use authnzd_client::{Error, ProtocolError, params};
/// let asked = params::SessionExists { session_token: "…".into() };
/// match client.session_exists(&asked).await {
///     Ok(info) => println!("user {}", info.user_id),
///     // The server answered and said no: show `messages` to the end user.
///     Err(Error::Refused { messages, .. }) => println!("{}", messages.join(" ")),
///     // Slow down for this many seconds.
///     Err(Error::Status { status: 429, retry_after, .. }) => println!("{retry_after:?}"),
///     // Worth retrying once the network or the server is back.
///     Err(e) if e.is_transport() => eprintln!("unreachable: {e}"),
///     // Wrong key, or something between us and the server that is not authnzd.
///     Err(Error::Protocol(ProtocolError::Undecryptable)) => eprintln!("check the key"),
///     Err(e) => eprintln!("{e}"),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No connection could be made: refused, unresolvable host, TLS
    /// handshake failure.
    #[error("could not connect: {0}")]
    Connect(#[source] reqwest::Error),
    /// The connect timeout or the request timeout ran out.
    #[error("timed out: {0}")]
    Timeout(#[source] reqwest::Error),
    /// The connection broke after it was made (reset, truncated reply).
    #[error("transport: {0}")]
    Transport(#[source] reqwest::Error),
    /// An HTTP answer other than 200, which carries no envelope: 401 (key,
    /// freshness, replay), 400 (malformed envelope), 413 (too large), 429
    /// (rate limited, `retry_after` seconds), 503 (server fault).
    #[error("HTTP {status}: {message}")]
    Status {
        status: u16,
        /// The server's one-line plain-text explanation.
        message: String,
        /// The `Retry-After` header, in seconds.
        retry_after: Option<u64>,
    },
    /// A 200 that is not a valid answer to this request.
    #[error("protocol: {0}")]
    Protocol(#[from] ProtocolError),
    /// The server handled the request and said no (`success: false`).
    #[error("refused: {failure_reason}")]
    Refused {
        /// Machine-oriented reason, for logs and branching; never shown to
        /// end users.
        failure_reason: String,
        /// Human-readable, safe to show to the end user.
        messages: Vec<String>,
        /// The fields that came with the refusal (`problems` for bad
        /// parameters, `user_id` for some login failures…).
        response: Value,
    },
    /// The key given to [`Client::new`](crate::Client::new) is not a Fernet
    /// key.
    #[error("not a Fernet key (32 bytes, URL-safe base64)")]
    BadKey,
}

/// Why a reply (or the request itself) did not fit the protocol.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// The parameters did not encode as a JSON object.
    #[error("the request could not be encoded: {0}")]
    Encode(String),
    /// Not base64 or not a Fernet token for this key: the wrong key, or a
    /// proxy answering in authnzd's place.
    #[error("the reply could not be decrypted with this key")]
    Undecryptable,
    /// Decrypted, but not JSON.
    #[error("the decrypted reply is not JSON: {0}")]
    BadJson(#[source] serde_json::Error),
    /// JSON, but not a response envelope.
    #[error("the reply is not a response envelope: {0}")]
    NotEnvelope(String),
    /// The reply answers another request.
    #[error("the reply answers request id {got}, not {sent}")]
    ReqidMismatch { sent: Value, got: Value },
    /// A successful reply whose fields do not have the documented shape.
    #[error("`{request}` answered an unexpected shape: {source}")]
    UnexpectedShape {
        request: String,
        #[source]
        source: serde_json::Error,
    },
}

impl Error {
    /// Why the server refused, as a variant to match on (`None` for every
    /// error that is not a refusal).
    pub fn refusal(&self) -> Option<authnzd_proto::Refusal> {
        match self {
            Error::Refused { failure_reason, .. } => {
                Some(authnzd_proto::Refusal::parse(failure_reason))
            }
            _ => None,
        }
    }

    /// Sorts a reqwest failure into connect, timeout or broken transport.
    pub(crate) fn from_reqwest(e: reqwest::Error) -> Error {
        // A connect timeout is both; the timeout is the more useful answer.
        if e.is_timeout() {
            Error::Timeout(e)
        } else if e.is_connect() {
            Error::Connect(e)
        } else {
            Error::Transport(e)
        }
    }

    /// True for failures below the protocol: no answer, or an HTTP status
    /// other than 200. These are the ones a retry might cure.
    pub fn is_transport(&self) -> bool {
        matches!(
            self,
            Error::Connect(_) | Error::Timeout(_) | Error::Transport(_) | Error::Status { .. }
        )
    }

    /// True when the server answered but the answer made no sense.
    pub fn is_protocol(&self) -> bool {
        matches!(self, Error::Protocol(_))
    }

    /// True when the server handled the request and said no.
    pub fn is_refused(&self) -> bool {
        matches!(self, Error::Refused { .. })
    }

    /// The HTTP status, when the server answered with something other
    /// than 200.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Seconds to wait before retrying, on a 429.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Error::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The server's `failure_reason`, when it refused.
    pub fn failure_reason(&self) -> Option<&str> {
        match self {
            Error::Refused { failure_reason, .. } => Some(failure_reason),
            _ => None,
        }
    }

    /// The end-user messages, when the server refused.
    pub fn messages(&self) -> &[String] {
        match self {
            Error::Refused { messages, .. } => messages,
            _ => &[],
        }
    }
}

impl From<ClientError> for Error {
    fn from(e: ClientError) -> Error {
        match e {
            ClientError::BadKey => Error::BadKey,
            ClientError::BodyNotObject => {
                ProtocolError::Encode("request body must be a JSON object".into()).into()
            }
            ClientError::Transport(e) => Error::from_reqwest(e),
            ClientError::Undecryptable => ProtocolError::Undecryptable.into(),
            ClientError::BadReply(why) => ProtocolError::NotEnvelope(why).into(),
            ClientError::ReqidMismatch { sent, got } => {
                ProtocolError::ReqidMismatch { sent, got }.into()
            }
        }
    }
}
