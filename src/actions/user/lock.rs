//! `user-lock` and the lock state machine shared with `internal-user-lock`.

use std::sync::Arc;

use authnzd_proto::{self as proto, Role};
use entity::users;
use serde_json::{Map, Value, json};

use super::super::{ActionResult, Ctx, Outcome, Refusal, session::live_session};
use super::answer::user_info;
use super::edit::apply_edit;
use super::roles::{LockRefusal, may_toggle_lock};
use crate::app::App;
use crate::secret::ExposeSecret;
use crate::store::seed::{ANONYMOUS_ID, DUMMY_ID};
use crate::store::{self, users::UserChanges};

pub(super) async fn lock(app: Arc<App>, ctx: Ctx, p: proto::UserLock) -> ActionResult {
    let fail =
        |reason: Refusal, message: &str| Outcome::fail(reason, message, json!({"user_info": null}));
    match may_toggle_lock(&p.user_role, p.user_id, p.target_userid) {
        Ok(()) => {}
        Err(LockRefusal::NotSuperuser) => {
            return Ok(fail(
                Refusal::LockNeedsSuperuser,
                "You don't have lock/unlock privileges.",
            ));
        }
        Err(LockRefusal::OwnAccount) => {
            return Ok(fail(
                Refusal::CannotLockSelf,
                "You can't lock/unlock your own user account.",
            ));
        }
    }
    let session_ok = live_session(&app, p.session_token.expose_secret())
        .await?
        .is_some_and(|s| {
            s.user.is_active && s.user.user_id == p.user_id && s.user.user_role == p.user_role
        });
    if !session_ok {
        return Ok(fail(
            Refusal::InvalidLockSession,
            "Superuser session info not available for this user edit attempt.",
        ));
    }
    toggle_lock(
        &app,
        &ctx,
        p.target_userid,
        &p.action,
        json!({"by": p.user_id}),
    )
    .await
}

/// authnzerver's lock: role `locked`, inactive, previous role remembered in
/// `extra_info.previous_user_roles`, sessions deleted; unlock restores it.
/// A change is audited (`user-locked` / `user-unlocked`) with `by`.
pub async fn toggle_lock(
    app: &App,
    ctx: &Ctx,
    target: i64,
    action: &str,
    by: Value,
) -> ActionResult {
    let fail =
        |reason: Refusal, message: &str| Outcome::fail(reason, message, json!({"user_info": null}));
    if action != "lock" && action != "unlock" {
        return Ok(fail(
            Refusal::InvalidLockAction,
            "Unknown action requested for toggle_user_lock.",
        ));
    }
    if target == ANONYMOUS_ID || target == DUMMY_ID {
        return Ok(fail(
            Refusal::CannotEditReservedRole,
            "Editing anonymous/locked user accounts not allowed.",
        ));
    }
    let Some(user) = store::users::by_id(&app.db, target).await? else {
        return Ok(fail(Refusal::NoSuchUser, "User lock toggle failed."));
    };
    let is_locked = user.user_role == Role::Locked;
    if (action == "lock") == is_locked {
        return Ok(Outcome::ok(
            json!({"user_info": user_info(&user)}),
            "User lock toggle successful.",
        ));
    }
    let changes = transition(&user, action == "lock");
    let locking = action == "lock";
    let out = apply_edit(
        app,
        target,
        changes,
        locking,
        "User lock toggle successful.",
    )
    .await?;
    if out.success {
        let event = if locking {
            "user-locked"
        } else {
            "user-unlocked"
        };
        super::super::audit(app, ctx, event, Some(target), by).await?;
    }
    Ok(out)
}

/// The lock state machine: locking makes the account `locked` and inactive
/// and pushes its role onto `extra_info.previous_user_roles`; unlocking pops
/// it (a role that is not a real one, or `locked`, becomes `authenticated`)
/// and activates the account.
fn transition(user: &users::Model, lock: bool) -> UserChanges {
    let mut extra = match user.extra_info.clone() {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let mut previous: Vec<Value> = extra
        .get("previous_user_roles")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let (is_active, role) = if lock {
        previous.push(user.user_role.clone().into());
        (false, Role::Locked.into())
    } else {
        let restored = previous
            .pop()
            .and_then(|v| v.as_str().map(str::to_owned))
            .filter(|r| Role::parse(r).is_some_and(|r| r != Role::Locked))
            .unwrap_or_else(|| Role::Authenticated.into());
        (true, restored)
    };
    extra.insert("previous_user_roles".into(), previous.into());
    UserChanges {
        is_active: Some(is_active),
        user_role: Some(role),
        extra_info: Some(Some(Value::Object(extra))),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: &str, extra: Option<Value>) -> users::Model {
        let t = chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc();
        users::Model {
            user_id: 4,
            system_id: "s".into(),
            full_name: None,
            password: String::new(),
            email: "a@b.c".into(),
            email_verified: true,
            is_active: true,
            emailverify_sent_datetime: None,
            emailforgotpass_sent_datetime: None,
            emailchangepass_sent_datetime: None,
            last_login_success: None,
            last_login_try: None,
            failed_login_tries: 0,
            lock_expires: None,
            extra_info: extra,
            created_on: t,
            last_updated: t,
            user_role: role.into(),
            phone: None,
        }
    }

    fn applied(u: &users::Model, c: UserChanges) -> users::Model {
        let mut u = u.clone();
        u.is_active = c.is_active.unwrap();
        u.user_role = c.user_role.unwrap();
        u.extra_info = c.extra_info.unwrap();
        u
    }

    #[test]
    fn lock_then_unlock_gives_the_role_back() {
        let staff = user("staff", Some(json!({"note": "kept"})));
        let locked = applied(&staff, transition(&staff, true));
        assert_eq!(locked.user_role, "locked");
        assert!(!locked.is_active);
        assert_eq!(
            locked.extra_info.as_ref().unwrap()["previous_user_roles"],
            json!(["staff"])
        );
        let back = applied(&locked, transition(&locked, false));
        assert_eq!(back.user_role, "staff");
        assert!(back.is_active);
        assert_eq!(back.extra_info.as_ref().unwrap()["note"], json!("kept"));
        assert_eq!(
            back.extra_info.as_ref().unwrap()["previous_user_roles"],
            json!([])
        );
    }

    #[test]
    fn unlock_without_a_usable_previous_role_gives_authenticated() {
        for extra in [
            None,
            Some(json!({"previous_user_roles": ["locked"]})),
            Some(json!({"previous_user_roles": ["root"]})),
            Some(json!("not an object")),
        ] {
            let u = user("locked", extra);
            assert_eq!(
                transition(&u, false).user_role.as_deref(),
                Some("authenticated")
            );
        }
    }
}
