//! The audit log of security events.

use chrono::NaiveDateTime;
use entity::audit_events;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, NotSet, Set};

use crate::event::Event;

pub async fn record(
    db: &impl ConnectionTrait,
    at: NaiveDateTime,
    event: &Event,
    user_id: Option<i64>,
    ip_hash: Option<String>,
) -> Result<(), DbErr> {
    let (name, detail) = event.parts();
    audit_events::ActiveModel {
        id: NotSet,
        at: Set(at),
        event: Set(name),
        user_id: Set(user_id),
        ip_hash: Set(ip_hash),
        detail: Set(Some(detail)),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// What `audit-list` filters on.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub user_id: Option<i64>,
    pub event: Option<String>,
    pub since: Option<NaiveDateTime>,
    pub limit: u64,
}

/// Events matching `f`, newest first (by insertion order).
pub async fn list(db: &impl ConnectionTrait, f: Filter) -> Result<Vec<audit_events::Model>, DbErr> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
    let mut q = audit_events::Entity::find();
    if let Some(id) = f.user_id {
        q = q.filter(audit_events::Column::UserId.eq(id));
    }
    if let Some(event) = f.event {
        q = q.filter(audit_events::Column::Event.eq(event));
    }
    if let Some(since) = f.since {
        q = q.filter(audit_events::Column::At.gte(since));
    }
    q.order_by_desc(audit_events::Column::Id)
        .limit(f.limit)
        .all(db)
        .await
}

/// Deletes events older than `cutoff`; how many.
pub async fn delete_before(db: &impl ConnectionTrait, cutoff: NaiveDateTime) -> Result<u64, DbErr> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    Ok(audit_events::Entity::delete_many()
        .filter(audit_events::Column::At.lt(cutoff))
        .exec(db)
        .await?
        .rows_affected)
}
