//! `session-new`, `session-exists`, `session-delete`,
//! `session-delete-userid`, `session-list`, `session-delete-others`.

use authnzd_proto::{self as proto, Amr, answers};
use std::net::IpAddr;
use std::sync::Arc;

use serde_json::Value;

use super::{Ctx, Done, Event, Fault, No, Refusal, Refused, Said, no};
use crate::app::App;
use crate::cache::{CachedSession, SessionRow};
use crate::secret::ExposeSecret;
use crate::security::tokens;
use crate::store::{self, seed::ANONYMOUS_ID};
use crate::timefmt;
use entity::users;

/// authnzerver's column width for user agents.
const USER_AGENT_MAX: usize = 280;

pub async fn new(app: Arc<App>, ctx: Ctx, p: proto::SessionNew) -> Done<answers::NewSession> {
    let refused = |reason| -> Refused {
        No::new(reason, "Could not create a new session.")
            .nulls(&["session_token", "expires"])
            .into()
    };
    let Ok(ip) = p.ip_address.trim().parse::<IpAddr>() else {
        return Err(refused(Refusal::InvalidIpAddress));
    };
    let Some(expires) = timefmt::parse(&p.expires) else {
        return Err(refused(Refusal::InvalidExpires));
    };
    // authnzerver: a missing or zero user id means the anonymous user.
    let user_id = p.user_id.filter(|id| *id != 0).unwrap_or(ANONYMOUS_ID);
    // From the user cache (the anonymous user is always there); a user
    // deleted meanwhile is caught by the insert's foreign key.
    if cached_user(&app, user_id).await?.is_none() {
        return Err(refused(Refusal::NoSuchUser));
    }
    // authnzerver frontends make the user's session after a login: it
    // takes over how that login went, if it was just now.
    let (amr, auth_time) = if user_id == ANONYMOUS_ID {
        (String::new(), None)
    } else {
        match store::grants::take(&app.db, user_id, app.now()).await? {
            Some((amr, at)) => (amr, Some(at)),
            None => (String::new(), None),
        }
    };
    let token = tokens::new_token()?;
    let inserted = app
        .new_sessions
        .call(store::sessions::NewSession {
            token_hash: tokens::digest(&token),
            ip_address: ip.to_string(),
            user_agent: truncate(&p.user_agent, USER_AGENT_MAX),
            user_id,
            created: app.now(),
            expires,
            extra_info_json: p.extra_info_json.map(Value::Object),
            amr,
            auth_time,
        })
        .await?;
    if inserted == store::sessions::Inserted::NoSuchUser {
        return Err(refused(Refusal::NoSuchUser));
    }
    tracing::debug!(reqid = %ctx.reqid, user = %app.pii.hash(&user_id.to_string()), "session created");
    Ok(Said::new(
        answers::NewSession {
            session_token: token,
            expires: timefmt::format(expires),
        },
        "Generated session_token successfully. Session initiated.",
    ))
}

/// `session-exists`'s answer: the cached rows and the token asked about.
/// On the wire it is `answers::SessionInfoField`, written straight from
/// these (`SessionInfo` below) rather than built as one.
pub struct SessionFound {
    pub found: CachedSession,
    pub session_token: proto::Secret,
}

pub async fn exists(app: Arc<App>, _ctx: Ctx, p: proto::SessionExists) -> Done<SessionFound> {
    match live_session(&app, p.session_token.expose_secret()).await? {
        Some(found) => Ok(Said::new(
            SessionFound {
                found,
                session_token: p.session_token,
            },
            "Session look up successful.",
        )),
        None => Err(No::new(Refusal::SessionExpired, "Session look up failed.")
            .nulls(&["session_info"])
            .into()),
    }
}

pub async fn delete(app: Arc<App>, _ctx: Ctx, p: proto::SessionDelete) -> Done<answers::Done> {
    let hash = tokens::digest(p.session_token.expose_secret());
    let deleted = store::sessions::delete(app.writes(), &hash).await?;
    if !deleted {
        return no(
            Refusal::SessionNotFound,
            "Session delete processed, success: False.",
        );
    }
    Ok(Said::new(
        answers::Done {},
        "Session delete processed, success: True.",
    ))
}

/// Whether a session is a visitor's before signing in (authnzerver's
/// anonymous user).
pub fn is_anonymous(found: &CachedSession) -> bool {
    found.user.user_id == ANONYMOUS_ID
}

/// The unexpired session for `token` with its user, from the caches or the
/// database.
pub async fn live_session(app: &App, token: &str) -> Result<Option<CachedSession>, sea_orm::DbErr> {
    live_session_by_digest(app, tokens::digest(token)).await
}

