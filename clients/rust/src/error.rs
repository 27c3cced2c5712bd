//! What a typed call can fail with, by layer: the network, the protocol,
//! or the server's answer.

use serde_json::Value;

use crate::ClientError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request did not get an HTTP answer: connect failure, timeout,
    /// broken connection.
    #[error("transport: {0}")]
    Transport(#[source] reqwest::Error),
    /// An HTTP answer other than 200: 401 (key, freshness, replay), 400
    /// (malformed envelope), 413, 429 (`retry_after` seconds), 503.
    #[error("HTTP {status}: {message}")]
    Status {
        status: u16,
        message: String,
        retry_after: Option<u64>,
    },
    /// A 200 that is not a valid answer to this request: undecryptable,
    /// not an envelope, another request's id, or fields of the wrong shape.
    #[error("protocol: {0}")]
    Protocol(String),
    /// The server handled the request and said no (`success: false`).
    #[error("refused: {failure_reason}")]
    Refused {
        failure_reason: String,
        messages: Vec<String>,
        /// The fields that came with the refusal (`problems` for bad
        /// parameters, for instance).
        response: Value,
    },
}

impl Error {
    /// The server's `failure_reason`, when it refused.
    pub fn failure_reason(&self) -> Option<&str> {
        match self {
            Error::Refused { failure_reason, .. } => Some(failure_reason),
            _ => None,
        }
    }
}

impl From<ClientError> for Error {
    fn from(e: ClientError) -> Error {
        match e {
            ClientError::Transport(e) => Error::Transport(e),
            other => Error::Protocol(other.to_string()),
        }
    }
}
