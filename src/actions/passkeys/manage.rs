//! `passkey-list`, `-rename`, `-delete`.

use super::*;

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
