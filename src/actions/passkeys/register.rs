//! `passkey-register-start` / `-finish`: a new passkey for a freshly
//! signed-in user.

use super::*;

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
    if !crate::actions::mfa::freshly_signed_in(&app, &found).await? {
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
    let bound = Some(found.session.token_hash());
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
