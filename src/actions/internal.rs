//! Requests for the trusted frontend only: `internal-user-lock`,
//! `internal-user-delete`, `internal-user-edit`, `internal-session-edit`.

use authnzd_proto as proto;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::user::{self, toggle_lock, user_info};
use super::{ActionResult, Ctx, Outcome, Refusal, session::live_session};
use crate::app::App;
use crate::dispatch::{Route, typed};
use crate::secret::ExposeSecret;
use crate::security::tokens;
use crate::store;
use crate::store::seed::{ANONYMOUS_ID, DUMMY_ID, SUPERUSER_ID};

/// This module's requests, for the dispatcher's table.
pub(crate) fn routes() -> Vec<Route> {
    vec![
        typed(user_lock),
        typed(user_delete),
        typed(user_edit),
        typed(session_edit),
    ]
}

/// The value that removes a key from an `extra_info` dict.
const DELETE: &str = "__delete__";

/// authnzerver's merge: keys are set, `"__delete__"` removes.
fn merge_extra(current: Option<&Value>, update: &Map<String, Value>) -> Value {
    let mut merged = current
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (k, v) in update {
        if v.as_str() == Some(DELETE) {
            merged.remove(k);
        } else {
            merged.insert(k.clone(), v.clone());
        }
    }
    Value::Object(merged)
}

pub async fn user_lock(app: Arc<App>, ctx: Ctx, p: proto::InternalUserLock) -> ActionResult {
    let by = serde_json::json!({"by": "internal"});
    toggle_lock(&app, &ctx, p.target_userid, &p.action, by).await
}

pub async fn user_delete(app: Arc<App>, _ctx: Ctx, p: proto::InternalUserDelete) -> ActionResult {
    if [SUPERUSER_ID, ANONYMOUS_ID, DUMMY_ID].contains(&p.target_userid) {
        return Ok(Outcome::fail(
            Refusal::CannotDeleteReserved,
            "Could not delete user from DB.",
            json!({"user_id": p.target_userid}),
        ));
    }
    let deleted = store::users::delete(&app.db, p.target_userid).await?;
    app.sessions.revoke_user_sessions(p.target_userid).await;
    if !deleted {
        return Ok(Outcome::fail(
            Refusal::NoSuchUser,
            "Could not delete user from DB.",
            json!({"user_id": p.target_userid}),
        ));
    }
    Ok(Outcome::ok(
        json!({"user_id": p.target_userid}),
        "User successfully deleted from DB.",
    ))
}

/// Keys authnzerver refuses here: identity, secrets and bookkeeping.
const NOT_EDITABLE: &[&str] = &[
    "user_id",
    "system_id",
    "password",
    "emailverify_sent_datetime",
    "emailforgotpass_sent_datetime",
    "emailchangepass_sent_datetime",
    "last_login_success",
    "last_login_try",
    "failed_login_tries",
    "created_on",
    "last_updated",
    "lock_expires",
];

