//! Accounts: `user-new`, `user-delete`, `user-list`, `user-lookup-email`,
//! `user-lookup-match`, `user-edit`, `user-lock`, `user-set-emailverified`,
//! `user-set-emailsent`.

use authnzd_proto as proto;
use std::sync::Arc;

use chrono::{Duration, NaiveDateTime};
use entity::users;
use serde_json::{Map, Value, json};

use super::login::{self, Checked};
use super::{ActionResult, Ctx, Outcome, session::live_session};
use crate::app::App;
use crate::dispatch::{Route, typed};
use crate::secret::ExposeSecret;
use crate::security::email;
use crate::store::seed::{ANONYMOUS_ID, DUMMY_ID, ROLES};
use crate::store::{self, users::UserChanges};
use crate::timefmt;

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

/// authnzerver's `user_info` columns (never the password hash).
pub fn user_info(u: &users::Model) -> Value {
    json!({
        "user_id": u.user_id,
        "system_id": u.system_id,
        "full_name": u.full_name,
        "email": u.email,
        "email_verified": u.email_verified,
        "is_active": u.is_active,
        "last_login_try": timefmt::format_opt(u.last_login_try),
        "last_login_success": timefmt::format_opt(u.last_login_success),
        "failed_login_tries": u.failed_login_tries,
        "created_on": timefmt::format(u.created_on),
        "last_updated": timefmt::format(u.last_updated),
        "user_role": u.user_role,
        "extra_info": u.extra_info,
        "emailverify_sent_datetime": timefmt::format_opt(u.emailverify_sent_datetime),
        "emailforgotpass_sent_datetime": timefmt::format_opt(u.emailforgotpass_sent_datetime),
        "emailchangepass_sent_datetime": timefmt::format_opt(u.emailchangepass_sent_datetime),
        "phone": u.phone,
    })
}

const FULL_NAME_MAX: usize = 280;
const CREATED: &str = "User account created. Please verify your email address to log in.";

/// authnzerver's full-name rules: normalised, whitespace squeezed, HTML
/// escaped, and no links.
fn clean_full_name(raw: &str) -> Option<String> {
    use unicode_normalization::UnicodeNormalization;
    let squeezed = raw
        .nfkc()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let folded = squeezed.to_lowercase();
    let looks_like_link = folded.contains("http")
        || folded.contains("://")
        || folded.split_whitespace().any(|w| {
            w.rsplit_once('.').is_some_and(|(host, tld)| {
                !host.is_empty() && tld.len() >= 2 && tld.chars().all(|c| c.is_alphabetic())
            })
        });
    if looks_like_link {
        return None;
    }
    let escaped: String = squeezed
        .chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#x27;".to_owned(),
            c => c.to_string(),
        })
        .collect();
    Some(escaped.chars().take(FULL_NAME_MAX).collect())
}

pub async fn new(app: Arc<App>, _ctx: Ctx, p: proto::UserNew) -> ActionResult {
    let none = json!({"user_email": null, "user_id": null, "send_verification": false});
    let address = match email::validate_for_signup(&p.email) {
        Ok(a) => a,
        Err(_) => {
            return Ok(Outcome::fail(
                "invalid email",
                "The email address provided doesn't seem to be a valid email address and cannot be used to sign up for an account on this server.",
                none,
            ));
        }
    };
    let Some(full_name) = clean_full_name(&p.full_name) else {
        return Ok(Outcome::fail(
            "invalid full name",
            "The full name provided appears to contain an HTTP link, and cannot be used to sign up for an account on this server.",
            none,
        ));
    };
    let password = login::truncate_password(p.password.expose_secret());
    let problems = super::password::policy_problems(&app, &password, &address, &full_name).await;
    if !problems.is_empty() {
        let mut out = Outcome::fail(
            "invalid password",
            "",
            json!({"user_email": address, "user_id": null, "send_verification": false}),
        );
        out.messages = problems;
        return Ok(out);
    }
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
            user_role: "locked".into(),
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
        return Ok(Outcome::fail("DB issue with user creation", CREATED, none));
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
        "user exists",
        CREATED,
        json!({"user_email": existing.email, "user_id": existing.user_id, "system_id": existing.system_id, "send_verification": stale}),
    ))
}

