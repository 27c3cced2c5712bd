//! The audit log of security events.

use chrono::NaiveDateTime;
use entity::audit_events;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, NotSet, Set};
use serde_json::Value;

pub async fn record(
    db: &impl ConnectionTrait,
    at: NaiveDateTime,
    event: &str,
    user_id: Option<i64>,
    ip_hash: Option<String>,
    detail: Option<Value>,
) -> Result<(), DbErr> {
    audit_events::ActiveModel {
        id: NotSet,
        at: Set(at),
        event: Set(event.to_owned()),
        user_id: Set(user_id),
        ip_hash: Set(ip_hash),
        detail: Set(detail),
    }
    .insert(db)
    .await?;
    Ok(())
}
