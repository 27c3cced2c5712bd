//! `user-edit`, and the one write every edit and lock goes through.

use std::sync::Arc;

use authnzd_proto::{self as proto};
use serde_json::json;

use super::super::{ActionResult, Ctx, Outcome, Refusal, session::live_session};
use super::answer::user_info;
use super::input::edit_changes;
use super::roles::editable_fields;
use crate::app::App;
use crate::secret::ExposeSecret;
use crate::store::seed::{ANONYMOUS_ID, DUMMY_ID};
use crate::store::{self, users::UserChanges};

pub(super) async fn edit(app: Arc<App>, _ctx: Ctx, p: proto::UserEdit) -> ActionResult {
    let fail =
        |reason: Refusal, message: &str| Outcome::fail(reason, message, json!({"user_info": null}));
    if p.target_userid == ANONYMOUS_ID || p.target_userid == DUMMY_ID {
        return Ok(fail(
            Refusal::Invalid("invalid request: can't edit anonymous/locked users".into()),
            "Editing anonymous/locked user accounts not allowed.",
        ));
    }
    let session_ok = live_session(&app, p.session_token.expose_secret())
        .await?
        .is_some_and(|s| {
            s.user.is_active && s.user.user_id == p.user_id && s.user.user_role == p.user_role
        });
    let Some(allowed) = editable_fields(&p.user_role, p.target_userid == p.user_id) else {
        return Ok(fail(
            Refusal::InvalidEditSession,
            "User session info not available for this user edit attempt.",
        ));
    };
    if !session_ok {
        return Ok(fail(
            Refusal::NoEditorSession,
            "User session info not available for this user edit attempt.",
        ));
    }
    let changes = match edit_changes(&p.update_dict, allowed) {
        Ok(c) => c,
        Err(why) => {
            return Ok(fail(
                Refusal::Invalid(why),
                "extra elements in update_dict not allowed",
            ));
        }
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
pub(super) async fn apply_edit(
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
            Refusal::NoSuchUser,
            "User update failed.",
            json!({"user_info": null}),
        )),
        Err(e) if store::users::is_taken(&e) => Ok(Outcome::fail(
            Refusal::EmailInUse,
            "That email address is already in use.",
            json!({"user_info": null}),
        )),
        Err(e) => Err(e.into()),
    }
}