/// As `live_session`, for a token known only by its digest.
pub async fn live_session_by_digest(
    app: &App,
    hash: String,
) -> Result<Option<CachedSession>, sea_orm::DbErr> {
    let now = app.now();
    let session = match app.sessions.session(&hash).await {
        Some(s) => s,
        None => {
            let epoch = app.sessions.epoch();
            let Some(s) = app.session_lookups.call((hash.clone(), now)).await? else {
                return Ok(None);
            };
            // Found under `hash`, so it is a digest (nothing else is stored).
            let Some(s) = SessionRow::from_model(s) else {
                return Ok(None);
            };
            let s = Arc::new(s);
            app.sessions.put_session(s.clone(), epoch).await;
            s
        }
    };
    if session.expires <= now {
        return Ok(None);
    }
    let Some(user) = cached_user(app, session.user_id).await? else {
        return Ok(None);
    };
    Ok(Some(CachedSession { session, user }))
}

/// The user's row from the cache or the database.
pub async fn cached_user(
    app: &App,
    user_id: i64,
) -> Result<Option<Arc<users::Model>>, sea_orm::DbErr> {
    if let Some(u) = app.sessions.user(user_id).await {
        return Ok(Some(u));
    }
    let epoch = app.sessions.epoch();
    let Some(u) = store::users::by_id(&app.db, user_id).await? else {
        return Ok(None);
    };
    let u = Arc::new(u);
    app.sessions.put_user(u.clone(), epoch).await;
    Ok(Some(u))
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

/// Fixed: authnzerver read `keep_current_session` from the token, so it
/// always kept the current session.
pub async fn delete_userid(
    app: Arc<App>,
    _ctx: Ctx,
    p: proto::SessionDeleteUserid,
) -> Done<answers::Deleted> {
    let keep = p
        .keep_current_session
        .then(|| tokens::digest(p.session_token.expose_secret()));
    let deleted =
        store::sessions::delete_for_user(app.writes(), p.user_id, keep.as_deref()).await?;
    if deleted == 0 {
        let message = "Sessions delete processed. Success: False.";
        let refused = No::new(Refusal::NoSessionsToDelete, message).with("deleted", 0);
        return Err(refused.into());
    }
    Ok(Said::new(
        answers::Deleted { deleted },
        "Sessions delete processed. Success: True.",
    ))
}

/// `session-list`: what a "your devices" page shows; tokens never leave.
pub async fn list(app: Arc<App>, _ctx: Ctx, p: proto::SessionList) -> Done<answers::LiveSessions> {
    if !store::users::exists(&app.db, p.user_id).await? {
        let refused = No::new(Refusal::NoSuchUser, "No such user.");
        return Err(refused.with("sessions", Value::Array(vec![])).into());
    }
    let current = p
        .session_token
        .as_ref()
        .map(|t| tokens::digest(t.expose_secret()));
    let live = store::sessions::live_for_user(&app.db, p.user_id, app.now()).await?;
    let sessions: Vec<_> = live
        .into_iter()
        .map(|s| summary(s, current.as_deref()))
        .collect();
    let message = format!("{} live sessions.", sessions.len());
    Ok(Said::new(answers::LiveSessions { sessions }, message))
}

/// A session as `session-list` shows it; `current` is the digest of the
/// caller's token.
fn summary(s: entity::sessions::Model, current: Option<&str>) -> answers::SessionSummary {
    answers::SessionSummary {
        created: timefmt::format(s.created),
        expires: timefmt::format(s.expires),
        current: current == Some(s.token_hash.as_str()),
        ip_address: s.ip_address,
        user_agent: s.user_agent,
        // Stored by `Amr::stored`, so nothing is dropped.
        amr: Amr::parse(&s.amr),
        auth_time: s.auth_time.map(timefmt::format),
    }
}

/// `session-delete-others`: "log out everywhere else", for the owner of a
/// live session only.
pub async fn delete_others(
    app: Arc<App>,
    ctx: Ctx,
    p: proto::SessionDeleteOthers,
) -> Done<answers::Deleted> {
    let refused = |reason| -> Refused {
        No::new(reason, "Could not log out the other sessions.")
            .with("deleted", 0)
            .into()
    };
    let Some(found) = live_session(&app, p.session_token.expose_secret()).await? else {
        return Err(refused(Refusal::SessionNotFound));
    };
    if found.user.user_id != p.user_id {
        return Err(refused(Refusal::SessionNotOwned));
    }
    let keep = tokens::digest(p.session_token.expose_secret());
    let deleted = store::sessions::delete_for_user(app.writes(), p.user_id, Some(&keep)).await?;
    let event = Event::SessionDeleteOthers { deleted };
    super::audit(&app, &ctx, event, Some(p.user_id)).await?;
    Ok(Said::new(
        answers::Deleted { deleted },
        format!("Logged out of {deleted} other sessions."),
    ))
}

/// authnzerver's session killer: deletes sessions that expired more than
/// `session_expiry_days` ago (they are refused from their expiry on; this
/// keeps the table small). Runs at start-up and hourly.
pub async fn prune_expired(app: &App) -> Result<u64, Fault> {
    let keep = chrono::Duration::days(i64::from(app.config.sessions.session_expiry_days));
    let Some(cutoff) = app.now().checked_sub_signed(keep) else {
        return Ok(0);
    };
    let pruned = store::sessions::delete_expired_before(&app.db, cutoff).await?;
    if pruned > 0 {
        tracing::info!(pruned, "expired sessions deleted");
    }
    Ok(pruned)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::timefmt::DatetimeFormat;
    use entity::sessions;
    use serde_json::json;

    fn t(secs: i64, micros: u32) -> chrono::NaiveDateTime {
        chrono::DateTime::from_timestamp(secs, micros * 1000)
            .unwrap()
            .naive_utc()
    }

    /// A session's row, with every optional field set or none.
    fn row(filled: bool) -> sessions::Model {
        sessions::Model {
            token_hash: "ab".repeat(32),
            ip_address: "2001:db8::1".into(),
            user_agent: "Mozilla/5.0 \"quoted\" \\ \u{1F600}\n".into(),
            user_id: 4,
            created: t(1_800_000_000, 0),
            expires: t(1_800_086_400, 123_456),
            extra_info_json: filled.then_some(json!({"device": "phone", "n": [1, 2]})),
            amr: if filled {
                "pwd otp".into()
            } else {
                String::new()
            },
            auth_time: filled.then_some(t(1_799_999_000, 42)),
        }
    }

    /// A session and its user, with every optional field set or none.
    pub(crate) fn found(filled: bool) -> CachedSession {
        CachedSession {
            session: Arc::new(SessionRow::from_model(row(filled)).unwrap()),
            user: Arc::new(users::Model {
                user_id: 4,
                system_id: "6f1c7a43-0e1b-4f0a-9d59-0a3d0f6c2b11".into(),
                full_name: filled.then_some("Zoë \"Z\" <Admin>".into()),
                password: "$argon2id$never-shown".into(),
                email: "zoe@example.org".into(),
                email_verified: filled,
                is_active: !filled,
                emailverify_sent_datetime: filled.then_some(t(1_799_000_000, 1)),
                emailforgotpass_sent_datetime: None,
                emailchangepass_sent_datetime: None,
                last_login_success: filled.then_some(t(1_799_500_000, 500_000)),
                last_login_try: filled.then_some(t(1_799_600_000, 0)),
                failed_login_tries: 0,
                lock_expires: None,
                extra_info: filled.then_some(json!({"plan": "pro"})),
                created_on: t(1_700_000_000, 999_999),
                last_updated: t(1_700_000_000, 0),
                user_role: "authenticated".into(),
                phone: None,
                webauthn_user_handle: None,
            }),
        }
    }

    #[tokio::test]
    async fn a_session_summary_writes_what_the_map_did() {
        for format in [DatetimeFormat::Naive, DatetimeFormat::Rfc3339] {
            for filled in [true, false] {
                let s = row(filled);
                let current = filled.then_some(s.token_hash.as_str());
                let (typed, map) = timefmt::scope(format, async {
                    let map = json!({
                        "created": timefmt::format(s.created),
                        "expires": timefmt::format(s.expires),
                        "ip_address": s.ip_address,
                        "user_agent": s.user_agent,
                        "amr": s.amr.split_whitespace().collect::<Vec<_>>(),
                        "auth_time": timefmt::format_opt(s.auth_time),
                        "current": filled,
                    });
                    let typed = serde_json::to_value(summary(s.clone(), current)).unwrap();
                    (typed, map)
                })
                .await;
                assert_eq!(typed, map, "{format:?} filled={filled}");
            }
        }
    }

    #[test]
    fn refusals_keep_their_fields() {
        let refused = No::new(Refusal::NoSessionsToDelete, "m").with("deleted", 0);
        assert_eq!(refused.fields, *json!({"deleted": 0}).as_object().unwrap());
    }
}
