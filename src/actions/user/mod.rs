//! Accounts: `user-new`, `user-delete`, `user-list`, `user-lookup-email`,
//! `user-lookup-match` here; `user-edit` in `edit`, `user-lock` in `lock`,
//! `user-set-emailverified` / `user-set-emailsent` in `verify`; `operator`
//! adds accounts for `authnzd user add`. `answer`
//! shapes `user_info`, `input` cleans what requests send, `roles` says who
//! may change what.

mod answer;
mod edit;
mod input;
mod lock;
pub mod operator;
mod roles;
mod verify;

pub use answer::user_info;
pub use input::edit_changes;
pub use lock::toggle_lock;

use edit::edit;
use input::{CREATED, clean_full_name, match_column, older_than_hours};
use lock::lock;
use verify::{set_email_sent, set_email_verified};

use std::sync::Arc;

use authnzd_proto::{self as proto, Role};
use serde_json::{Value, json};

use super::login::{self, Checked};
use super::{ActionResult, Ctx, Outcome, Refusal};
use crate::app::App;
use crate::dispatch::{Route, typed};
use crate::secret::ExposeSecret;
use crate::security::email;
use crate::store::{self};

/// This module's requests, for the dispatcher's table.
pub(crate) fn routes() -> Vec<Route> {
    vec![
        typed(new),
        typed(delete),
        typed(list),
        typed(lookup_email),
        typed(lookup_match),
        typed(edit),
        typed(lock),
        typed(set_email_verified),
        typed(set_email_sent),
    ]
}

/// A new account's address, name and password after `user-new`'s checks.
pub struct Signup {
    pub address: String,
    pub full_name: String,
    /// Truncated as logins truncate it.
    pub password: String,
}

/// `user-new`'s checks, shared with `authnzd user add`: a valid address
/// that may sign up, a full name without links, a password the policy
/// accepts. The refusal is `user-new`'s answer.
pub async fn check_signup(
    app: &App,
    address: &str,
    full_name: &str,
    password: &str,
) -> Result<Signup, Outcome> {
    let none = json!({"user_email": null, "user_id": null, "send_verification": false});
    let Ok(address) = email::validate_for_signup(address) else {
        return Err(Outcome::fail(
            Refusal::InvalidEmail,
            "The email address provided doesn't seem to be a valid email address and cannot be used to sign up for an account on this server.",
            none,
        ));
    };
    let Some(full_name) = clean_full_name(full_name) else {
        return Err(Outcome::fail(
            Refusal::InvalidFullName,
            "The full name provided appears to contain an HTTP link, and cannot be used to sign up for an account on this server.",
            none,
        ));
    };
    let password = login::truncate_password(password);
    let problems = super::password::policy_problems(app, &password, &address, &full_name).await;
    if !problems.is_empty() {
        let mut out = Outcome::fail(
            Refusal::InvalidPassword,
            "",
            json!({"user_email": address, "user_id": null, "send_verification": false}),
        );
        out.messages = problems;
        return Err(out);
    }
    Ok(Signup {
        address,
        full_name,
        password,
    })
}

pub async fn new(app: Arc<App>, _ctx: Ctx, p: proto::UserNew) -> ActionResult {
    let none = json!({"user_email": null, "user_id": null, "send_verification": false});
    let Signup {
        address,
        full_name,
        password,
    } = match check_signup(&app, &p.email, &p.full_name, p.password.expose_secret()).await {
        Ok(s) => s,
        Err(refused) => return Ok(refused),
    };
    let verify_retry_wait = p.verify_retry_wait.unwrap_or(6).max(1);
    let mut extra = p.extra_info.unwrap_or_default();
    extra.insert("provenance".into(), "request-created".into());
    extra.insert("type".into(), "normal-user".into());
    extra.insert("verify_retry_wait".into(), verify_retry_wait.into());
    let hash = app.hasher.hash(password).await?;
    let now = app.now();
    let system_id = p
        .system_id
        .filter(|s| !s.trim().is_empty() && s.len() <= 50)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    // Unverified, inactive and `locked` until `user-set-emailverified`.
    let inserted = store::users::insert_unless_taken(
        &app.db,
        store::users::NewUser {
            system_id,
            full_name: full_name.clone(),
            password_hash: hash.clone(),
            email: address.clone(),
            email_verified: false,
            is_active: false,
            user_role: Role::Locked.into(),
            extra_info: Value::Object(extra.clone()),
            now,
        },
    )
    .await?;
    if let Some(u) = inserted {
        return Ok(Outcome::ok(
            json!({"user_email": u.email, "user_id": u.user_id, "system_id": u.system_id, "send_verification": true}),
            CREATED,
        ));
    }
    let Some(existing) = store::users::by_email(&app.db, &address).await? else {
        return Ok(Outcome::fail(Refusal::UserCreationFailed, CREATED, none));
    };
    // An unverified sign-up older than `verify_retry_wait` hours is replaced.
    let stale = !existing.is_active
        && !existing.email_verified
        && existing
            .emailverify_sent_datetime
            .is_none_or(|sent| older_than_hours(now, sent, verify_retry_wait));
    let existing = if stale {
        store::users::replace_unverified(
            &app.db,
            existing,
            full_name,
            hash,
            Value::Object(extra),
            now,
        )
        .await?
    } else {
        existing
    };
    Ok(Outcome::fail(
        Refusal::UserExists,
        CREATED,
        json!({"user_email": existing.email, "user_id": existing.user_id, "system_id": existing.system_id, "send_verification": stale}),
    ))
}

