//! Accounts: `user-new`, `user-delete`, `user-list`, `user-lookup-email`,
//! `user-lookup-match` here; `user-edit` in `edit`, `user-lock` in `lock`,
//! `user-set-emailverified` / `user-set-emailsent` in `verify`; `operator`
//! adds accounts for `authnzd user add`; `email_change` is a user's own
//! change of address, confirmed by a mailed link. `answer`
//! shapes `user_info`, `input` cleans what requests send, `roles` says who
//! may change what.

mod answer;
mod edit;
pub mod email_change;
mod input;
mod lock;
pub mod operator;
mod roles;
mod verify;

pub use answer::user_info;
pub(crate) use input::RESERVED_EXTRA_KEYS;
pub use input::{edit_changes, unverify_new_email};
pub use lock::toggle_user_lock;

pub use edit::edit;
use input::{CREATED, clean_full_name, match_column, older_than_hours};
pub use lock::lock;
pub use verify::{set_email_sent, set_email_verified};

use std::sync::Arc;

use authnzd_proto::{self as proto, Method, Role, answers};
use serde_json::Value;

use super::mfa::{self, Second};
use super::password_check::{self, Checked};
use super::{Ctx, Done, No, Refusal, Refused, Said};
use crate::app::App;
use crate::secret::ExposeSecret;
use crate::security::email;
use crate::store::{self};
use answer::without_info;

/// A new account's address, name and password after `user-new`'s checks.
pub struct Signup {
    pub address: String,
    pub full_name: String,
    /// Truncated as logins truncate it.
    pub password: String,
}

/// `user-new`'s refusal fields: nothing was made.
fn not_created(reason: Refusal, message: impl Into<String>) -> No {
    No::new(reason, message)
        .nulls(&["user_email", "user_id"])
        .with("send_verification", false)
}

/// `user-new`'s checks, shared with `authnzd user add`: a valid address
/// that may sign up, a full name without links, a password the policy
/// accepts. The refusal is `user-new`'s answer.
pub async fn check_signup(
    app: &App,
    address: &str,
    full_name: &str,
    password: &str,
) -> Result<Signup, Refused> {
    let Ok(address) = email::validate_for_signup(address) else {
        return Err(not_created(
            Refusal::InvalidEmail,
            "The email address provided doesn't seem to be a valid email address and cannot be used to sign up for an account on this server.",
        ).into());
    };
    let Some(full_name) = clean_full_name(full_name) else {
        return Err(not_created(
            Refusal::InvalidFullName,
            "The full name provided appears to contain an HTTP link, and cannot be used to sign up for an account on this server.",
        ).into());
    };
    let password = password_check::truncate_password(password);
    let problems = super::password::policy_problems(app, &password, &address, &full_name).await;
    if !problems.is_empty() {
        let no = not_created(Refusal::InvalidPassword, "").with("user_email", address);
        return Err(No {
            messages: problems,
            ..no
        }
        .into());
    }
    Ok(Signup {
        address,
        full_name,
        password,
    })
}

