//! `authnzd request NAME BODY`: one request to a running server, sealed and
//! opened by the Rust client (`authnzd-client`), the answer printed as
//! JSON — a `curl` for the envelope.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use authnzd::config::Config;
use authnzd::envelope::KeyRing;
use authnzd::keys::{self, KeySource, KeySourceError};
use authnzd_client::{Client, ClientError};
use clap::Args;
use serde_json::Value;

#[derive(Args)]
#[command(
    long_about = "Sends one request, sealed with the newest key of the ring (from --key, \
--key-file, or the configuration as `serve` reads it), to --url (default: the configured \
listen address and port) and prints the decrypted answer as JSON: {success, response, \
messages, failure_reason}. Exits 0 when the server answered success, 1 otherwise.",
    after_help = "Examples:\n  authnzd request session-new '{\"ip_address\":\"10.0.0.1\",\"user_agent\":\"curl\",\"expires\":\"2030-01-01T00:00:00Z\",\"user_id\":null,\"extra_info_json\":null}'\n  \
authnzd request user-list '{\"user_id\":null}' --url http://10.0.0.5:13431/ --key-file frontend.key"
)]
pub struct RequestArgs {
    /// The request type (`authnzd catalogue` lists them).
    name: String,
    /// Its body: a JSON object.
    #[arg(default_value = "{}")]
    body: String,
    /// The server (default: http://LISTEN:PORT/ from the configuration).
    #[arg(long)]
    url: Option<String>,
    /// The Fernet key itself. Write `--key=VALUE`: a URL-safe base64 key may
    /// start with '-'.
    #[arg(long, allow_hyphen_values = true)]
    key: Option<String>,
    /// The end user's address the envelope names (`client_ipaddr`).
    #[arg(long, default_value = "127.0.0.1")]
    client_ip: String,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("the body is not a JSON object: {0}")]
    Body(String),
    #[error(transparent)]
    Key(#[from] KeySourceError),
    #[error("--key: {0}")]
    BadKey(authnzd::envelope::KeyError),
    #[error("key file {0} does not exist")]
    NoKeyFile(String),
    #[error("{0}")]
    Client(#[from] ClientError),
    #[error("HTTP {status}: {reason}")]
    Status { status: u16, reason: String },
    #[error("refused: {0}")]
    Refused(String),
}

pub async fn run(
    config: &Config,
    key_file: Option<&Path>,
    args: &RequestArgs,
) -> Result<(), super::CliError> {
    Ok(send(config, key_file, args).await?)
}

async fn send(
    config: &Config,
    key_file: Option<&Path>,
    args: &RequestArgs,
) -> Result<(), RequestError> {
    let body: Value = serde_json::from_str(&args.body)
        .map_err(|e| RequestError::Body(e.to_string()))
        .and_then(|v: Value| match v {
            Value::Object(_) => Ok(v),
            _ => Err(RequestError::Body("not an object".into())),
        })?;
    let key = newest_key(config, key_file, args.key.as_deref())?;
    let url = args.url.clone().unwrap_or_else(|| default_url(config));
    authnzd::tls::install_provider();
    let client = Client::builder(url, &key)
        .client_ipaddr(args.client_ip.clone())
        .timeout(Duration::from_secs(args.timeout))
        .build()?;
    let reply = client.request(&args.name, body).await?;
    if reply.status != 200 {
        return Err(RequestError::Status {
            status: reply.status,
            reason: reply.failure_reason.unwrap_or_default(),
        });
    }
    // Fields in alphabetical order, as the output has always had them.
    #[derive(serde::Serialize)]
    struct Shown<'a> {
        failure_reason: &'a Option<String>,
        messages: &'a [String],
        response: &'a Value,
        success: bool,
    }
    let shown = Shown {
        failure_reason: &reply.failure_reason,
        messages: &reply.messages,
        response: &reply.response,
        success: reply.success,
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&shown).unwrap_or_default()
    );
    if reply.success {
        Ok(())
    } else {
        Err(RequestError::Refused(
            reply.failure_reason.unwrap_or_default(),
        ))
    }
}

/// The newest key of the ring: `--key`, else `--key-file`, else where
/// `serve` reads it.
fn newest_key(
    config: &Config,
    key_file: Option<&Path>,
    key: Option<&str>,
) -> Result<String, RequestError> {
    let ring = match (key, key_file) {
        (Some(k), _) => KeyRing::parse(k).map_err(RequestError::BadKey)?,
        (None, Some(path)) => keys::read_key_file(path)?,
        (None, None) => match keys::source(config) {
            KeySource::Inline(secret) => KeyRing::parse(secret).map_err(RequestError::BadKey)?,
            KeySource::File(path) if !path.exists() => {
                return Err(RequestError::NoKeyFile(path.display().to_string()));
            }
            KeySource::File(path) => keys::read_key_file(&path)?,
        },
    };
    Ok(ring
        .to_file_text()
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned())
}

/// `http://LISTEN:PORT/`, with a wildcard address asked on loopback.
fn default_url(config: &Config) -> String {
    let host = match config.server.listen {
        IpAddr::V4(a) if a.is_unspecified() => "127.0.0.1".to_owned(),
        IpAddr::V6(a) if a.is_unspecified() => "[::1]".to_owned(),
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => format!("[{a}]"),
    };
    format!("http://{host}:{}/", config.server.port)
}
