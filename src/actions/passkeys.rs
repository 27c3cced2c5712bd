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

pub async fn register_start(
    app: Arc<App>,
    _ctx: Ctx,
    p: proto::PasskeyRegisterStart,
) -> Done<answers::PasskeyCeremony> {
    let rp = relying_party(&app)?;
    let found = live_session(&app, p.session_token.expose_secret()).await?;
    let Some(found) = found.filter(|f| can_sign_in(&f.user, app.now())) else {
        return no(Refusal::SessionNotFound, "Sign in to add a passkey.");
    };
    if !super::mfa::freshly_signed_in(&app, &found).await? {
        return no(
            Refusal::FreshSignInRequired,
            "Sign in again, with every factor, to add a passkey.",
        );
    }
    let user = &found.user;
    let fresh = Uuid::new_v4().to_string();
    let handle = store::passkeys::user_handle(app.writes(), user.user_id, &fresh)
        .await?
        .and_then(|h| Uuid::parse_str(&h).ok())
        .ok_or_else(|| Fault::Internal("no WebAuthn user handle".into()))?;
    let existing = store::passkeys::of_user(&app.db, user.user_id).await?;
    let exclude: Vec<_> = credentials(&existing)
        .iter()
        .map(|c| c.cred_id().clone())
        .collect();
    let display = user.full_name.as_deref().filter(|n| !n.trim().is_empty());
    let display = display.unwrap_or(&user.email);
    let (ccr, state) = match rp.user_verification {
        UserVerification::Required => {
            let (ccr, s) = rp
                .webauthn
                .start_passkey_registration(handle, &user.email, display, Some(exclude))
                .map_err(|e| internal("passkey registration", e))?;
            (ccr, State::Register(s))
        }
        UserVerification::Discouraged => {
            let (ccr, s) = rp
                .webauthn
                .start_securitykey_registration(
                    handle,
                    &user.email,
                    display,
                    Some(exclude),
                    None,
                    None,
                )
                .map_err(|e| internal("security key registration", e))?;
            (ccr, State::RegisterSecurityKey(s))
        }
    };
    let mut opts = options(&ccr)?;
    // A one-click (discoverable) sign-in finds only a passkey kept on the
    // authenticator: webauthn-rs asks for none ("discouraged"), which some
    // authenticators honour. Its finish does not check this field.
    if rp.user_verification == UserVerification::Required
        && let Some(selection) = opts
            .pointer_mut("/publicKey/authenticatorSelection")
            .and_then(Value::as_object_mut)
    {
        selection.insert("residentKey".into(), Value::from("preferred"));
    }
    let bound = Some(found.session.token_hash.clone());
    let (ceremony_id, expires) = start(&app, REGISTER, Some(user.user_id), bound, &state).await?;
    Ok(Said::new(
        answers::PasskeyCeremony {
            ceremony_id,
            options: opts,
            expires,
        },
        "Create the passkey in the browser.",
    ))
}

pub async fn register_finish(
    app: Arc<App>,
    ctx: Ctx,
    p: proto::PasskeyRegisterFinish,
) -> Done<answers::PasskeyAdded> {
    let rp = relying_party(&app)?;
    let label = label_of(p.label.as_deref())?;
    let hash = tokens::digest(p.session_token.expose_secret());
    let Some(found) = live_session_by_digest(&app, hash.clone()).await? else {
        return no(Refusal::SessionNotFound, "Sign in to add a passkey.");
    };
    let (c, state) = take(&app, &p.ceremony_id, REGISTER, Some(&hash)).await?;
    let user_id = found.user.user_id;
    if c.user_id != Some(user_id) || !can_sign_in(&found.user, app.now()) {
        return no(
            Refusal::AccountCannotSignIn,
            "This account cannot add a passkey.",
        );
    }
    let reg: RegisterPublicKeyCredential = serde_json::from_value(Value::Object(p.credential))
        .map_err(|_| refused(Refusal::PasskeyInvalid))?;
    if !rp.model_allowed(&reg) {
        return no(
            Refusal::PasskeyModelNotAllowed,
            "This kind of authenticator is not allowed here.",
        );
    }
    let passkey = match &state {
        State::Register(s) => rp.webauthn.finish_passkey_registration(&reg, s),
        State::RegisterSecurityKey(s) => rp
            .webauthn
            .finish_securitykey_registration(&reg, s)
            .map(pk::from_security_key),
        _ => return no(Refusal::PasskeyCeremonyMismatch, "Please start again."),
    }
    .map_err(|e| refused(pk::refusal(&e)))?;
    let (backup_eligible, backup_state) = pk::backup_flags(&passkey);
    let cred_id: &[u8] = passkey.cred_id().as_ref();
    let passkey_id = hex::encode(tokens::random_bytes::<16>()?);
    let row = passkeys::Model {
        passkey_id: passkey_id.clone(),
        credential_digest: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(cred_id)),
        credential_id: base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            cred_id,
        ),
        user_id,
        label: label.map(str::to_owned),
        passkey: pk::stored(&passkey).map_err(|e| internal("passkey", e))?,
        backup_eligible,
        backup_state,
        created: app.now(),
        last_used: None,
    };
    if !store::passkeys::insert(&app.db, row).await? {
        return Err(refused(Refusal::PasskeyExists));
    }
    let event = Event::PasskeyAdded {
        passkey_id: passkey_id.clone(),
        label: label.map(str::to_owned),
        backup_eligible,
    };
    audit(&app, &ctx, event, Some(user_id)).await?;
    Ok(Said::new(
        answers::PasskeyAdded {
            passkey_id,
            label: label.map(str::to_owned),
            backup_eligible,
            backup_state,
        },
        "Passkey added.",
    ))
}

