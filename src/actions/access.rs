//! `user-check-access` and `user-check-limit`: the permissions policy's
//! decisions, given only for users that exist, are active and hold the role
//! the caller names (as authnzerver does).

use authnzd_proto::{self as proto, answers};
use std::sync::Arc;

use super::session::cached_user;
use super::{Ctx, Done, Refusal, Said, no};
use crate::app::App;
use crate::policy::AccessQuery;

/// Most user IDs a `target_sharedwith` list may name.
const SHAREDWITH_MAX: usize = 1000;

/// An access decision with the reason behind a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Granted,
    /// The policy does not allow it.
    NotPermitted,
    /// The caller is unknown, inactive or does not hold the role it claims.
    InvalidCaller,
    /// The owner or someone it is shared with is unknown or inactive.
    UnknownUsers,
}

/// Decides `q` against the policy and the users table.
pub async fn decide(app: &App, q: &AccessQuery<'_>) -> Result<Verdict, sea_orm::DbErr> {
    let granted = app.policy.check_access(q);
    if !caller_is_valid(app, q.user_id, q.role).await? {
        return Ok(Verdict::InvalidCaller);
    }
    let others = std::iter::once(q.target_owner).chain(q.target_sharedwith.iter().copied());
    for id in others {
        if id == q.user_id {
            continue;
        }
        match cached_user(app, id).await? {
            Some(u) if u.is_active => {}
            _ => return Ok(Verdict::UnknownUsers),
        }
    }
    Ok(if granted {
        Verdict::Granted
    } else {
        Verdict::NotPermitted
    })
}

async fn caller_is_valid(app: &App, user_id: i64, role: &str) -> Result<bool, sea_orm::DbErr> {
    Ok(cached_user(app, user_id)
        .await?
        .is_some_and(|u| u.is_active && u.user_role == role))
}

/// authnzerver's `target_sharedwith`: comma-separated user IDs, or empty or
/// `"none"` for nobody.
pub fn parse_sharedwith(s: &str) -> Result<Vec<i64>, String> {
    let s = s.trim();
    if s.is_empty() || s.eq_ignore_ascii_case("none") {
        return Ok(vec![]);
    }
    let mut ids = Vec::new();
    for part in s.split(',') {
        let id = part
            .trim()
            .parse::<i64>()
            .map_err(|_| format!("{:?} is not a user ID", part.trim()))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
        if ids.len() > SHAREDWITH_MAX {
            return Err(format!("more than {SHAREDWITH_MAX} user IDs"));
        }
    }
    Ok(ids)
}

fn granted_message(granted: bool) -> String {
    format!(
        "Access request check successful. Access granted: {}.",
        if granted { "True" } else { "False" }
    )
}

pub async fn check_access(
    app: Arc<App>,
    _ctx: Ctx,
    p: proto::UserCheckAccess,
) -> Done<answers::Done> {
    let shared = match parse_sharedwith(&p.target_sharedwith) {
        Ok(ids) => ids,
        Err(problem) => {
            return no(
                Refusal::Invalid(format!("invalid request: target_sharedwith: {problem}")),
                "Invalid access grant request.",
            );
        }
    };
    let q = AccessQuery {
        user_id: p.user_id,
        role: &p.user_role,
        action: &p.action,
        target_name: &p.target_name,
        target_owner: p.target_owner,
        target_visibility: &p.target_visibility,
        target_sharedwith: &shared,
    };
    let reason = match decide(&app, &q).await? {
        Verdict::Granted => return Ok(Said::new(answers::Done {}, granted_message(true))),
        Verdict::NotPermitted => Refusal::ActionNotPermitted,
        Verdict::InvalidCaller => Refusal::InvalidCaller,
        Verdict::UnknownUsers => Refusal::UnknownOwnerOrShare,
    };
    no(reason, granted_message(false))
}

pub async fn check_limit(
    app: Arc<App>,
    _ctx: Ctx,
    p: proto::UserCheckLimit,
) -> Done<answers::Done> {
    let passed = app
        .policy
        .check_limit(&p.user_role, &p.limit_name, &p.value_to_check);
    let message = format!(
        "Limit check successful. Limit check passed: {}.",
        if passed { "True" } else { "False" }
    );
    if !caller_is_valid(&app, p.user_id, &p.user_role).await? {
        return no(
            Refusal::AccessUserNotFound,
            "Limit check successful. Limit check passed: False.",
        );
    }
    if !passed {
        return no(Refusal::OverLimit, message);
    }
    Ok(Said::new(answers::Done {}, message))
}
