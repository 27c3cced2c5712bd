//! The second step of a sign-in for users with TOTP on: `user-login`, the
//! passchecks, `passwordless-finish` and a device-key login answer `second
//! factor required` with a single-use `mfa_token`, and `user-login-mfa`
//! completes the sign-in with a code. Also what a completed sign-in leaves
//! behind (its `amr`, for the session the frontend makes next) and whether a
//! session is fresh enough to change a credential.

use std::sync::Arc;

use authnzd_proto::{self as proto, Amr, Method, answers};
use entity::users;

use super::password_check::Passed;
use super::{Ctx, Done, Event, Fault, No, Refusal, Said, audit, no};
use crate::app::App;
use crate::cache::CachedSession;
use crate::secret::ExposeSecret;
use crate::security::tokens;
use crate::store;

/// A pending second-factor login's life.
const MFA_MINUTES: i64 = 5;
/// How long a completed sign-in waits for the frontend's `session-new`.
const GRANT_MINUTES: i64 = 5;
/// The second factors a code can be.
pub const METHODS: [&str; 2] = ["totp", "recovery_code"];
pub const ENTER_CODE: &str = "Enter the code from your authenticator app.";

/// Whether the user's logins need the second factor.
pub async fn required(app: &App, user_id: i64) -> Result<bool, Fault> {
    Ok(store::totp::is_enabled(&app.db, user_id).await?)
}

/// A single-use `mfa_token` for the second step of `user`'s sign-in, bound
/// to the pre-login session when there is one.
pub async fn mfa_token(
    app: &App,
    user: &users::Model,
    session_hash: Option<String>,
    first: Method,
) -> Result<String, Fault> {
    let token = tokens::new_token()?;
    let now = app.now();
    let expires = now + chrono::Duration::minutes(MFA_MINUTES);
    store::totp::insert_mfa_token(
        &app.db,
        tokens::digest(&token),
        user.user_id,
        session_hash,
        first.as_str(),
        now,
        expires,
    )
    .await?;
    Ok(token)
}

/// The refusal of a first factor that succeeded for a user with TOTP on:
/// no session yet, a single-use `mfa_token` bound to the user and the
/// pre-login session instead. A frontend that does not know MFA sees a
/// refusal and so never logs the user in.
pub async fn second_factor_required(
    app: &App,
    user: &users::Model,
    session_hash: Option<String>,
    first: Method,
) -> Result<No, Fault> {
    let token = mfa_token(app, user, session_hash, first).await?;
    let mut methods = if required(app, user.user_id).await? {
        METHODS.to_vec()
    } else {
        Vec::new()
    };
    // A passkey as the second step: `passkey-login-start` with the token.
    if first != Method::Passkey && super::passkeys::has_passkey(app, user.user_id).await? {
        methods.push("passkey");
    }
    Ok(No::new(Refusal::SecondFactorRequired, ENTER_CODE)
        .nulls(&["user_id"])
        .with("mfa_required", true)
        .with("mfa_token", token)
        .with("methods", methods))
}

/// The refusal of a request that needs the second factor in the request
/// itself (it has no second step).
pub fn code_needed() -> No {
    No::new(Refusal::SecondFactorRequired, ENTER_CODE)
        .nulls(&["user_id"])
        .with("mfa_required", true)
        .with("methods", METHODS.to_vec())
}

/// What the second step of a sign-in found.
pub enum Second {
    /// Signed in with these methods.
    Done(Amr),
    /// The account has a second factor and no code came with the request.
    Needed,
}

/// After a first factor `first` passed: the second factor, when the
/// account has one, from `code` (a TOTP or recovery code); a wrong code is
/// the refusal.
pub async fn second_factor(
    app: &App,
    ctx: &Ctx,
    passed: &Passed,
    first: Method,
    code: Option<&str>,
) -> Result<Second, super::Refused> {
    if !passed.needs_second {
        return Ok(Second::Done(Amr::new([first])));
    }
    let Some(code) = code else {
        return Ok(Second::Needed);
    };
    let second = super::totp::prove(app, ctx, &passed.user, code).await?;
    Ok(Second::Done(Amr::new([first, second])))
}