pub async fn new(app: Arc<App>, _ctx: Ctx, p: proto::UserNew) -> Done<answers::NewUser> {
    let Signup {
        address,
        full_name,
        password,
    } = check_signup(&app, &p.email, &p.full_name, p.password.expose_secret()).await?;
    let verify_retry_wait = p.verify_retry_wait.unwrap_or(6).max(1);
    let mut extra = input::client_extra(p.extra_info.unwrap_or_default());
    extra.insert("provenance".into(), "request-created".into());
    extra.insert("type".into(), "normal-user".into());
    extra.insert("verify_retry_wait".into(), verify_retry_wait.into());
    let hash = app.credentials.hasher.hash(password).await?;
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
        return Ok(Said::new(
            answers::NewUser {
                user_id: u.user_id,
                user_email: u.email,
                system_id: u.system_id,
                send_verification: true,
            },
            CREATED,
        ));
    }
    let Some(existing) = store::users::by_email(&app.db, &address).await? else {
        return Err(not_created(Refusal::UserCreationFailed, CREATED).into());
    };
    // An unverified sign-up older than `verify_retry_wait` hours is replaced.
    let stale = !existing.is_active
        && !existing.email_verified
        && existing
            .emailverify_sent_datetime
            .is_none_or(|sent| older_than_hours(now, sent, verify_retry_wait));
    let existing = if stale {
        store::users::replace_unverified(
            app.writes(),
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
    Err(No::new(Refusal::UserExists, CREATED)
        .with("user_email", existing.email)
        .with("user_id", existing.user_id)
        .with("system_id", existing.system_id)
        .with("send_verification", stale)
        .into())
}

pub async fn delete(app: Arc<App>, ctx: Ctx, p: proto::UserDelete) -> Done<answers::AccountRef> {
    let address = email::normalise(&p.email);
    let candidate = store::users::by_id(&app.db, p.user_id)
        .await?
        .filter(|u| u.email == address);
    let is_superuser = candidate
        .as_ref()
        .is_some_and(|u| u.user_role == Role::Superuser);
    let (checked, due) =
        password_check::check_password(&app, candidate, Some(&address), p.password.expose_secret())
            .await?;
    // The answer names the account as the request did.
    let asked = answers::AccountRef {
        user_id: p.user_id,
        email: p.email,
    };
    let answer = delete_checked(&app, &ctx, checked, p.code.as_ref(), is_superuser, asked).await;
    due.wait().await;
    answer
}

/// `user-delete` after its password check.
async fn delete_checked(
    app: &App,
    ctx: &Ctx,
    checked: Checked,
    code: Option<&proto::Secret>,
    is_superuser: bool,
    asked: answers::AccountRef,
) -> Done<answers::AccountRef> {
    let refused = |reason: Refusal, message: &str| -> Refused {
        No::new(reason, message)
            .with("user_id", asked.user_id)
            .with("email", asked.email.as_str())
            .into()
    };
    let code = code.map(|c| c.expose_secret());
    let user = match checked {
        Checked::Ok(passed) => {
            match mfa::second_factor(app, ctx, &passed, Method::Pwd, code).await? {
                Second::Done(_) => passed.user,
                Second::Needed => return Err(mfa::code_needed().into()),
            }
        }
        Checked::Inactive(u) => u,
        Checked::Locked { .. } => return Err(checked.refusal().into()),
        _ => {
            return Err(refused(
                Refusal::InvalidEmailOrPassword,
                "We could not verify your email address or password.",
            ));
        }
    };
    if is_superuser {
        return Err(refused(
            Refusal::CannotDeleteSuperuser,
            "Can't delete superusers.",
        ));
    }
    store::users::delete(app.writes(), user.user_id).await?;
    Ok(Said::new(asked, "User successfully deleted from DB."))
}

const LOOKED_UP: &str = "User look up successful.";

pub async fn list(app: Arc<App>, _ctx: Ctx, p: proto::UserList) -> Done<answers::UserInfoList> {
    let found = store::users::list(&app.db, p.user_id).await?;
    if p.user_id.is_some() && found.is_empty() {
        return Err(without_info(Refusal::TargetUserNotFound, "User look up failed.").into());
    }
    Ok(Said::new(
        answers::UserInfoList {
            user_info: found.iter().map(user_info).collect(),
        },
        LOOKED_UP,
    ))
}

pub async fn lookup_email(
    app: Arc<App>,
    _ctx: Ctx,
    p: proto::UserLookupEmail,
) -> Done<answers::UserInfoField> {
    match store::users::by_email(&app.db, &email::normalise(&p.email)).await? {
        Some(u) => Ok(Said::new(
            answers::UserInfoField {
                user_info: user_info(&u),
            },
            LOOKED_UP,
        )),
        None => Err(without_info(Refusal::EmailNotFound, "User look up failed.").into()),
    }
}

pub async fn lookup_match(
    app: Arc<App>,
    _ctx: Ctx,
    p: proto::UserLookupMatch,
) -> Done<answers::UserInfoList> {
    let invalid = || -> Refused {
        without_info(
            Refusal::Invalid("invalid request: 'by' names no matchable column, or 'match' has the wrong type for it".into()),
            "Invalid match condition provided.",
        )
        .into()
    };
    let found = if p.by == "extra_info" {
        let Value::Object(wanted) = &p.r#match else {
            return Err(invalid());
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
            return Err(invalid());
        };
        store::users::matching(&app.db, column, value).await?
    };
    Ok(Said::new(
        answers::UserInfoList {
            user_info: found.iter().map(user_info).collect(),
        },
        LOOKED_UP,
    ))
}
