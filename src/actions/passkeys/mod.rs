//! Passkeys (WebAuthn, webauthn-rs): `passkey-register-start` / `-finish`
//! (from a freshly signed-in session), `passkey-login-start` / `-finish`
//! (username-first with an address, discoverable without, or the second
//! step of a sign-in with an `mfa_token`, finished by `user-login-mfa`),
//! `passkey-list`, `-rename`, `-delete`.
//!
//! A ceremony's state waits in the database, sealed under the key ring, so
//! any process on it can finish what another started; the finish deletes
//! it with one conditional delete, so it is finished once. A passkey that
//! verified its user is two factors (`amr` `passkey mfa`); one that only
//! showed presence (`webauthn_user_verification = "discouraged"`) is one.

use std::sync::Arc;

use authnzd_proto::{self as proto, Amr, Method, answers};
use entity::{passkey_ceremonies as ceremonies, passkeys, users};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use webauthn_rs::prelude::{
    AuthenticationResult, DiscoverableAuthentication, Passkey, PasskeyAuthentication,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
    SecurityKeyAuthentication, SecurityKeyRegistration, Uuid,
};

use super::mfa::{second_factor_required, signed_in};
use super::session::{live_session, live_session_by_digest};
use super::{Ctx, Done, Event, Fault, No, Refusal, Refused, Said, audit, can_sign_in, no};
use crate::app::App;
use crate::config::UserVerification;
use crate::secret::ExposeSecret;
use crate::security::passkeys::{self as pk, RelyingParty};
use crate::security::{email, tokens};
use crate::store;
use crate::timefmt;

mod login;
mod manage;
mod register;

pub use login::{login_finish, login_start, second_step};
pub use manage::{delete, has_passkey, list, rename};
pub use register::{register_finish, register_start};

const LABEL_MAX: usize = 200;
const REGISTER: &str = "register";
const LOGIN: &str = "login";
const MFA: &str = "mfa";

/// What a ceremony waits with, sealed.
#[derive(Serialize, Deserialize)]
enum State {
    Register(PasskeyRegistration),
    RegisterSecurityKey(SecurityKeyRegistration),
    Login(PasskeyAuthentication),
    LoginSecurityKey(SecurityKeyAuthentication),
    Discoverable(DiscoverableAuthentication),
}

fn relying_party(app: &App) -> Result<&RelyingParty, Refused> {
    match &app.webauthn {
        Some(rp) => Ok(rp),
        None => no(
            Refusal::PasskeysOff,
            "Passkeys are not set up on this server.",
        ),
    }
}

fn internal(what: &str, e: impl std::fmt::Display) -> Fault {
    Fault::Internal(format!("{what}: {e}"))
}

/// A refusal from webauthn-rs, with its message.
fn refused(reason: Refusal) -> Refused {
    let message = pk::message(&reason);
    No::new(reason, message).into()
}

/// Stores a ceremony; its id and expiry.
async fn start(
    app: &App,
    kind: &str,
    user_id: Option<i64>,
    bound_hash: Option<String>,
    state: &State,
) -> Result<(String, String), Refused> {
    let json = serde_json::to_vec(state).map_err(|e| internal("ceremony state", e))?;
    let sealed = app
        .keys
        .passkey_ceremonies
        .seal(&json)
        .ok_or_else(|| Fault::Internal("no key to seal passkey ceremonies".into()))?;
    let ceremony_id = hex::encode(tokens::random_bytes::<16>()?);
    let now = app.now();
    let ttl = i64::try_from(app.config.webauthn.webauthn_ceremony_ttl).unwrap_or(300);
    let expires = now + chrono::Duration::seconds(ttl);
    store::passkeys::insert_ceremony(
        &app.db,
        ceremonies::Model {
            ceremony_id: ceremony_id.clone(),
            kind: kind.to_owned(),
            user_id,
            bound_hash,
            state: sealed,
            created: now,
            expires,
        },
    )
    .await?;
    Ok((ceremony_id, timefmt::format(expires)))
}

/// Takes the ceremony `id` of `kind` (bound to `bound`, when it is bound):
/// deleted by one conditional delete, so only one caller ever gets it.
async fn take(
    app: &App,
    id: &str,
    kind: &str,
    bound: Option<&str>,
) -> Result<(ceremonies::Model, State), Refused> {
    const AGAIN: &str = "This passkey request is over; please start again.";
    let now = app.now();
    let Some(c) = store::passkeys::ceremony(&app.db, id).await? else {
        return no(Refusal::PasskeyCeremonyUsed, AGAIN);
    };
    // Checked before the delete, so a wrong caller cannot spend it.
    if c.kind != kind || c.bound_hash.as_deref() != bound {
        return no(Refusal::PasskeyCeremonyMismatch, AGAIN);
    }
    if c.expires <= now {
        return no(Refusal::PasskeyCeremonyExpired, AGAIN);
    }
    if !store::passkeys::take_ceremony(&app.db, id, kind, now).await? {
        let reason = match store::passkeys::ceremony(&app.db, id).await? {
            Some(_) => Refusal::PasskeyCeremonyExpired,
            None => Refusal::PasskeyCeremonyUsed,
        };
        return no(reason, AGAIN);
    }
    let state = app
        .keys
        .passkey_ceremonies
        .open(&c.state)
        .and_then(|o| serde_json::from_slice::<State>(&o.plain).ok());
    let Some(state) = state else {
        // Sealed under a key since removed from the ring.
        return no(Refusal::PasskeyCeremonyExpired, AGAIN);
    };
    Ok((c, state))
}

fn options(v: &impl Serialize) -> Result<Value, Fault> {
    let mut v = serde_json::to_value(v).map_err(|e| internal("passkey options", e))?;
    // webauthn-rs asks for conditional mediation (autofill) for discoverable
    // sign-ins; a frontend chooses that itself, and a button needs none.
    if let Some(m) = v.as_object_mut() {
        m.remove("mediation");
    }
    Ok(v)
}

fn label_of(raw: Option<&str>) -> Result<Option<&str>, Refused> {
    let label = raw.map(str::trim).filter(|l| !l.is_empty());
    if label.is_some_and(|l| l.chars().count() > LABEL_MAX) {
        let why = format!("label longer than {LABEL_MAX} characters");
        return no(Refusal::invalid(why), "The name is too long.");
    }
    Ok(label)
}

/// The user's passkeys as webauthn-rs holds them (rows that do not parse,
/// from a future format, are left out).
fn credentials(rows: &[passkeys::Model]) -> Vec<Passkey> {
    rows.iter().filter_map(|r| pk::parse(&r.passkey)).collect()
}
