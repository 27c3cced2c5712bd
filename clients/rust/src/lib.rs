//! Client for authnzd (and authnzerver): encrypts a request envelope with the
//! shared Fernet key, posts it, decrypts and checks the reply.
//!
//! - A typed method per request type on [`Client`] (`session_new`,
//!   `user_login`, `apikey_verify_nosession`, `totp_verify`…), named after
//!   the request (`user-login` → `user_login`), taking its struct from
//!   [`params`] and answering its struct from [`responses`]. The methods of
//!   the authnzerver-era requests are hand-written, with examples, and some
//!   answer the value inside (`user_list` → `Vec<UserInfo>`,
//!   `user_check_access` → `bool`); every other request's method is made
//!   from the catalogue by a macro, so a new request type has one at once.
//! - An [`Error`] that tells the layers apart: the network and HTTP
//!   ([`Error::Connect`], [`Error::Timeout`], [`Error::Transport`],
//!   [`Error::Status`] with `retry_after` on a 429), the protocol
//!   ([`Error::Protocol`]: undecryptable reply, not JSON, another request's
//!   id, unexpected fields), and the server's "no" ([`Error::Refused`],
//!   with `failure_reason`, `messages` and the raw fields).
//! - One pooled HTTP client per [`Client`], shared by its clones; timeouts
//!   set with [`Client::builder`].
//! - The untyped [`Client::request`] for anything else, which reports every
//!   HTTP status and refusal in its [`Reply`] rather than as an error.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use authnzd_client::{Client, Error, params};
//!
//! let client = Client::builder("http://127.0.0.1:13431/", "<fernet key>")
//!     .timeout(Duration::from_secs(5))
//!     .client_ipaddr("203.0.113.7")
//!     .build()?;
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
//!         session_token: session.session_token.into(),
//!         email: "ada@example.com".into(),
//!         password: "correct horse battery staple".into(),
//!         code: None,
//!     })
//!     .await;
//! match login {
//!     Ok(user) => println!("user {} ({})", user.user_id, user.user_role),
//!     Err(Error::Refused { messages, .. }) => println!("{}", messages.join(" ")),
//!     Err(Error::Status { status: 429, retry_after, .. }) => println!("wait {retry_after:?} s"),
//!     Err(e) => return Err(e.into()),
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

mod api;
mod client;
mod error;

pub use authnzd_proto::Refusal;
pub use client::{Builder, Client, ClientError, Reply};
pub use error::{Error, ProtocolError};

/// The parameters of every request type, named after the request
/// (`user-login` → [`params::UserLogin`]). Required parameters that may be
/// null are `Option`s sent as `null`; optional ones are `Option`s left out
/// when `None`. Every struct has a `Default`, for `..Default::default()`.
pub mod params {
    pub use authnzd_proto::requests::*;
    pub use authnzd_proto::{Request, Secret, Spec, catalogue};
}

pub mod responses {
    pub use authnzd_proto::answers::*;
}
