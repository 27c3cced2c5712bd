//! `user-edit`, and the one write every edit and lock goes through.

use std::sync::Arc;

use authnzd_proto::{self as proto, answers};
use entity::users;

use super::super::{Ctx, Done, Refusal, Refused, Said, session::live_session};
use super::answer::{user_info, without_info};
use super::input::{edit_changes, unverify_new_email};
use super::roles::editable_fields;
use crate::app::App;
use crate::secret::ExposeSecret;
use crate::store::seed::{ANONYMOUS_ID, DUMMY_ID};
use crate::store::{self, users::UserChanges};

const NO_SESSION: &str = "User session info not available for this user edit attempt.";

pub async fn edit(app: Arc<App>, _ctx: Ctx, p: proto::UserEdit) -> Done<answers::UserEdited> {
    if p.target_userid == ANONYMOUS_ID || p.target_userid == DUMMY_ID {
        return Err(without_info(
            Refusal::Invalid("invalid request: can't edit anonymous/locked users".into()),
            "Editing anonymous/locked user accounts not allowed.",
        )
        .into());
    }
    let session_ok = live_session(&app, p.session_token.expose_secret())
        .await?
        .is_some_and(|s| {
            s.user.is_active && s.user.user_id == p.user_id && s.user.user_role == p.user_role
        });
    let Some(allowed) = editable_fields(&p.user_role, p.target_userid == p.user_id) else {
        return Err(without_info(Refusal::InvalidEditSession, NO_SESSION).into());
    };
    if !session_ok {
        return Err(without_info(Refusal::NoEditorSession, NO_SESSION).into());
    }
    let mut changes = edit_changes(&p.update_dict, allowed).map_err(|why| {
        without_info(
            Refusal::Invalid(why),
            "extra elements in update_dict not allowed",
        )
    })?;
    let Some(current) = store::users::by_id(&app.db, p.target_userid).await? else {
        return Err(without_info(Refusal::NoSuchUser, "User update failed.").into());
    };
    let unverified = unverify_new_email(&current, &mut changes);
    let updated = apply_edit(&app, p.target_userid, changes, false).await?;
    let mut said = Said::new(
        answers::UserEdited {
            user_info: user_info(&updated),
            send_verification: unverified.then_some(true),
        },
        "User update successful.",
    );
    if unverified {
        said.messages
            .push("Please verify the new email address before it is used to sign in.".into());
    }
    Ok(said)
}

/// Writes `changes` (with `end_sessions`, deleting the target's sessions in
/// the same transaction), drops what the cache holds of the target, and
/// gives the account as written.
pub(super) async fn apply_edit(
    app: &App,
    target: i64,
    changes: UserChanges,
    end_sessions: bool,
) -> Result<users::Model, Refused> {
    let now = app.now();
    let written = if end_sessions {
        store::users::update_ending_sessions(app.writes(), target, changes, now, None).await
    } else {
        store::users::update(app.writes(), target, changes, now).await
    };
    match written {
        Ok(Some(u)) => Ok(u),
        Ok(None) => Err(without_info(Refusal::NoSuchUser, "User update failed.").into()),
        Err(e) if store::users::is_taken(&e) => {
            Err(without_info(Refusal::EmailInUse, "That email address is already in use.").into())
        }
        Err(e) => Err(e.into()),
    }
}
