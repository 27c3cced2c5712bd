//! `user-lock` and the lock state machine shared with `internal-user-lock`.

use std::sync::Arc;

use authnzd_proto::{self as proto, Role, answers};
use entity::users;
use serde_json::{Map, Value};

use super::super::{Ctx, Done, Refusal, Said, session::live_session};
use super::answer::{user_info, without_info};
use super::edit::apply_edit;
use super::roles::{LockRefusal, may_toggle_lock};
use crate::app::App;
use crate::event::{By, Event};
use crate::secret::ExposeSecret;
use crate::store::seed::{ANONYMOUS_ID, DUMMY_ID};
use crate::store::{self, users::UserChanges};

const TOGGLED: &str = "User lock toggle successful.";
const NOT_TOGGLED: &str = "User lock toggle failed.";

pub async fn lock(app: Arc<App>, ctx: Ctx, p: proto::UserLock) -> Done<answers::UserInfoField> {
    match may_toggle_lock(&p.user_role, p.user_id, p.target_userid) {
        Ok(()) => {}
        Err(LockRefusal::NotSuperuser) => {
            return Err(without_info(
                Refusal::LockNeedsSuperuser,
                "You don't have lock/unlock privileges.",
            )
            .into());
        }
        Err(LockRefusal::OwnAccount) => {
            return Err(without_info(
                Refusal::CannotLockSelf,
                "You can't lock/unlock your own user account.",
            )
            .into());
        }
    }
    let session_ok = live_session(&app, p.session_token.expose_secret())
        .await?
        .is_some_and(|s| {
            s.user.is_active && s.user.user_id == p.user_id && s.user.user_role == p.user_role
        });
    if !session_ok {
        return Err(without_info(
            Refusal::InvalidLockSession,
            "Superuser session info not available for this user edit attempt.",
        )
        .into());
    }
    toggle_user_lock(
        &app,
        &ctx,
        p.target_userid,
        &p.action,
        p.restore_role.as_deref(),
        By::User(p.user_id),
    )
    .await
}

/// authnzerver's lock: role `locked`, inactive, previous role remembered in
/// `extra_info.previous_user_roles`, sessions deleted. An unlock makes the
/// account `authenticated`, or `restore_role` when the operator names one
/// (authnzerver restored the remembered role, which a sign-up could plant).
/// A change is audited (`user-locked` / `user-unlocked`) with `by`.
pub async fn toggle_user_lock(
    app: &App,
    ctx: &Ctx,
    target: i64,
    action: &str,
    restore_role: Option<&str>,
    by: By,
) -> Done<answers::UserInfoField> {
    let answer = |u: &users::Model| {
        Ok(Said::new(
            answers::UserInfoField {
                user_info: user_info(u),
            },
            TOGGLED,
        ))
    };
    if action != "lock" && action != "unlock" {
        return Err(without_info(
            Refusal::InvalidLockAction,
            "Unknown action requested for toggle_user_lock.",
        )
        .into());
    }
    if target == ANONYMOUS_ID || target == DUMMY_ID {
        return Err(without_info(
            Refusal::CannotEditReservedRole,
            "Editing anonymous/locked user accounts not allowed.",
        )
        .into());
    }
    let Some(user) = store::users::by_id(&app.db, target).await? else {
        return Err(without_info(Refusal::NoSuchUser, NOT_TOGGLED).into());
    };
    let locking = action == "lock";
    if locking == (user.user_role == Role::Locked) {
        return answer(&user);
    }
    let restore = match restore_role.map(Role::parse) {
        None => None,
        Some(Some(r)) if !locking && r != Role::Locked && r != Role::Anonymous => Some(r),
        Some(_) => {
            return Err(without_info(
                Refusal::invalid(
                    "restore_role must be superuser, staff or authenticated, with unlock",
                ),
                NOT_TOGGLED,
            )
            .into());
        }
    };
    let changes = transition(&user, locking, restore);
    let updated = apply_edit(app, target, changes, locking).await?;
    let event = if locking {
        Event::UserLocked { by }
    } else {
        Event::UserUnlocked { by }
    };
    super::super::audit(app, ctx, event, Some(target)).await?;
    answer(&updated)
}

/// The lock state machine: locking makes the account `locked` and inactive
/// and pushes its role onto `extra_info.previous_user_roles`; unlocking pops
/// it and activates the account as `restore` or `authenticated`: never a
/// role above that which nobody named.
fn transition(user: &users::Model, lock: bool, restore: Option<Role>) -> UserChanges {
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
        previous.pop();
        (true, restore.unwrap_or(Role::Authenticated).into())
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
    use serde_json::json;

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
            webauthn_user_handle: None,
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
    fn lock_then_unlock_gives_authenticated_unless_a_role_is_named() {
        let staff = user("staff", Some(json!({"note": "kept"})));
        let locked = applied(&staff, transition(&staff, true, None));
        assert_eq!(locked.user_role, "locked");
        assert!(!locked.is_active);
        assert_eq!(
            locked.extra_info.as_ref().unwrap()["previous_user_roles"],
            json!(["staff"])
        );
        let back = applied(&locked, transition(&locked, false, None));
        assert_eq!(back.user_role, "authenticated");
        assert!(back.is_active);
        assert_eq!(back.extra_info.as_ref().unwrap()["note"], json!("kept"));
        assert_eq!(
            back.extra_info.as_ref().unwrap()["previous_user_roles"],
            json!([])
        );
        let named = applied(&locked, transition(&locked, false, Some(Role::Staff)));
        assert_eq!(named.user_role, "staff");
    }

    #[test]
    fn a_planted_history_gives_no_role_above_authenticated() {
        for extra in [
            None,
            Some(json!({"previous_user_roles": ["superuser"]})),
            Some(json!({"previous_user_roles": ["locked"]})),
            Some(json!({"previous_user_roles": ["root"]})),
            Some(json!("not an object")),
        ] {
            let u = user("locked", extra);
            assert_eq!(
                transition(&u, false, None).user_role.as_deref(),
                Some("authenticated")
            );
        }
    }
}
