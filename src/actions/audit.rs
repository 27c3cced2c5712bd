//! `audit-list`, and the retention prune of the audit log.

use authnzd_proto::{self as proto, answers};
use std::sync::Arc;

use serde_json::Value;

use super::{Ctx, Done, Event, Fault, No, Refusal, Refused, Said};
use crate::app::App;
use crate::store;
use crate::timefmt;
use entity::audit_events;

/// The most events one `audit-list` answers.
pub const LIMIT_MAX: i64 = 1000;
/// Events answered when `limit` is left out.
pub const LIMIT_DEFAULT: i64 = 100;

pub async fn list(app: Arc<App>, _ctx: Ctx, p: proto::AuditList) -> Done<answers::AuditEvents> {
    let refused = |detail: &str| -> Refused {
        No::new(Refusal::invalid(detail), "Could not list audit events.")
            .with("events", Value::Array(vec![]))
            .into()
    };
    let limit = p.limit.unwrap_or(LIMIT_DEFAULT);
    let Ok(limit) = u64::try_from(limit) else {
        return Err(refused("limit must be between 1 and 1000"));
    };
    if !(1..=LIMIT_MAX.unsigned_abs()).contains(&limit) {
        return Err(refused("limit must be between 1 and 1000"));
    }
    let since = match p.since.as_deref().map(timefmt::parse) {
        None => None,
        Some(Some(at)) => Some(at),
        Some(None) => return Err(refused("since must be an ISO 8601 datetime")),
    };
    let events = store::audit::list(
        &app.db,
        store::audit::Filter {
            user_id: p.user_id,
            event: p.event,
            since,
            limit,
        },
    )
    .await?;
    let events: Vec<_> = events.into_iter().map(event).collect();
    let message = format!("{} audit events.", events.len());
    Ok(Said::new(answers::AuditEvents { events }, message))
}

/// One stored event as `audit-list` answers it.
fn event(e: audit_events::Model) -> answers::AuditEvent {
    answers::AuditEvent {
        id: e.id,
        at: timefmt::format(e.at),
        event: e.event,
        user_id: e.user_id,
        ip_hash: e.ip_hash,
        detail: e.detail.unwrap_or(Value::Null),
    }
}

/// Deletes audit events older than `audit_retention_days`. Runs at
/// start-up and hourly.
pub async fn prune(app: &App) -> Result<u64, Fault> {
    let keep = chrono::Duration::days(i64::from(app.config.ops.audit_retention_days));
    let Some(cutoff) = app.now().checked_sub_signed(keep) else {
        return Ok(0);
    };
    let pruned = store::audit::delete_before(&app.db, cutoff).await?;
    if pruned > 0 {
        tracing::info!(pruned, "old audit events deleted");
    }
    Ok(pruned)
}

/// Audits a refusal by rate limit (`rate-limited`, with the request and the
/// limit), at most once a minute per client IP and limit.
pub async fn rate_limited(
    app: &App,
    ctx: &Ctx,
    request: &str,
    limit: &'static str,
) -> Result<(), sea_orm::DbErr> {
    // Keyed as the limits are: an IPv6 client by its /64.
    let ip = crate::security::client_addr::window_key_text(
        ctx.client_ipaddr.as_deref().unwrap_or_default(),
    );
    if !app.rate_limit_audits.first_in_window(ip, limit) {
        return Ok(());
    }
    let request: String = request
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect();
    let event = Event::RateLimited {
        request,
        limit: limit.to_owned(),
    };
    super::audit(app, ctx, event, None).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_event_writes_what_the_map_did() {
        let at = chrono::DateTime::from_timestamp(1_800_000_000, 123_000)
            .unwrap()
            .naive_utc();
        for (user_id, ip_hash, detail) in [
            (
                Some(4),
                Some("ab12".to_owned()),
                Some(json!({"family": "f", "n": 2})),
            ),
            (None, None, None),
        ] {
            let e = audit_events::Model {
                id: 7,
                at,
                event: "token-issue".into(),
                user_id,
                ip_hash,
                detail,
            };
            let map = json!({
                "id": e.id,
                "at": timefmt::format(e.at),
                "event": e.event,
                "user_id": e.user_id,
                "ip_hash": e.ip_hash,
                "detail": e.detail.clone().unwrap_or(Value::Null),
            });
            assert_eq!(serde_json::to_value(event(e)).unwrap(), map);
        }
    }
}
