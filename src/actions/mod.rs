//! Actions: plain async functions over `App` that return an `Outcome`. They
//! know nothing of HTTP or Fernet.

pub use authnzd_proto::Refusal;
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
    pub messages: Vec<String>,
    pub failure_reason: Option<Refusal>,
}

impl Outcome {
    pub fn ok(fields: Value, message: impl Into<String>) -> Outcome {
        Outcome {
            success: true,
            fields: into_map(fields),
            messages: vec![message.into()],
            failure_reason: None,
        }
    }

    pub fn fail(reason: Refusal, message: impl Into<String>, fields: Value) -> Outcome {
        Outcome {
            success: false,
            fields: into_map(fields),
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