pub async fn delete(app: Arc<App>, _ctx: Ctx, p: proto::UserDelete) -> ActionResult {
    let fields = json!({"user_id": p.user_id, "email": p.email});
    let address = email::normalise(&p.email);
    let candidate = store::users::by_id(&app.db, p.user_id)
        .await?
        .filter(|u| u.email == address);
    let is_superuser = candidate
        .as_ref()
        .is_some_and(|u| u.user_role == Role::Superuser);
    let checked =
        login::check_password(&app, candidate, Some(&address), p.password.expose_secret()).await?;
    let user = match checked {
        Checked::Ok(u) | Checked::Inactive(u) => u,
        Checked::Locked { .. } => return Ok(checked.failure()),
        _ => {
            return Ok(Outcome::fail(
                Refusal::InvalidEmailOrPassword,
                "We could not verify your email address or password.",
                fields,
            ));
        }
    };
    if is_superuser {
        return Ok(Outcome::fail(
            Refusal::CannotDeleteSuperuser,
            "Can't delete superusers.",
            fields,
        ));
    }
    store::users::delete(&app.db, user.user_id).await?;
    app.sessions.revoke_user_sessions(user.user_id).await;
    Ok(Outcome::ok(fields, "User successfully deleted from DB."))
}

pub async fn list(app: Arc<App>, _ctx: Ctx, p: proto::UserList) -> ActionResult {
    let found = store::users::list(&app.db, p.user_id).await?;
    if p.user_id.is_some() && found.is_empty() {
        return Ok(Outcome::fail(
            Refusal::TargetUserNotFound,
            "User look up failed.",
            json!({"user_info": null}),
        ));
    }
    let infos: Vec<Value> = found.iter().map(user_info).collect();
    Ok(Outcome::ok(
        json!({"user_info": infos}),
        "User look up successful.",
    ))
}

pub async fn lookup_email(app: Arc<App>, _ctx: Ctx, p: proto::UserLookupEmail) -> ActionResult {
    match store::users::by_email(&app.db, &email::normalise(&p.email)).await? {
        Some(u) => Ok(Outcome::ok(
            json!({"user_info": user_info(&u)}),
            "User look up successful.",
        )),
        None => Ok(Outcome::fail(
            Refusal::EmailNotFound,
            "User look up failed.",
            json!({"user_info": null}),
        )),
    }
}

pub async fn lookup_match(app: Arc<App>, _ctx: Ctx, p: proto::UserLookupMatch) -> ActionResult {
    let invalid = || {
        Outcome::fail(
            Refusal::Invalid("invalid request: 'by' names no matchable column, or 'match' has the wrong type for it".into()),
            "Invalid match condition provided.",
            json!({"user_info": null}),
        )
    };
    let found = if p.by == "extra_info" {
        let Value::Object(wanted) = &p.r#match else {
            return Ok(invalid());
        };
        // JSON containment differs per backend; filter here instead.
        store::users::list(&app.db, None)
            .await?
            .into_iter()
            .filter(|u| {
                let extra = u.extra_info.as_ref().and_then(Value::as_object);
                wanted
                    .iter()
                    .all(|(k, v)| extra.and_then(|e| e.get(k)) == Some(v))
            })
            .collect()
    } else {
        let Some((column, value)) = match_column(&p.by, &p.r#match) else {
            return Ok(invalid());
        };
        store::users::matching(&app.db, column, value).await?
    };
    let infos: Vec<Value> = found.iter().map(user_info).collect();
    Ok(Outcome::ok(
        json!({"user_info": infos}),
        "User look up successful.",
    ))
}
