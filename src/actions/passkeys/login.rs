//! `passkey-login-start` / `-finish`, and a passkey as the second step of a
//! sign-in (`user-login-mfa`).

use super::*;

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
    if !proved.user_verified && crate::actions::mfa::required(&app, user.user_id).await? {
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
