//! Which domain function answers which request: one line each. Adding a
//! request type: its catalogue entry (`clients/proto`), its function in
//! `actions`, its line here, its test.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use authnzd_proto::Request;
use serde_json::{Map, Value};

use super::outcome::{Outcome, WireResult, Written};
use super::{invalid, session_info};
use crate::actions::{
    Ctx, Done, Fault, access, apikey, apikey_nosession, audit, email, internal, login, mfa,
    passkeys, password, passwordless, pubkey, session, token, totp, user,
};
use crate::app::App;

type BoxFuture = Pin<Box<dyn Future<Output = WireResult> + Send>>;
pub(super) type Handler = Box<dyn Fn(Arc<App>, Ctx, Map<String, Value>) -> BoxFuture + Send + Sync>;

/// One request's entry in the table: its name and its action.
pub(super) struct Route {
    pub name: &'static str,
    pub handler: Handler,
}

/// The request's parameters from its (already type-checked) body, then the
/// action; a value the type list cannot describe (an integer too large for
/// i64, say) is refused as invalid.
fn route<R, Fut>(run: impl Fn(Arc<App>, Ctx, R) -> Fut + Send + Sync + 'static) -> Route
where
    R: Request,
    Fut: Future<Output = WireResult> + Send + 'static,
{
    let handler: Handler =
        Box::new(
            move |app, ctx, body| match serde_json::from_value::<R>(Value::Object(body)) {
                Ok(p) => Box::pin(run(app, ctx, p)),
                Err(e) => {
                    let outcome = invalid(vec![], &e.to_string());
                    Box::pin(async move { Ok(outcome) })
                }
            },
        );
    Route {
        name: R::SPEC.name,
        handler,
    }
}

/// A domain function answering its request's proto answer type.
fn answered<R, Fut>(action: fn(Arc<App>, Ctx, R) -> Fut) -> Route
where
    R: Request,
    R::Answer: serde::Serialize,
    Fut: Future<Output = Done<R::Answer>> + Send + 'static,
{
    route(move |app, ctx, p: R| {
        let fut = action(app, ctx, p);
        async move { Outcome::of(fut.await) }
    })
}

/// A domain function whose answer is written by `write` (the hot path,
/// with no `Value` tree in between).
fn written<R, A, Fut>(
    action: fn(Arc<App>, Ctx, R) -> Fut,
    write: fn(&A) -> Result<Written, Fault>,
) -> Route
where
    R: Request,
    A: Send + 'static,
    Fut: Future<Output = Done<A>> + Send + 'static,
{
    route(move |app, ctx, p: R| {
        let fut = action(app, ctx, p);
        async move {
            match fut.await {
                Ok(said) => Ok(Outcome::written(write(&said.answer)?, said.messages)),
                Err(refused) => Outcome::of::<()>(Err(refused)),
            }
        }
    })
}

/// Every request the server answers.
pub(super) fn routes() -> Vec<Route> {
    vec![
        answered(session::new),
        written(session::exists, session_info::write),
        answered(session::delete),
        answered(session::delete_userid),
        answered(session::list),
        answered(session::delete_others),
        answered(login::login),
        answered(login::logout),
        answered(login::passcheck),
        answered(login::passcheck_nosession),
        answered(mfa::login_mfa),
        answered(user::new),
        answered(user::delete),
        answered(user::list),
        answered(user::lookup_email),
        answered(user::lookup_match),
        answered(user::edit),
        answered(user::lock),
        answered(user::set_email_verified),
        answered(user::set_email_sent),
        answered(password::changepass),
        answered(password::changepass_nosession),
        answered(password::resetpass),
        answered(password::resetpass_nosession),
        answered(password::validatepass),
        answered(email::signup),
        answered(email::forgotpass),
        answered(apikey::new),
        answered(apikey::verify),
        answered(apikey::revoke),
        answered(apikey_nosession::new),
        answered(apikey_nosession::verify),
        answered(apikey_nosession::revoke),
        answered(apikey_nosession::revoke_all),
        answered(apikey_nosession::refresh),
        answered(access::check_access),
        answered(access::check_limit),
        answered(internal::user_lock),
        answered(internal::user_delete),
        answered(internal::user_edit),
        answered(internal::session_edit),
        answered(passwordless::start),
        answered(passwordless::finish),
        answered(totp::enroll_start),
        answered(totp::enroll_finish),
        answered(totp::verify),
        answered(totp::disable),
        answered(totp::recovery_regenerate),
        answered(pubkey::challenge_new),
        answered(pubkey::register),
        answered(pubkey::register_confirm),
        answered(pubkey::login),
        answered(pubkey::challenge_wait),
        answered(pubkey::list),
        answered(pubkey::delete),
        answered(pubkey::rename),
        answered(passkeys::register_start),
        answered(passkeys::register_finish),
        answered(passkeys::login_start),
        answered(passkeys::login_finish),
        answered(passkeys::list),
        answered(passkeys::rename),
        answered(passkeys::delete),
        answered(token::issue),
        answered(token::refresh),
        answered(token::revoke),
        answered(audit::list),
    ]
}