/// A sign-in ceremony listing `rows` (username-first or a second step).
fn listed(rp: &RelyingParty, rows: &[passkeys::Model]) -> Result<(Value, State), Fault> {
    let creds = credentials(rows);
    Ok(match rp.user_verification {
        UserVerification::Required => {
            let (rcr, s) = rp
                .webauthn
                .start_passkey_authentication(&creds)
                .map_err(|e| internal("passkey sign-in", e))?;
            (options(&rcr)?, State::Login(s))
        }
        UserVerification::Discouraged => {
            let keys: Vec<_> = creds.iter().map(pk::to_security_key).collect();
            let (rcr, s) = rp
                .webauthn
                .start_securitykey_authentication(&keys)
                .map_err(|e| internal("security key sign-in", e))?;
            (options(&rcr)?, State::LoginSecurityKey(s))
        }
    })
}

fn discoverable(rp: &RelyingParty) -> Result<(Value, State), Fault> {
    let (rcr, s) = rp
        .webauthn
        .start_discoverable_authentication()
        .map_err(|e| internal("passkey sign-in", e))?;
    Ok((options(&rcr)?, State::Discoverable(s)))
}

pub async fn login_start(
    app: Arc<App>,
    _ctx: Ctx,
    p: proto::PasskeyLoginStart,
) -> Done<answers::PasskeyCeremony> {
    let rp = relying_party(&app)?;
    let now = app.now();
    let (kind, user_id, bound, (opts, state)) = if let Some(token) = &p.mfa_token {
        let hash = tokens::digest(token.expose_secret());
        let Some(pending) = store::totp::pending_mfa_token(&app.db, &hash, now).await? else {
            return no(
                Refusal::MfaTokenInvalid,
                "This sign-in has expired; please log in again.",
            );
        };
        let rows = store::passkeys::of_user(&app.db, pending.user_id).await?;
        if rows.is_empty() {
            return no(Refusal::PasskeyUnknown, "This account has no passkey.");
        }
        (MFA, Some(pending.user_id), Some(hash), listed(rp, &rows)?)
    } else {
        let user = match p.email.as_deref().map(email::normalise) {
            Some(address) => store::users::by_email(&app.db, &address).await?,
            None => None,
        };
        let rows = match &user {
            Some(u) if can_sign_in(u, now) => store::passkeys::of_user(&app.db, u.user_id).await?,
            _ => Vec::new(),
        };
        // An address with no account (or no passkey) gets a discoverable
        // ceremony, so the answer does not tell which addresses have one.
        match user.filter(|_| !rows.is_empty()) {
            Some(u) => (LOGIN, Some(u.user_id), None, listed(rp, &rows)?),
            None => (LOGIN, None, None, discoverable(rp)?),
        }
    };
    let (ceremony_id, expires) = start(&app, kind, user_id, bound, &state).await?;
    Ok(Said::new(
        answers::PasskeyCeremony {
            ceremony_id,
            options: opts,
            expires,
        },
        "Use your passkey in the browser.",
    ))
}

