//! Requests for the trusted frontend only: `internal-user-lock`,
//! `internal-user-delete`, `internal-user-edit`, `internal-session-edit`.

use authnzd_proto::{self as proto, answers};
use std::sync::Arc;

use crate::cache::SessionRow;
use serde_json::{Map, Value};

use super::user::{self, toggle_user_lock, user_info};
use super::{Ctx, Done, No, Refusal, Refused, Said, session::live_session};
use crate::app::App;
use crate::event::By;
use crate::secret::ExposeSecret;
use crate::security::tokens;
use crate::store;
use crate::store::seed::{ANONYMOUS_ID, DUMMY_ID, SUPERUSER_ID};
use crate::timefmt;

/// The value that removes a key from an `extra_info` dict.
const DELETE: &str = "__delete__";

/// authnzerver's merge: keys are set, `"__delete__"` removes. Keys the
/// server keeps for itself (`RESERVED_EXTRA_KEYS`) are left as they are.
fn merge_extra(current: Option<&Value>, update: &Map<String, Value>) -> Value {
    let mut merged = current
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (k, v) in update {
        if user::RESERVED_EXTRA_KEYS.contains(&k.as_str()) {
            continue;
        }
        if v.as_str() == Some(DELETE) {
            merged.remove(k);
        } else {
            merged.insert(k.clone(), v.clone());
        }
    }
    Value::Object(merged)
}

pub async fn user_lock(
    app: Arc<App>,
    ctx: Ctx,
    p: proto::InternalUserLock,
) -> Done<answers::UserInfoField> {
    let restore = p.restore_role.as_deref();
    let by = By::Named("internal");
    toggle_user_lock(&app, &ctx, p.target_userid, &p.action, restore, by).await
}

pub async fn user_delete(
    app: Arc<App>,
    _ctx: Ctx,
    p: proto::InternalUserDelete,
) -> Done<answers::DeletedUser> {
    let refused = |reason| -> Refused {
        No::new(reason, "Could not delete user from DB.")
            .with("user_id", p.target_userid)
            .into()
    };
    if [SUPERUSER_ID, ANONYMOUS_ID, DUMMY_ID].contains(&p.target_userid) {
        return Err(refused(Refusal::CannotDeleteReserved));
    }
    let deleted = store::users::delete(app.writes(), p.target_userid).await?;
    if !deleted {
        return Err(refused(Refusal::NoSuchUser));
    }
    Ok(Said::new(
        answers::DeletedUser {
            user_id: p.target_userid,
        },
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

pub async fn user_edit(
    app: Arc<App>,
    _ctx: Ctx,
    p: proto::InternalUserEdit,
) -> Done<answers::UserInfoEdited> {
    let invalid = |reason: String| -> Refused {
        let message = "Invalid edit-user request: invalid update parameters.";
        No::new(Refusal::Invalid(reason), message)
            .nulls(&["user_info"])
            .into()
    };
    let no_user = || -> Refused {
        No::new(Refusal::NoSuchUser, "User info update failed.")
            .nulls(&["user_info"])
            .into()
    };
    if p.update_dict.is_empty() {
        return Err(invalid(
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
        return Err(invalid(format!(
            "invalid request: disallowed keys in update_dict: {refused:?}"
        )));
    }
    let Some(current) = store::users::by_id(&app.db, p.target_userid).await? else {
        return Err(no_user());
    };
    let mut plain = p.update_dict.clone();
    let extra = plain.remove("extra_info");
    // authnzd's addition: the phone number used for sign-in by SMS.
    let phone = match plain.remove("phone") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(n)) => match app.notify.sms.normalise(&n) {
            Ok(e164) => Some(Some(e164)),
            Err(why) => return Err(invalid(format!("'phone': {why}"))),
        },
        Some(_) => return Err(invalid("'phone' must be a string or null".into())),
    };
    let editable = [
        "full_name",
        "email",
        "is_active",
        "email_verified",
        "user_role",
    ];
    let mut changes = user::edit_changes(&plain, &editable).map_err(invalid)?;
    let taken = match (matches!(phone, Some(Some(_))), plain.contains_key("email")) {
        (true, true) => "email or phone number already in use",
        (true, false) => "phone number already in use",
        (false, _) => "email already in use",
    };
    changes.phone = phone;
    let unverified = user::unverify_new_email(&current, &mut changes);
    match extra {
        None | Some(Value::Null) => {}
        Some(Value::Object(update)) => {
            changes.extra_info = Some(Some(merge_extra(current.extra_info.as_ref(), &update)));
        }
        Some(_) => return Err(invalid("'extra_info' must be an object".into())),
    }
    match store::users::update(app.writes(), p.target_userid, changes, app.now()).await {
        Ok(Some(u)) => Ok(Said::new(
            answers::UserInfoEdited {
                user_info: user_info(&u),
                send_verification: unverified,
            },
            "User-info update successful.",
        )),
        Ok(None) => Err(no_user()),
        Err(e) if store::users::is_taken(&e) => Err(invalid(taken.into())),
        Err(e) => Err(e.into()),
    }
}

pub async fn session_edit(
    app: Arc<App>,
    _ctx: Ctx,
    p: proto::InternalSessionEdit,
) -> Done<answers::SessionRecordField> {
    let failed = |reason: Refusal| -> Refused {
        No::new(reason, "Session extra_info update failed.")
            .nulls(&["session_info"])
            .into()
    };
    if p.update_dict.is_empty() {
        return Err(failed(Refusal::Invalid(
            "invalid request: missing 'update_dict' in request".into(),
        )));
    }
    let token = p.target_session_token.expose_secret();
    let Some(found) = live_session(&app, token).await? else {
        return Err(failed(Refusal::NoSuchSession));
    };
    let merged = merge_extra(found.session.extra_info_json().as_ref(), &p.update_dict);
    let hash = tokens::digest(token);
    if !store::sessions::set_extra_info(app.writes(), &hash, Some(merged), app.now()).await? {
        return Err(failed(Refusal::NoSuchSession));
    }
    let Some(found) = live_session(&app, token).await? else {
        return Err(failed(Refusal::NoSuchSession));
    };
    Ok(Said::new(
        answers::SessionRecordField {
            session_info: record(&found.session, token),
        },
        "Session extra_info update successful.",
    ))
}

/// The session as `internal-session-edit` answers it (`token` is the one
/// asked about: only its digest is stored).
fn record(s: &SessionRow, token: &str) -> answers::SessionRecord {
    answers::SessionRecord {
        user_id: s.user_id,
        session_token: token.to_owned(),
        ip_address: s.ip_address().to_owned(),
        user_agent: s.user_agent().to_owned(),
        created: timefmt::format(s.created),
        expires: timefmt::format(s.expires),
        extra_info_json: s.extra_info_json(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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

    #[test]
    fn answers_write_what_the_maps_did() {
        for filled in [true, false] {
            let found = crate::actions::session::tests::found(filled);
            let s = &found.session;
            let map = json!({
                "user_id": s.user_id,
                "session_token": "tok",
                "ip_address": s.ip_address(),
                "user_agent": s.user_agent(),
                "created": crate::timefmt::format(s.created),
                "expires": crate::timefmt::format(s.expires),
                "extra_info_json": s.extra_info_json(),
            });
            assert_eq!(serde_json::to_value(record(s, "tok")).unwrap(), map);
        }
    }
}