pub async fn user_edit(app: Arc<App>, _ctx: Ctx, p: proto::InternalUserEdit) -> ActionResult {
    let invalid = |reason: String| {
        Outcome::fail(
            Refusal::Invalid(reason),
            "Invalid edit-user request: invalid update parameters.",
            json!({"user_info": null}),
        )
    };
    if p.update_dict.is_empty() {
        return Ok(invalid(
            "invalid request: missing 'update_dict' in request".into(),
        ));
    }
    let refused: Vec<&str> = p
        .update_dict
        .keys()
        .map(String::as_str)
        .filter(|k| NOT_EDITABLE.contains(k))
        .collect();
    if !refused.is_empty() {
        return Ok(invalid(format!(
            "invalid request: disallowed keys in update_dict: {refused:?}"
        )));
    }
    let Some(current) = store::users::by_id(&app.db, p.target_userid).await? else {
        return Ok(Outcome::fail(
            Refusal::NoSuchUser,
            "User info update failed.",
            json!({"user_info": null}),
        ));
    };
    let mut plain = p.update_dict.clone();
    let extra = plain.remove("extra_info");
    // authnzd's addition: the phone number used for sign-in by SMS.
    let phone = match plain.remove("phone") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(n)) => match app.sms.normalise(&n) {
            Ok(e164) => Some(Some(e164)),
            Err(why) => return Ok(invalid(format!("'phone': {why}"))),
        },
        Some(_) => return Ok(invalid("'phone' must be a string or null".into())),
    };
    let mut changes = match user::edit_changes(
        &plain,
        &[
            "full_name",
            "email",
            "is_active",
            "email_verified",
            "user_role",
        ],
    ) {
        Ok(c) => c,
        Err(why) => return Ok(invalid(why)),
    };
    let taken = match (matches!(phone, Some(Some(_))), plain.contains_key("email")) {
        (true, true) => "email or phone number already in use",
        (true, false) => "phone number already in use",
        (false, _) => "email already in use",
    };
    changes.phone = phone;
    match extra {
        None | Some(Value::Null) => {}
        Some(Value::Object(update)) => {
            changes.extra_info = Some(Some(merge_extra(current.extra_info.as_ref(), &update)));
        }
        Some(_) => return Ok(invalid("'extra_info' must be an object".into())),
    }
    match store::users::update(&app.db, p.target_userid, changes, app.now()).await {
        Ok(Some(u)) => {
            app.sessions.invalidate_user(u.user_id).await;
            Ok(Outcome::ok(
                json!({"user_info": user_info(&u)}),
                "User-info update successful.",
            ))
        }
        Ok(None) => Ok(Outcome::fail(
            Refusal::NoSuchUser,
            "User info update failed.",
            json!({"user_info": null}),
        )),
        Err(e) if store::users::is_taken(&e) => Ok(invalid(taken.into())),
        Err(e) => Err(e.into()),
    }
}

pub async fn session_edit(app: Arc<App>, _ctx: Ctx, p: proto::InternalSessionEdit) -> ActionResult {
    let failed = |reason: Refusal| {
        Outcome::fail(
            reason,
            "Session extra_info update failed.",
            json!({"session_info": null}),
        )
    };
    if p.update_dict.is_empty() {
        return Ok(failed(Refusal::Invalid(
            "invalid request: missing 'update_dict' in request".into(),
        )));
    }
    let Some(found) = live_session(&app, p.target_session_token.expose_secret()).await? else {
        return Ok(failed(Refusal::NoSuchSession));
    };
    let merged = merge_extra(found.session.extra_info_json.as_ref(), &p.update_dict);
    let hash = tokens::digest(p.target_session_token.expose_secret());
    if !store::sessions::set_extra_info(&app.db, &hash, Some(merged), app.now()).await? {
        return Ok(failed(Refusal::NoSuchSession));
    }
    app.sessions.invalidate_session(&hash).await;
    let Some(found) = live_session(&app, p.target_session_token.expose_secret()).await? else {
        return Ok(failed(Refusal::NoSuchSession));
    };
    let s = &found.session;
    Ok(Outcome::ok(
        json!({"session_info": {
            "user_id": s.user_id,
            "session_token": p.target_session_token.expose_secret(),
            "ip_address": s.ip_address,
            "user_agent": s.user_agent,
            "created": crate::timefmt::format(s.created),
            "expires": crate::timefmt::format(s.expires),
            "extra_info_json": s.extra_info_json,
        }}),
        "Session extra_info update successful.",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_sets_and_deletes_keys() {
        let current = json!({"a": 1, "b": 2});
        let Value::Object(update) = json!({"b": "__delete__", "c": 3, "zz": "__delete__"}) else {
            unreachable!()
        };
        assert_eq!(
            merge_extra(Some(&current), &update),
            json!({"a": 1, "c": 3})
        );
        assert_eq!(merge_extra(None, &update), json!({"c": 3}));
    }
}