/// A passkey that proved itself: whose, which, and whether it verified
/// its user.
struct Proved {
    user: users::Model,
    passkey_id: String,
    user_verified: bool,
}

/// Checks `credential` against the ceremony taken as `(c, state)`: the
/// credential must be registered, and to the ceremony's user when it names
/// one; failures are audited.
async fn prove(
    app: &App,
    ctx: &Ctx,
    c: &ceremonies::Model,
    state: State,
    credential: Map<String, Value>,
) -> Result<Proved, Refused> {
    let rp = relying_party(app)?;
    let failed = |reason: &Refusal, passkey_id: Option<String>| Event::PasskeyLoginFailed {
        reason: reason.as_str().to_owned(),
        passkey_id,
    };
    let Ok(cred) = serde_json::from_value::<PublicKeyCredential>(Value::Object(credential)) else {
        audit(app, ctx, failed(&Refusal::PasskeyInvalid, None), c.user_id).await?;
        return Err(refused(Refusal::PasskeyInvalid));
    };
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
        cred.get_credential_id(),
    ));
    let row = store::passkeys::by_credential(&app.db, &digest).await?;
    let Some((row, passkey)) = row.and_then(|r| pk::parse(&r.passkey).map(|p| (r, p))) else {
        audit(app, ctx, failed(&Refusal::PasskeyUnknown, None), c.user_id).await?;
        return Err(refused(Refusal::PasskeyUnknown));
    };
    let other = |reason: Refusal| failed(&reason, Some(row.passkey_id.clone()));
    // The credential must be the user's the ceremony is for; discoverable:
    // the user handle the authenticator answered must be its owner's.
    let owner_ok = match c.user_id {
        Some(u) => u == row.user_id,
        None => {
            let handle = rp
                .webauthn
                .identify_discoverable_authentication(&cred)
                .ok()
                .map(|(h, _)| h.to_string());
            let owner = match handle {
                Some(h) => store::passkeys::user_by_handle(&app.db, &h).await?,
                None => None,
            };
            owner.is_some_and(|o| o.user_id == row.user_id)
        }
    };
    if !owner_ok {
        let reason = Refusal::PasskeyOtherUser;
        audit(app, ctx, other(reason.clone()), c.user_id).await?;
        return no(reason, "This passkey belongs to another account.");
    }
    let checked: Result<AuthenticationResult, _> = match &state {
        State::Login(s) => rp.webauthn.finish_passkey_authentication(&cred, s),
        State::LoginSecurityKey(s) => rp.webauthn.finish_securitykey_authentication(&cred, s),
        State::Discoverable(s) => {
            rp.webauthn
                .finish_discoverable_authentication_v2(&cred, s.clone(), &passkey)
        }
        _ => return no(Refusal::PasskeyCeremonyMismatch, "Please start again."),
    };
    let result = match checked {
        Ok(r) => r,
        Err(e) => {
            let reason = pk::refusal(&e);
            audit(app, ctx, other(reason.clone()), Some(row.user_id)).await?;
            return Err(refused(reason));
        }
    };
    let now = app.now();
    let mut passkey = passkey;
    let updated = match passkey.update_credential(&result) {
        Some(true) => {
            let (backup_eligible, backup_state) = pk::backup_flags(&passkey);
            Some(store::passkeys::Updated {
                was: row.passkey.clone(),
                now: pk::stored(&passkey).map_err(|e| internal("passkey", e))?,
                backup_eligible,
                backup_state,
            })
        }
        _ => None,
    };
    store::passkeys::used(&app.db, &row.passkey_id, updated, now).await?;
    let Some(user) = store::users::by_id(&app.db, row.user_id).await? else {
        return Err(refused(Refusal::PasskeyUnknown));
    };
    if !can_sign_in(&user, now) {
        let reason = Refusal::AccountCannotSignIn;
        audit(app, ctx, other(reason.clone()), Some(user.user_id)).await?;
        return no(reason, "Sorry, this account cannot sign in.");
    }
    Ok(Proved {
        user,
        passkey_id: row.passkey_id,
        user_verified: result.user_verified(),
    })
}

