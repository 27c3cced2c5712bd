//! Actions: plain async functions over `App` that return an `Outcome`. They
//! know nothing of HTTP or Fernet.

pub use authnzd_proto::Refusal;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::security::password::HashError;
use crate::security::tokens::RandomError;

pub mod access;
pub mod apikey;
pub mod apikey_nosession;
pub mod audit;
pub mod email;
pub mod gateway;
pub mod internal;
pub mod login;
pub mod mfa;
pub mod password;
pub mod passwordless;
pub mod pubkey;
pub mod session;
pub mod token;
pub mod totp;
pub mod user;

/// Per-request facts an action may need besides its parameters.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub reqid: Value,
    pub client_ipaddr: Option<String>,
}

/// A handled request: `success` with the request's own response fields,
/// end-user `messages`, and a machine `failure_reason` when it failed.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub success: bool,
    pub fields: Map<String, Value>,
    /// Fields serialised from typed values by the action, written after
    /// `fields`: hot answers skip building a `Value` tree.
    pub written: Written,
    pub messages: Vec<String>,
    pub failure_reason: Option<Refusal>,
}

/// Response fields as JSON text, in order.
#[derive(Debug, Clone, Default)]
pub struct Written(pub Vec<(&'static str, Box<RawValue>)>);

impl PartialEq for Written {
    fn eq(&self, other: &Written) -> bool {
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .zip(&other.0)
                .all(|((a, x), (b, y))| a == b && x.get() == y.get())
    }
}

impl Outcome {
    pub fn ok(fields: Value, message: impl Into<String>) -> Outcome {
        Outcome {
            success: true,
            fields: into_map(fields),
            written: Written::default(),
            messages: vec![message.into()],
            failure_reason: None,
        }
    }

    /// A success whose one field `name` is `value` serialised as it stands.
    pub fn ok_written(
        name: &'static str,
        value: &impl serde::Serialize,
        message: impl Into<String>,
    ) -> Result<Outcome, Fault> {
        // `to_raw_value` trusts its own output; `RawValue::from_string` would
        // parse the text again to check it.
        let raw = serde_json::value::to_raw_value(value)
            .map_err(|e| Fault::Internal(format!("answer not serialisable: {e}")))?;
        Ok(Outcome {
            written: Written(vec![(name, raw)]),
            ..Outcome::ok(Value::Null, message)
        })
    }

    pub fn fail(reason: Refusal, message: impl Into<String>, fields: Value) -> Outcome {
        Outcome {
            success: false,
            fields: into_map(fields),
            written: Written::default(),
            messages: vec![message.into()],
            failure_reason: Some(reason),
        }
    }
}

fn into_map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Faults are not answers: the request could not be handled at all, and the
/// client gets 503 while the server keeps serving.
#[derive(Debug, thiserror::Error)]
pub enum Fault {
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Random(#[from] RandomError),
    #[error("{0}")]
    Internal(String),
}

pub type ActionResult = Result<Outcome, Fault>;

/// Whether the account may sign in now, as `user-login` decides: active,
/// verified, not locked (by role or lockout).
pub(crate) fn can_sign_in(u: &entity::users::Model, now: chrono::NaiveDateTime) -> bool {
    u.is_active
        && u.email_verified
        && u.user_role != authnzd_proto::Role::Locked
        && u.lock_expires.is_none_or(|t| t <= now)
}

/// Writes a security event to the audit log (the client IP keyed, never
/// stored as such).
pub async fn audit(
    app: &crate::app::App,
    ctx: &Ctx,
    event: &str,
    user_id: Option<i64>,
    detail: Value,
) -> Result<(), sea_orm::DbErr> {
    crate::store::audit::record(
        &app.db,
        app.now(),
        event,
        user_id,
        app.ip_digest(ctx.client_ipaddr.as_deref()),
        Some(detail),
    )
    .await
}