/// Whether `sent` is more than `hours` before `now`; any i64 is taken (a
/// wait past every date is never over, a negative one always is).
fn older_than_hours(now: NaiveDateTime, sent: NaiveDateTime, hours: i64) -> bool {
    match Duration::try_hours(hours) {
        Some(wait) => now.signed_duration_since(sent) > wait,
        None => hours < 0,
    }
}

pub async fn delete(app: Arc<App>, _ctx: Ctx, p: proto::UserDelete) -> ActionResult {
    let fields = json!({"user_id": p.user_id, "email": p.email});
    let address = email::normalise(&p.email);
    let candidate = store::users::by_id(&app.db, p.user_id)
        .await?
        .filter(|u| u.email == address);
    let is_superuser = candidate
        .as_ref()
        .is_some_and(|u| u.user_role == "superuser");
    let checked =
        login::check_password(&app, candidate, Some(&address), p.password.expose_secret()).await?;
    let user = match checked {
        Checked::Ok(u) | Checked::Inactive(u) => u,
        Checked::Locked { .. } => return Ok(checked.failure()),
        _ => {
            return Ok(Outcome::fail(
                "invalid email or password",
                "We could not verify your email address or password.",
                fields,
            ));
        }
    };
    if is_superuser {
        return Ok(Outcome::fail(
            "can't delete superusers",
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
            "target user not found in DB",
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
            "user email not found in DB",
            "User look up failed.",
            json!({"user_info": null}),
        )),
    }
}

/// Columns `user-lookup-match` may match on (authnzerver allowed any column,
/// the password hash included).
fn match_column(by: &str, value: &Value) -> Option<(users::Column, sea_orm::Value)> {
    use users::Column as C;
    let text = |c| {
        value
            .as_str()
            .map(|s| (c, sea_orm::Value::from(s.to_owned())))
    };
    match by {
        "user_id" => value.as_i64().map(|v| (C::UserId, v.into())),
        "system_id" => text(C::SystemId),
        "full_name" => text(C::FullName),
        "email" => value
            .as_str()
            .map(|s| (C::Email, email::normalise(s).into())),
        "user_role" => text(C::UserRole),
        "email_verified" => value.as_bool().map(|v| (C::EmailVerified, v.into())),
        "is_active" => value.as_bool().map(|v| (C::IsActive, v.into())),
        _ => None,
    }
}

