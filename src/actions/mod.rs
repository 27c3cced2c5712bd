//! The domain: one function per request, taking its proto parameter type
//! and answering `Done<its answer type>` (the answer and the end-user
//! messages, or a refusal, or a fault). They know nothing of HTTP, Fernet or
//! the wire envelope (`rpc` adapts them), so the RPC, the command line and
//! next the portal call the same functions.

pub use authnzd_proto::Refusal;
use serde_json::{Map, Value};

pub use crate::event::Event;
use crate::security::password::HashError;
use crate::security::tokens::RandomError;

pub mod access;
pub mod apikey;
pub mod apikey_nosession;
pub mod audit;
pub mod chores;
pub mod email;
pub mod gateway;
pub mod internal;
pub mod links;
pub mod login;
pub mod mfa;
pub mod passkeys;
pub mod password;
pub mod password_check;
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
    /// Redis did not answer and the operator chose to refuse then.
    #[error(transparent)]
    Shared(#[from] crate::cluster::SharedError),
    #[error("{0}")]
    Internal(String),
}

/// A request's typed answer and the end-user messages that go with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Said<A> {
    pub answer: A,
    pub messages: Vec<String>,
}

impl<A> Said<A> {
    pub fn new(answer: A, message: impl Into<String>) -> Said<A> {
        Said {
            answer,
            messages: vec![message.into()],
        }
    }
}

/// A refusal: why (`failure_reason`), what to tell the end user, and the
/// fields the wire answer carries with it (authnzerver's answers keep their
/// fields, mostly as nulls, when they fail).
#[derive(Debug, Clone, PartialEq)]
pub struct No {
    pub reason: Refusal,
    pub messages: Vec<String>,
    pub fields: Map<String, Value>,
}

impl No {
    pub fn new(reason: Refusal, message: impl Into<String>) -> No {
        No {
            reason,
            messages: vec![message.into()],
            fields: Map::new(),
        }
    }

    /// With the field `name` set to `value`.
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> No {
        self.fields.insert(name.to_owned(), value.into());
        self
    }

    /// With each of `names` set to null.
    pub fn nulls(mut self, names: &[&str]) -> No {
        for n in names {
            self.fields.insert((*n).to_owned(), Value::Null);
        }
        self
    }
}

/// Why a request was not done: a refusal the client gets as `success:
/// false`, or a fault (503). `?` carries either.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("refused: {}", .0.reason)]
    No(Box<No>),
    #[error(transparent)]
    Fault(#[from] Fault),
}

impl From<No> for Refused {
    fn from(no: No) -> Refused {
        Refused::No(Box::new(no))
    }
}

impl From<sea_orm::DbErr> for Refused {
    fn from(e: sea_orm::DbErr) -> Refused {
        Refused::Fault(e.into())
    }
}

impl From<HashError> for Refused {
    fn from(e: HashError) -> Refused {
        Refused::Fault(e.into())
    }
}

impl From<RandomError> for Refused {
    fn from(e: RandomError) -> Refused {
        Refused::Fault(e.into())
    }
}

/// What a typed action gives: its answer, or why not.
pub type Done<A> = Result<Said<A>, Refused>;

/// A refusal as an `Err`, for `return no(…)` / `Err(no(…))?`.
pub fn no<T>(reason: Refusal, message: impl Into<String>) -> Result<T, Refused> {
    Err(No::new(reason, message).into())
}

/// Whether the account may sign in now, as `user-login` decides: active,
/// not locked (by role or lockout). A sign-up waiting for its verification
/// is inactive; an address changed since is unverified but signs in (it is
/// only not asserted to others: see `gateway`).
pub(crate) fn can_sign_in(u: &entity::users::Model, now: chrono::NaiveDateTime) -> bool {
    u.is_active
        && u.user_role != authnzd_proto::Role::Locked
        && u.lock_expires.is_none_or(|t| t <= now)
}

/// Writes a security event to the audit log (the client IP keyed, never
/// stored as such).
pub async fn audit(
    app: &crate::app::App,
    ctx: &Ctx,
    event: Event,
    user_id: Option<i64>,
) -> Result<(), sea_orm::DbErr> {
    crate::store::audit::record(
        &app.db,
        app.now(),
        &event,
        user_id,
        app.ip_digest(ctx.client_ipaddr.as_deref()),
    )
    .await
}