pub async fn login_finish(
    app: Arc<App>,
    ctx: Ctx,
    p: proto::PasskeyLoginFinish,
) -> Done<answers::LoggedIn> {
    relying_party(&app)?;
    let (c, state) = take(&app, &p.ceremony_id, LOGIN, None).await?;
    let proved = prove(&app, &ctx, &c, state, p.credential).await?;
    let user = proved.user;
    let pre_login = p
        .session_token
        .as_ref()
        .map(|t| tokens::digest(t.expose_secret()));
    // A passkey that verified its user is two factors; one that only showed
    // presence is one, and an account with a second factor is asked for it.
    if !proved.user_verified && super::mfa::required(&app, user.user_id).await? {
        let no = second_factor_required(&app, &user, pre_login, Method::Passkey).await?;
        return Err(no.into());
    }
    let amr = if proved.user_verified {
        Amr::new([Method::Passkey, Method::Mfa])
    } else {
        Amr::new([Method::Passkey])
    };
    signed_in(&app, user.user_id, &amr).await?;
    if let Some(hash) = pre_login {
        store::sessions::delete(app.writes(), &hash).await?;
    }
    store::users::record_success(app.writes(), user.user_id, app.now()).await?;
    let event = Event::PasskeyLogin {
        passkey_id: proved.passkey_id,
        user_verified: proved.user_verified,
    };
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

/// The second step of a sign-in with a passkey (`user-login-mfa`): the
/// ceremony started with this `mfa_token`, and a passkey of `user_id`.
pub async fn second_step(
    app: &App,
    ctx: &Ctx,
    user_id: i64,
    token_hash: &str,
    ceremony_id: &str,
    credential: Map<String, Value>,
) -> Result<(), Refused> {
    relying_party(app)?;
    let (c, state) = take(app, ceremony_id, MFA, Some(token_hash)).await?;
    if c.user_id != Some(user_id) {
        return no(Refusal::PasskeyCeremonyMismatch, "Please log in again.");
    }
    let proved = prove(app, ctx, &c, state, credential).await?;
    let event = Event::PasskeyLogin {
        passkey_id: proved.passkey_id,
        user_verified: proved.user_verified,
    };
    audit(app, ctx, event, Some(user_id)).await?;
    Ok(())
}

/// Whether the user has a passkey (so a second step may use one).
pub async fn has_passkey(app: &App, user_id: i64) -> Result<bool, Fault> {
    if app.webauthn.is_none() {
        return Ok(false);
    }
    Ok(!store::passkeys::of_user(&app.db, user_id).await?.is_empty())
}

pub async fn list(app: Arc<App>, _ctx: Ctx, p: proto::PasskeyList) -> Done<answers::Passkeys> {
    if !store::users::exists(&app.db, p.user_id).await? {
        let none: Vec<Value> = Vec::new();
        return Err(No::new(Refusal::NoSuchUser, "No such user.")
            .with("passkeys", none)
            .into());
    }
    let passkeys: Vec<_> = store::passkeys::of_user(&app.db, p.user_id)
        .await?
        .into_iter()
        .map(|k| answers::PasskeyInfo {
            passkey_id: k.passkey_id,
            label: k.label,
            created: timefmt::format(k.created),
            last_used: k.last_used.map(timefmt::format),
            backup_eligible: k.backup_eligible,
            backup_state: k.backup_state,
        })
        .collect();
    let message = format!("{} passkeys.", passkeys.len());
    Ok(Said::new(answers::Passkeys { passkeys }, message))
}

pub async fn rename(app: Arc<App>, _ctx: Ctx, p: proto::PasskeyRename) -> Done<answers::Done> {
    let label = label_of(p.label.as_deref())?;
    if !store::passkeys::set_label(&app.db, p.user_id, &p.passkey_id, label).await? {
        return no(Refusal::PasskeyUnknown, "No such passkey.");
    }
    // A label is cosmetic: not audited.
    Ok(Said::new(answers::Done {}, "Passkey renamed."))
}

pub async fn delete(app: Arc<App>, ctx: Ctx, p: proto::PasskeyDelete) -> Done<answers::Done> {
    if !store::passkeys::delete(&app.db, p.user_id, &p.passkey_id).await? {
        return no(Refusal::PasskeyUnknown, "No such passkey.");
    }
    let event = Event::PasskeyRemoved {
        passkey_id: p.passkey_id.clone(),
    };
    audit(&app, &ctx, event, Some(p.user_id)).await?;
    Ok(Said::new(answers::Done {}, "Passkey deleted."))
}