pub async fn lookup_match(app: Arc<App>, _ctx: Ctx, p: proto::UserLookupMatch) -> ActionResult {
    let invalid = || {
        Outcome::fail(
            "invalid request: 'by' names no matchable column, or 'match' has the wrong type for it",
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

/// Turns an `update_dict` into changes, refusing keys the role may not edit
/// and values of the wrong type.
pub fn edit_changes(update: &Map<String, Value>, allowed: &[&str]) -> Result<UserChanges, String> {
    let mut c = UserChanges::default();
    for (k, v) in update {
        if !allowed.contains(&k.as_str()) {
            return Err(format!("not allowed to edit '{k}'"));
        }
        let bad = || format!("'{k}' has the wrong type");
        match k.as_str() {
            "full_name" => {
                let name = v.as_str().ok_or_else(bad)?;
                c.full_name = Some(Some(
                    clean_full_name(name).ok_or_else(|| "invalid full name".to_owned())?,
                ));
            }
            "email" => {
                let e = email::validate_for_signup(v.as_str().ok_or_else(bad)?)
                    .map_err(|_| "invalid email".to_owned())?;
                c.email = Some(e);
            }
            "is_active" => c.is_active = Some(v.as_bool().ok_or_else(bad)?),
            "email_verified" => c.email_verified = Some(v.as_bool().ok_or_else(bad)?),
            "user_role" => {
                let role = v.as_str().ok_or_else(bad)?;
                if !ROLES.contains(&role) {
                    return Err("role change requested is not valid".into());
                }
                c.user_role = Some(role.to_owned());
            }
            _ => return Err(format!("not allowed to edit '{k}'")),
        }
    }
    Ok(c)
}

pub async fn edit(app: Arc<App>, _ctx: Ctx, p: proto::UserEdit) -> ActionResult {
    let fail =
        |reason: &str, message: &str| Outcome::fail(reason, message, json!({"user_info": null}));
    if p.target_userid == ANONYMOUS_ID || p.target_userid == DUMMY_ID {
        return Ok(fail(
            "invalid request: can't edit anonymous/locked users",
            "Editing anonymous/locked user accounts not allowed.",
        ));
    }
    let session_ok = live_session(&app, p.session_token.expose_secret())
        .await?
        .is_some_and(|s| {
            s.user.is_active && s.user.user_id == p.user_id && s.user.user_role == p.user_role
        });
    let allowed: &[&str] = match p.user_role.as_str() {
        "superuser" => &[
            "full_name",
            "email",
            "is_active",
            "user_role",
            "email_verified",
        ],
        "authenticated" | "staff" if p.target_userid == p.user_id => &["full_name", "email"],
        _ => {
            return Ok(fail(
                "invalid session for edit attempt",
                "User session info not available for this user edit attempt.",
            ));
        }
    };
    if !session_ok {
        return Ok(fail(
            "no valid session found for originating user_id",
            "User session info not available for this user edit attempt.",
        ));
    }
    let changes = match edit_changes(&p.update_dict, allowed) {
        Ok(c) => c,
        Err(why) => return Ok(fail(&why, "extra elements in update_dict not allowed")),
    };
    apply_edit(
        &app,
        p.target_userid,
        changes,
        false,
        "User update successful.",
    )
    .await
}

/// Writes `changes` (with `end_sessions`, deleting the target's sessions in
/// the same transaction), drops what the cache holds of the target,
/// answers user_info.
async fn apply_edit(
    app: &App,
    target: i64,
    changes: UserChanges,
    end_sessions: bool,
    message: &str,
) -> ActionResult {
    let now = app.now();
    let written = if end_sessions {
        store::users::update_ending_sessions(&app.db, target, changes, now, None).await
    } else {
        store::users::update(&app.db, target, changes, now).await
    };
    match written {
        Ok(Some(u)) => {
            if end_sessions {
                app.sessions.revoke_user_sessions(target).await;
            } else {
                app.sessions.invalidate_user(target).await;
            }
            Ok(Outcome::ok(json!({"user_info": user_info(&u)}), message))
        }
        Ok(None) => Ok(Outcome::fail(
            "no such user",
            "User update failed.",
            json!({"user_info": null}),
        )),
        Err(e) if store::users::is_taken(&e) => Ok(Outcome::fail(
            "email already in use",
            "That email address is already in use.",
            json!({"user_info": null}),
        )),
        Err(e) => Err(e.into()),
    }
}

pub async fn lock(app: Arc<App>, _ctx: Ctx, p: proto::UserLock) -> ActionResult {
    let fail =
        |reason: &str, message: &str| Outcome::fail(reason, message, json!({"user_info": null}));
    if p.user_role != "superuser" {
        return Ok(fail(
            "user role is not 'superuser', required to toggle locks",
            "You don't have lock/unlock privileges.",
        ));
    }
    if p.target_userid == p.user_id {
        return Ok(fail(
            "can't toggle a lock state on self",
            "You can't lock/unlock your own user account.",
        ));
    }
    let session_ok = live_session(&app, p.session_token.expose_secret())
        .await?
        .is_some_and(|s| {
            s.user.is_active && s.user.user_id == p.user_id && s.user.user_role == p.user_role
        });
    if !session_ok {
        return Ok(fail(
            "invalid session for user attempting lock toggle",
            "Superuser session info not available for this user edit attempt.",
        ));
    }
    toggle_lock(&app, p.target_userid, &p.action).await
}

/// authnzerver's lock: role `locked`, inactive, previous role remembered in
/// `extra_info.previous_user_roles`, sessions deleted; unlock restores it.
pub async fn toggle_lock(app: &App, target: i64, action: &str) -> ActionResult {
    let fail =
        |reason: &str, message: &str| Outcome::fail(reason, message, json!({"user_info": null}));
    if action != "lock" && action != "unlock" {
        return Ok(fail(
            "action must be either 'lock' or 'unlock'",
            "Unknown action requested for toggle_user_lock.",
        ));
    }
    if target == ANONYMOUS_ID || target == DUMMY_ID {
        return Ok(fail(
            "can't edit anonymous/locked users",
            "Editing anonymous/locked user accounts not allowed.",
        ));
    }
    let Some(user) = store::users::by_id(&app.db, target).await? else {
        return Ok(fail("no such user", "User lock toggle failed."));
    };
    let is_locked = user.user_role == "locked";
    if (action == "lock") == is_locked {
        return Ok(Outcome::ok(
            json!({"user_info": user_info(&user)}),
            "User lock toggle successful.",
        ));
    }
    let mut extra = match user.extra_info.clone() {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let mut previous: Vec<Value> = extra
        .get("previous_user_roles")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let changes = if action == "lock" {
        previous.push(user.user_role.clone().into());
        extra.insert("previous_user_roles".into(), previous.into());
        UserChanges {
            is_active: Some(false),
            user_role: Some("locked".into()),
            extra_info: Some(Some(Value::Object(extra))),
            ..Default::default()
        }
    } else {
        let restored = previous
            .pop()
            .and_then(|v| v.as_str().map(str::to_owned))
            .filter(|r| r != "locked" && ROLES.contains(&r.as_str()))
            .unwrap_or_else(|| "authenticated".into());
        extra.insert("previous_user_roles".into(), previous.into());
        UserChanges {
            is_active: Some(true),
            user_role: Some(restored),
            extra_info: Some(Some(Value::Object(extra))),
            ..Default::default()
        }
    };
    let locking = action == "lock";
    apply_edit(
        app,
        target,
        changes,
        locking,
        "User lock toggle successful.",
    )
    .await
}

pub async fn set_email_verified(
    app: Arc<App>,
    _ctx: Ctx,
    p: proto::UserSetEmailverified,
) -> ActionResult {
    let failed = || {
        Outcome::fail(
            "could not find user in DB by email",
            "Email verification toggle request failed.",
            json!({"user_id": null, "is_active": false, "user_role": "locked"}),
        )
    };
    let Some(user) = store::users::by_email(&app.db, &email::normalise(&p.email)).await? else {
        return Ok(failed());
    };
    // Only a pending sign-up is activated: an admin-locked account stays
    // locked (authnzerver re-activated any inactive account here).
    let user = if user.email_verified {
        user
    } else {
        let changes = UserChanges {
            email_verified: Some(true),
            is_active: Some(true),
            user_role: Some(if user.user_role == "locked" {
                "authenticated".into()
            } else {
                user.user_role.clone()
            }),
            ..Default::default()
        };
        let updated = store::users::update(&app.db, user.user_id, changes, app.now()).await?;
        app.sessions.invalidate_user(user.user_id).await;
        match updated {
            Some(u) => u,
            None => return Ok(failed()),
        }
    };
    Ok(Outcome::ok(
        json!({"user_id": user.user_id, "is_active": user.is_active, "user_role": user.user_role}),
        "Email verification toggle request succeeded.",
    ))
}

pub async fn set_email_sent(app: Arc<App>, _ctx: Ctx, p: proto::UserSetEmailsent) -> ActionResult {
    let now = app.now();
    let changes = match p.email_type.as_str() {
        "signup" => UserChanges {
            emailverify_sent_datetime: Some(now),
            ..Default::default()
        },
        "forgotpass" => UserChanges {
            emailforgotpass_sent_datetime: Some(now),
            ..Default::default()
        },
        _ => {
            return Ok(Outcome::fail(
                "invalid request: invalid email_type requested",
                "Invalid email sent notification request.",
                json!({}),
            ));
        }
    };
    let failed = || {
        Outcome::fail(
            "could not update the email sent status in DB",
            "Email sent notification request failed.",
            json!({}),
        )
    };
    let Some(user) = store::users::by_email(&app.db, &email::normalise(&p.email)).await? else {
        return Ok(failed());
    };
    let Some(u) = store::users::update(&app.db, user.user_id, changes, now).await? else {
        return Ok(failed());
    };
    Ok(Outcome::ok(
        json!({
            "email": u.email,
            "emailverify_sent_datetime": timefmt::format_opt(u.emailverify_sent_datetime),
            "emailforgotpass_sent_datetime": timefmt::format_opt(u.emailforgotpass_sent_datetime),
            "user_id": u.user_id,
            "is_active": u.is_active,
            "user_role": u.user_role,
        }),
        "Email sent notification request succeeded.",
    ))
}
