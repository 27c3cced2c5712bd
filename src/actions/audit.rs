//! `audit-list`, and the retention prune of the audit log.

use authnzd_proto as proto;
use std::sync::Arc;

use serde_json::{Value, json};

use super::{ActionResult, Ctx, Fault, Outcome, Refusal};
use crate::app::App;
use crate::dispatch::{Route, typed};
use crate::store;
use crate::timefmt;

/// This module's requests, for the dispatcher's table.
pub(crate) fn routes() -> Vec<Route> {
    vec![typed(list)]
}

/// The most events one `audit-list` answers.
pub const LIMIT_MAX: i64 = 1000;
/// Events answered when `limit` is left out.
pub const LIMIT_DEFAULT: i64 = 100;

pub async fn list(app: Arc<App>, _ctx: Ctx, p: proto::AuditList) -> ActionResult {
    let refused = |detail: &str| {
        Outcome::fail(
            Refusal::invalid(detail),
            "Could not list audit events.",
            json!({"events": []}),
        )
    };
    let limit = p.limit.unwrap_or(LIMIT_DEFAULT);
    let Ok(limit) = u64::try_from(limit) else {
        return Ok(refused("limit must be between 1 and 1000"));
    };
    if !(1..=LIMIT_MAX.unsigned_abs()).contains(&limit) {
        return Ok(refused("limit must be between 1 and 1000"));
    }
    let since = match p.since.as_deref().map(timefmt::parse) {
        None => None,
        Some(Some(at)) => Some(at),
        Some(None) => return Ok(refused("since must be an ISO 8601 datetime")),
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
    let events: Vec<Value> = events
        .into_iter()
        .map(|e| {
            json!({
                "id": e.id,
                "at": timefmt::format(e.at),
                "event": e.event,
                "user_id": e.user_id,
                "ip_hash": e.ip_hash,
                "detail": e.detail.unwrap_or(Value::Null),
            })
        })
        .collect();
    let message = format!("{} audit events.", events.len());
    Ok(Outcome::ok(json!({"events": events}), message))
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

/// How often one client is audited for hitting one limit: a flood of
/// refused requests writes one row a minute per client and limit, not one
/// per request.
const RATE_LIMIT_AUDIT_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Clients recently audited for a rate-limit hit (bounded).
#[derive(Debug)]
pub struct RateLimitAudits(moka::sync::Cache<(String, &'static str), ()>);

impl Default for RateLimitAudits {
    fn default() -> Self {
        RateLimitAudits(
            moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(RATE_LIMIT_AUDIT_EVERY)
                .build(),
        )
    }
}

/// Audits a refusal by rate limit (`rate-limited`, with the request and the
/// limit), at most once a minute per client IP and limit.
pub async fn rate_limited(
    app: &App,
    ctx: &Ctx,
    request: &str,
    limit: &'static str,
) -> Result<(), sea_orm::DbErr> {
    let ip = ctx.client_ipaddr.clone().unwrap_or_default();
    let fresh = app
        .rate_limit_audits
        .0
        .entry((ip, limit))
        .or_insert(())
        .is_fresh();
    if !fresh {
        return Ok(());
    }
    let request: String = request
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect();
    let detail = json!({"request": request, "limit": limit});
    super::audit(app, ctx, "rate-limited", None, detail).await
}