/// Records a completed sign-in with `amr`, for the session the frontend
/// makes next for this user (`session-new` takes it over).
pub async fn signed_in(app: &App, user_id: i64, amr: &Amr) -> Result<(), Fault> {
    let now = app.now();
    let expires = now + chrono::Duration::minutes(GRANT_MINUTES);
    store::grants::record(&app.db, user_id, amr.stored(), now, expires).await?;
    Ok(())
}

/// Whether a session may add or remove a credential now: signed in within
/// `fresh_sign_in_window`, with every factor the user has (a code when TOTP
/// is on, or a device key the operator counts as two).
pub async fn freshly_signed_in(app: &App, found: &CachedSession) -> Result<bool, Fault> {
    let window = i64::try_from(app.config.sessions.fresh_sign_in_window).unwrap_or(i64::MAX);
    let recent = found.session.auth_time.is_some_and(|at| {
        app.now()
            .signed_duration_since(at)
            .num_seconds()
            .clamp(0, i64::MAX)
            <= window
    });
    let amr = Amr::parse(found.session.amr());
    if !recent || amr.is_empty() {
        return Ok(false);
    }
    if !required(app, found.user.user_id).await? {
        return Ok(true);
    }
    let device_key_is_enough = app.config.pubkey.device_key_counts_as_mfa;
    Ok(amr
        .methods()
        .iter()
        .any(|m| m.is_second_factor() || (device_key_is_enough && *m == Method::DeviceKey)))
}

pub async fn login_mfa(app: Arc<App>, ctx: Ctx, p: proto::UserLoginMfa) -> Done<answers::LoggedIn> {
    const EXPIRED: &str = "This sign-in has expired; please log in again.";
    let now = app.now();
    let token_hash = tokens::digest(p.mfa_token.expose_secret());
    let Some(pending) = store::totp::take_mfa_token(&app.db, &token_hash, now).await? else {
        return no(Refusal::MfaTokenInvalid, EXPIRED);
    };
    // Bound to the pre-login session: ended since, the login is over.
    if let Some(session) = &pending.session_hash
        && super::session::live_session_by_digest(&app, session.clone())
            .await?
            .is_none()
    {
        return no(Refusal::MfaTokenInvalid, EXPIRED);
    }
    let Some(user) = store::users::by_id(&app.db, pending.user_id).await? else {
        return no(Refusal::MfaTokenInvalid, EXPIRED);
    };
    let first = Method::parse(&pending.first_factor).unwrap_or(Method::Pwd);
    let amr = match (&p.code, p.passkey_ceremony_id, p.passkey_credential) {
        (Some(code), _, _) => {
            let second = super::totp::prove(&app, &ctx, &user, code.expose_secret()).await?;
            Amr::new([first, second])
        }
        (None, Some(ceremony), Some(credential)) if first != Method::Passkey => {
            let (id, hash) = (user.user_id, &token_hash);
            super::passkeys::second_step(&app, &ctx, id, hash, &ceremony, credential).await?;
            Amr::new([first, Method::Passkey, Method::Mfa])
        }
        _ => {
            return no(
                Refusal::invalid("give code, or passkey_ceremony_id and passkey_credential"),
                ENTER_CODE,
            );
        }
    };
    signed_in(&app, user.user_id, &amr).await?;
    if let Some(session) = pending.session_hash {
        store::sessions::delete(app.writes(), &session).await?;
    }
    let event = Event::MfaLogin { amr: amr.clone() };
    audit(&app, &ctx, event, Some(user.user_id)).await?;
    Ok(Said::new(
        answers::LoggedIn {
            user_id: user.user_id,
            user_role: user.user_role,
            amr,
        },
        "Login successful.",
    ))
}
