//! What requests send, cleaned and checked: full names, waits, lookup
//! columns, `update_dict`s.

use authnzd_proto::Role;
use chrono::{Duration, NaiveDateTime};
use entity::users;
use serde_json::{Map, Value};

use crate::security::email;
use crate::store::users::UserChanges;

pub(super) const FULL_NAME_MAX: usize = 280;
pub(super) const CREATED: &str =
    "User account created. Please verify your email address to log in.";

/// authnzerver's full-name rules: normalised, whitespace squeezed, HTML
/// escaped, and no links.
pub(super) fn clean_full_name(raw: &str) -> Option<String> {
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

/// `extra_info` keys the server acts on (the lock history an unlock reads):
/// never taken from a client, on any request, so none can forge them. The
/// labels a sign-up gets (`provenance`, `type`, `verify_retry_wait`) are
/// the server's at sign-up and a trusted frontend's to edit after, as in
/// authnzerver; nothing reads them.
pub(crate) const RESERVED_EXTRA_KEYS: &[&str] = &["previous_user_roles"];

/// A client's `extra_info` without the keys the server keeps for itself.
pub(crate) fn client_extra(mut extra: Map<String, Value>) -> Map<String, Value> {
    extra.retain(|k, _| !RESERVED_EXTRA_KEYS.contains(&k.as_str()));
    extra
}

/// An email change is a new, unverified address, unless the same edit says
/// otherwise (a superuser setting `email_verified`); true when `changes`
/// give `current` such a new address (the answer then says
/// `send_verification`).
pub fn unverify_new_email(current: &users::Model, changes: &mut UserChanges) -> bool {
    let new = changes.email.as_ref().is_some_and(|e| *e != current.email);
    if new && changes.email_verified.is_none() {
        changes.email_verified = Some(false);
    }
    new && changes.email_verified == Some(false)
}

/// Whether `sent` is more than `hours` before `now`; any i64 is taken (a
/// wait past every date is never over, a negative one always is).
pub(super) fn older_than_hours(now: NaiveDateTime, sent: NaiveDateTime, hours: i64) -> bool {
    match Duration::try_hours(hours) {
        Some(wait) => now.signed_duration_since(sent) > wait,
        None => hours < 0,
    }
}

/// Columns `user-lookup-match` may match on (authnzerver allowed any column,
/// the password hash included).
pub(super) fn match_column(by: &str, value: &Value) -> Option<(users::Column, sea_orm::Value)> {
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
                if Role::parse(role).is_none() {
                    return Err("role change requested is not valid".into());
                }
                c.user_role = Some(role.to_owned());
            }
            _ => return Err(format!("not allowed to edit '{k}'")),
        }
    }
    Ok(c)
}
