//! `user-login`, `user-logout`, `user-passcheck`, `user-passcheck-nosession`:
//! the password check (`password_check`), then the second factor for
//! accounts that have one (`mfa`).

use authnzd_proto::{self as proto, Amr, Method, answers};
use std::sync::Arc;

use super::mfa::{Second, second_factor, second_factor_required, signed_in};
use super::password_check::{Checked, Passed, check_password};
use super::{Ctx, Done, Event, No, Refusal, Refused, Said, audit, session::live_session};
use crate::app::App;
use crate::secret::ExposeSecret;
use crate::security::email;
use crate::security::tokens;
use crate::store;

const NO_SESSION: &str = "No session token provided.";

pub async fn login(app: Arc<App>, ctx: Ctx, p: proto::UserLogin) -> Done<answers::LoggedIn> {
    let session = live_session(&app, p.session_token.expose_secret()).await?;
    let address = email::normalise(&p.email);
    let candidate = match &session {
        Some(_) => store::users::by_email(&app.db, &address).await?,
        None => None,
    };
    let candidate_id = candidate.as_ref().map(|u| u.user_id);
    let counted = session.as_ref().map(|_| address.as_str());
    let (checked, due) =
        check_password(&app, candidate, counted, p.password.expose_secret()).await?;
    let answer = match session {
        None => Err(No::new(Refusal::SessionNotFound, NO_SESSION)
            .nulls(&["user_id"])
            .into()),
        Some(_) => {
            let hash = tokens::digest(p.session_token.expose_secret());
            let answer = logged_in(&app, &ctx, checked, &hash, p.code.as_ref()).await;
            let email = || app.keyed(&format!("email\0{address}"));
            let event = match &answer {
                Ok(_) => Event::Login { email: email() },
                Err(Refused::Fault(_)) => return answer,
                // The second step is bound to the pre-login session: it
                // stays, and the sign-in is audited when it completes.
                Err(Refused::No(no)) if no.reason == Refusal::SecondFactorRequired => {
                    due.wait().await;
                    return answer;
                }
                // The address only as a keyed digest: the log correlates,
                // never holds it.
                Err(Refused::No(no)) => Event::LoginFailed {
                    email: email(),
                    reason: Some(no.reason.as_str().to_owned()),
                },
            };
            // The frontend replaces the pre-login session whatever the
            // outcome.
            store::sessions::delete(app.writes(), &hash).await?;
            audit(&app, &ctx, event, candidate_id).await?;
            answer
        }
    };
    due.wait().await;
    answer
}

/// A password check's outcome as a sign-in: the second factor asked for or
/// checked, the sign-in recorded for the session the frontend makes next.
async fn logged_in(
    app: &App,
    ctx: &Ctx,
    checked: Checked,
    session_hash: &str,
    code: Option<&proto::Secret>,
) -> Done<answers::LoggedIn> {
    // The pre-login session stays: the second step is bound to it.
    let (passed, amr) = two_factors(app, ctx, checked, Some(session_hash), code).await?;
    signed_in(app, passed.user.user_id, &amr).await?;
    Ok(answer(passed, amr, "Login successful."))
}

/// The password passed and, for an account with a second factor, the code
/// in the request too; otherwise the refusal (`second factor required`
/// with an `mfa_token`, bound to `session_hash` when there is one).
async fn two_factors(
    app: &App,
    ctx: &Ctx,
    checked: Checked,
    session_hash: Option<&str>,
    code: Option<&proto::Secret>,
) -> Result<(Passed, Amr), Refused> {
    let passed = match checked {
        Checked::Ok(passed) => passed,
        other => return Err(other.refusal().into()),
    };
    let code = code.map(|c| c.expose_secret());
    match second_factor(app, ctx, &passed, Method::Pwd, code).await? {
        Second::Needed => {
            let hash = session_hash.map(str::to_owned);
            Err(second_factor_required(app, &passed.user, hash, Method::Pwd)
                .await?
                .into())
        }
        Second::Done(amr) => Ok((passed, amr)),
    }
}

pub async fn logout(app: Arc<App>, _ctx: Ctx, p: proto::UserLogout) -> Done<answers::LoggedOut> {
    let failed = |reason: Refusal| -> Done<answers::LoggedOut> {
        Err(
            No::new(reason, "Logout failed. Invalid session_token for user_id.")
                .with("user_id", p.user_id)
                .into(),
        )
    };
    let Some(found) = live_session(&app, p.session_token.expose_secret()).await? else {
        return failed(Refusal::SessionNotFound);
    };
    if found.user.user_id != p.user_id {
        return failed(Refusal::SessionNotOwned);
    }
    let hash = tokens::digest(p.session_token.expose_secret());
    let deleted = store::sessions::delete(app.writes(), &hash).await?;
    if !deleted {
        return failed(Refusal::SessionDeleteFailed);
    }
    Ok(Said::new(
        answers::LoggedOut { user_id: p.user_id },
        "Logout successful.",
    ))
}

pub async fn passcheck(
    app: Arc<App>,
    ctx: Ctx,
    p: proto::UserPasscheck,
) -> Done<answers::LoggedIn> {
    let session = live_session(&app, p.session_token.expose_secret()).await?;
    let candidate = match &session {
        Some(s) => store::users::by_id(&app.db, s.user.user_id).await?,
        None => None,
    };
    let (checked, due) = check_password(&app, candidate, None, p.password.expose_secret()).await?;
    let answer = match session {
        None => Err(No::new(Refusal::SessionNotFound, NO_SESSION)
            .nulls(&["user_id"])
            .into()),
        Some(_) => verified(&app, &ctx, checked, p.code.as_ref()).await,
    };
    due.wait().await;
    answer
}

pub async fn passcheck_nosession(
    app: Arc<App>,
    ctx: Ctx,
    p: proto::UserPasscheckNosession,
) -> Done<answers::LoggedIn> {
    let address = email::normalise(&p.email);
    let candidate = store::users::by_email(&app.db, &address).await?;
    let (checked, due) =
        check_password(&app, candidate, Some(&address), p.password.expose_secret()).await?;
    let answer = verified(&app, &ctx, checked, p.code.as_ref()).await;
    due.wait().await;
    answer
}

/// A passcheck's answer: for an account with a second factor, a password
/// alone is never a success: the code comes in the request, or the answer
/// is `second factor required` with an `mfa_token` for `user-login-mfa`.
async fn verified(
    app: &App,
    ctx: &Ctx,
    checked: Checked,
    code: Option<&proto::Secret>,
) -> Done<answers::LoggedIn> {
    let (passed, amr) = two_factors(app, ctx, checked, None, code).await?;
    Ok(answer(passed, amr, "Verification successful."))
}

/// Whose password it was, and how they proved it.
fn answer(passed: Passed, amr: Amr, message: &str) -> Said<answers::LoggedIn> {
    Said::new(
        answers::LoggedIn {
            user_id: passed.user.user_id,
            user_role: passed.user.user_role,
            amr,
        },
        message,
    )
}
