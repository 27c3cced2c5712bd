//! The tokens in links the portal mails: a password reset, an address to
//! verify. In authnzerver the frontend makes these; here the domain does,
//! because a token is bound to account state only the domain may read.
//!
//! A token is sealed under the key ring (`Label::MailedLinks`), so it is
//! unguessable and cannot be forged or altered; it names its purpose, the
//! user and when it expires (by the server's clock), and carries a keyed
//! digest of what it may change, so it dies with that: a reset link with
//! the password hash it was made for (spent once any new password is set),
//! a verification link with the address it was sent to.

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::Fault;
use crate::app::App;
use crate::security::email;
use crate::store;

/// What a link is for; part of what is sealed, so one kind never opens as
/// the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Purpose {
    Reset,
    Verify,
}

/// The sealed contents.
#[derive(Serialize, Deserialize)]
struct Claims {
    p: Purpose,
    /// The user id.
    u: i64,
    /// Expiry, Unix seconds.
    e: i64,
    /// The binding digest (`binding`).
    b: String,
}

/// The account a link that checks out is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkTarget {
    pub user_id: i64,
    pub email: String,
}

/// Hex digits of the binding kept: 128 bits.
const BINDING_HEX: usize = 32;

/// What a link is bound to, before it is keyed.
fn bound_to(purpose: Purpose, user: &entity::users::Model) -> String {
    match purpose {
        Purpose::Reset => format!("reset\0{}\0{}\0{}", user.user_id, user.email, user.password),
        Purpose::Verify => format!("verify\0{}\0{}", user.user_id, user.email),
    }
}

/// A keyed digest, cut to `BINDING_HEX`.
fn cut(mut digest: String) -> String {
    digest.truncate(BINDING_HEX);
    digest
}

/// Whether a reset may be asked for the account, as
/// `user-sendemail-forgotpass` decides.
fn may_reset(u: &entity::users::Model) -> bool {
    use authnzd_proto::Role;
    u.is_active && u.user_role != Role::Locked && u.user_role != Role::Anonymous
}

fn seal(app: &App, claims: &Claims) -> Result<String, Fault> {
    let plain = serde_json::to_vec(claims).map_err(|e| Fault::Internal(e.to_string()))?;
    app.keys
        .links
        .seal(&plain)
        .ok_or_else(|| Fault::Internal("no key to seal a mailed link with".into()))
}

fn expires(app: &App, ttl_secs: u64) -> i64 {
    let ttl = i64::try_from(ttl_secs).unwrap_or(i64::MAX);
    app.now().and_utc().timestamp().saturating_add(ttl)
}

/// A reset token for the account at `address`, valid `ttl_secs`. An
/// address with no account that may reset gets a token bound to nobody,
/// made with the same work, so the caller cannot tell (and sends it to the
/// mail action, which refuses it).
pub async fn reset_token(app: &App, address: &str, ttl_secs: u64) -> Result<String, Fault> {
    let user = store::users::by_email(&app.db, &email::normalise(address))
        .await?
        .filter(may_reset);
    let (u, b) = match &user {
        Some(u) => (u.user_id, app.keyed(&bound_to(Purpose::Reset, u))),
        None => (0, app.keyed("reset\0nobody")),
    };
    let claims = Claims {
        p: Purpose::Reset,
        u,
        e: expires(app, ttl_secs),
        b: cut(b),
    };
    seal(app, &claims)
}

/// A verification token for `user_id` at `address`, valid `ttl_secs`
/// (for a new account the domain has just made).
pub async fn verify_token(
    app: &App,
    user_id: i64,
    address: &str,
    ttl_secs: u64,
) -> Result<Option<String>, Fault> {
    let address = email::normalise(address);
    let Some(user) = store::users::by_id(&app.db, user_id)
        .await?
        .filter(|u| u.email == address)
    else {
        return Ok(None);
    };
    let claims = Claims {
        p: Purpose::Verify,
        u: user.user_id,
        e: expires(app, ttl_secs),
        b: cut(app.keyed(&bound_to(Purpose::Verify, &user))),
    };
    seal(app, &claims).map(Some)
}

/// The account a reset token is for, if it opens, has not expired, and the
/// account may reset with the password it was made for.
pub async fn open_reset(app: &App, token: &str) -> Result<Option<LinkTarget>, Fault> {
    Ok(open(app, token, Purpose::Reset).await?.map(target))
}

/// As `open_reset`, the account as read when the link was checked: its
/// password hash is the one the new password must replace.
pub(super) async fn reset_account(
    app: &App,
    token: &str,
) -> Result<Option<entity::users::Model>, Fault> {
    open(app, token, Purpose::Reset).await
}

/// The account a verification token is for, if it opens, has not expired,
/// and the account still has the address it was sent to.
pub async fn open_verify(app: &App, token: &str) -> Result<Option<LinkTarget>, Fault> {
    Ok(open(app, token, Purpose::Verify).await?.map(target))
}

fn target(user: entity::users::Model) -> LinkTarget {
    LinkTarget {
        user_id: user.user_id,
        email: user.email,
    }
}

async fn open(
    app: &App,
    token: &str,
    purpose: Purpose,
) -> Result<Option<entity::users::Model>, Fault> {
    // Mail clients may break a long token; it has no whitespace of its own.
    let token: String = token.split_whitespace().collect();
    let Some(opened) = app.keys.links.open(&token) else {
        return Ok(None);
    };
    let Ok(claims) = serde_json::from_slice::<Claims>(&opened.plain) else {
        return Ok(None);
    };
    if claims.p != purpose || claims.e <= app.now().and_utc().timestamp() {
        return Ok(None);
    }
    let Some(user) = store::users::by_id(&app.db, claims.u).await? else {
        return Ok(None);
    };
    if purpose == Purpose::Reset && !may_reset(&user) {
        return Ok(None);
    }
    // Under any ring key, so links mailed before a rotation still work.
    let bound = app
        .keyed_each(&bound_to(purpose, &user))
        .into_iter()
        .fold(false, |ok, d| {
            ok | bool::from(cut(d).as_bytes().ct_eq(claims.b.as_bytes()))
        });
    Ok(bound.then_some(user))
}
