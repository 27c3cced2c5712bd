//! `session-new`, `session-exists`, `session-delete`.

use authnzd_proto as proto;
use std::net::IpAddr;
use std::sync::Arc;

use serde_json::{Value, json};

use super::{ActionResult, Ctx, Fault, Outcome, Refusal};
use crate::app::App;
use crate::cache::CachedSession;
use crate::dispatch::{Route, typed};
use crate::secret::ExposeSecret;
use crate::security::tokens;
use crate::store::{self, seed::ANONYMOUS_ID};
use crate::timefmt::{self, Stamp, stamp};
use entity::users;

/// This module's requests, for the dispatcher's table.
pub(crate) fn routes() -> Vec<Route> {
    vec![
        typed(new),
        typed(exists),
        typed(delete),
        typed(delete_userid),
        typed(list),
        typed(delete_others),
    ]
}

/// authnzerver's column width for user agents.
const USER_AGENT_MAX: usize = 280;

pub async fn new(app: Arc<App>, ctx: Ctx, p: proto::SessionNew) -> ActionResult {
    let fields = json!({"session_token": null, "expires": null});
    let Ok(ip) = p.ip_address.trim().parse::<IpAddr>() else {
        return Ok(Outcome::fail(
            Refusal::InvalidIpAddress,
            "Could not create a new session.",
            fields,
        ));
    };
    let Some(expires) = timefmt::parse(&p.expires) else {
        return Ok(Outcome::fail(
            Refusal::InvalidExpires,
            "Could not create a new session.",
            fields,
        ));
    };
    // authnzerver: a missing or zero user id means the anonymous user.
    let user_id = p.user_id.filter(|id| *id != 0).unwrap_or(ANONYMOUS_ID);
    if !store::users::exists(&app.db, user_id).await? {
        return Ok(Outcome::fail(
            Refusal::NoSuchUser,
            "Could not create a new session.",
            fields,
        ));
    }
    let token = tokens::new_token()?;
    store::sessions::insert(
        &app.db,
        store::sessions::NewSession {
            token_hash: tokens::digest(&token),
            ip_address: ip.to_string(),
            user_agent: truncate(&p.user_agent, USER_AGENT_MAX),
            user_id,
            created: app.now(),
            expires,
            extra_info_json: p.extra_info_json.map(Value::Object),
        },
    )
    .await?;
    tracing::debug!(reqid = %ctx.reqid, user = %app.pii.hash(&user_id.to_string()), "session created");
    Ok(Outcome::ok(
        json!({"session_token": token, "expires": timefmt::format(expires)}),
        "Generated session_token successfully. Session initiated.",
    ))
}

pub async fn exists(app: Arc<App>, _ctx: Ctx, p: proto::SessionExists) -> ActionResult {
    match live_session(&app, p.session_token.expose_secret()).await? {
        Some(found) => Outcome::ok_written(
            "session_info",
            &SessionInfo::new(&found, p.session_token.expose_secret()),
            "Session look up successful.",
        ),
        None => Ok(Outcome::fail(
            Refusal::SessionExpired,
            "Session look up failed.",
            json!({"session_info": null}),
        )),
    }
}

pub async fn delete(app: Arc<App>, _ctx: Ctx, p: proto::SessionDelete) -> ActionResult {
    let hash = tokens::digest(p.session_token.expose_secret());
    let deleted = store::sessions::delete(&app.db, &hash).await?;
    app.sessions.invalidate_session(&hash).await;
    if deleted {
        Ok(Outcome::ok(
            json!({}),
            "Session delete processed, success: True.",
        ))
    } else {
        Ok(Outcome::fail(
            Refusal::SessionNotFound,
            "Session delete processed, success: False.",
            json!({}),
        ))
    }
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
            let Some(s) = store::sessions::find_live(&app.db, &hash, now).await? else {
                return Ok(None);
            };
            let s = Arc::new(s);
            app.sessions.put_session(hash, s.clone(), epoch).await;
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

/// authnzerver's `session_info` fields, serialised straight from the cached
/// rows (the hottest answer: no `Value` tree, no datetime strings). The
/// token is echoed from the request: only its digest is stored. Fields in
/// alphabetical order, as a `serde_json` map wrote them.
#[derive(serde::Serialize)]
struct SessionInfo<'a> {
    created: Stamp,
    created_on: Stamp,
    email: &'a str,
    email_verified: bool,
    emailverify_sent_datetime: Option<Stamp>,
    expires: Stamp,
    extra_info: &'a Option<Value>,
    extra_info_json: &'a Option<Value>,
    full_name: &'a Option<String>,
    ip_address: &'a str,
    is_active: bool,
    last_login_success: Option<Stamp>,
    last_login_try: Option<Stamp>,
    session_token: &'a str,
    system_id: &'a str,
    user_agent: &'a str,
    user_id: i64,
    user_role: &'a str,
}

impl<'a> SessionInfo<'a> {
    fn new(found: &'a CachedSession, token: &'a str) -> SessionInfo<'a> {
        let (s, u) = (&*found.session, &*found.user);
        SessionInfo {
            created: stamp(s.created),
            created_on: stamp(u.created_on),
            email: &u.email,
            email_verified: u.email_verified,
            emailverify_sent_datetime: u.emailverify_sent_datetime.map(stamp),
            expires: stamp(s.expires),
            extra_info: &u.extra_info,
            extra_info_json: &s.extra_info_json,
            full_name: &u.full_name,
            ip_address: &s.ip_address,
            is_active: u.is_active,
            last_login_success: u.last_login_success.map(stamp),
            last_login_try: u.last_login_try.map(stamp),
            session_token: token,
            system_id: &u.system_id,
            user_agent: &s.user_agent,
            user_id: u.user_id,
            user_role: &u.user_role,
        }
    }
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
) -> ActionResult {
    let keep = p
        .keep_current_session
        .then(|| tokens::digest(p.session_token.expose_secret()));
    let deleted = store::sessions::delete_for_user(&app.db, p.user_id, keep.as_deref()).await?;
    app.sessions.revoke_user_sessions(p.user_id).await;
    let ok = deleted > 0;
    let message = format!(
        "Sessions delete processed. Success: {}.",
        if ok { "True" } else { "False" }
    );
    Ok(if ok {
        Outcome::ok(json!({"deleted": deleted}), message)
    } else {
        Outcome::fail(Refusal::NoSessionsToDelete, message, json!({"deleted": 0}))
    })
}

/// `session-list`: what a "your devices" page shows; tokens never leave.
pub async fn list(app: Arc<App>, _ctx: Ctx, p: proto::SessionList) -> ActionResult {
    if !store::users::exists(&app.db, p.user_id).await? {
        return Ok(Outcome::fail(
            Refusal::NoSuchUser,
            "No such user.",
            json!({"sessions": []}),
        ));
    }
    let current = p
        .session_token
        .as_ref()
        .map(|t| tokens::digest(t.expose_secret()));
    let live = store::sessions::live_for_user(&app.db, p.user_id, app.now()).await?;
    let sessions: Vec<_> = live
        .iter()
        .map(|s| {
            json!({
                "created": timefmt::format(s.created),
                "expires": timefmt::format(s.expires),
                "ip_address": s.ip_address,
                "user_agent": s.user_agent,
                "current": current.as_deref() == Some(s.token_hash.as_str()),
            })
        })
        .collect();
    let message = format!("{} live sessions.", sessions.len());
    Ok(Outcome::ok(json!({"sessions": sessions}), message))
}

/// `session-delete-others`: "log out everywhere else", for the owner of a
/// live session only.
pub async fn delete_others(app: Arc<App>, ctx: Ctx, p: proto::SessionDeleteOthers) -> ActionResult {
    let refused = |reason| {
        Outcome::fail(
            reason,
            "Could not log out the other sessions.",
            json!({"deleted": 0}),
        )
    };
    let Some(found) = live_session(&app, p.session_token.expose_secret()).await? else {
        return Ok(refused(Refusal::SessionNotFound));
    };
    if found.user.user_id != p.user_id {
        return Ok(refused(Refusal::SessionNotOwned));
    }
    let keep = tokens::digest(p.session_token.expose_secret());
    let deleted = store::sessions::delete_for_user(&app.db, p.user_id, Some(&keep)).await?;
    app.sessions.revoke_user_sessions(p.user_id).await;
    super::audit(
        &app,
        &ctx,
        "session-delete-others",
        Some(p.user_id),
        json!({"deleted": deleted}),
    )
    .await?;
    Ok(Outcome::ok(
        json!({"deleted": deleted}),
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
mod tests {
    use super::*;
    use crate::timefmt::DatetimeFormat;
    use entity::sessions;

    /// `session_info` as it was built before it was typed: a `Value` map.
    fn as_map(found: &CachedSession, token: &str) -> Value {
        let (s, u) = (&found.session, &found.user);
        json!({
            "user_id": u.user_id,
            "system_id": u.system_id,
            "full_name": u.full_name,
            "email": u.email,
            "extra_info": u.extra_info,
            "email_verified": u.email_verified,
            "emailverify_sent_datetime": timefmt::format_opt(u.emailverify_sent_datetime),
            "is_active": u.is_active,
            "last_login_try": timefmt::format_opt(u.last_login_try),
            "last_login_success": timefmt::format_opt(u.last_login_success),
            "created_on": timefmt::format(u.created_on),
            "user_role": u.user_role,
            "session_token": token,
            "ip_address": s.ip_address,
            "user_agent": s.user_agent,
            "created": timefmt::format(s.created),
            "expires": timefmt::format(s.expires),
            "extra_info_json": s.extra_info_json,
        })
    }

    fn found(filled: bool) -> CachedSession {
        let t = |secs: i64, micros: u32| {
            chrono::DateTime::from_timestamp(secs, micros * 1000)
                .unwrap()
                .naive_utc()
        };
        CachedSession {
            session: Arc::new(sessions::Model {
                token_hash: "ab".repeat(32),
                ip_address: "2001:db8::1".into(),
                user_agent: "Mozilla/5.0 \"quoted\" \\ \u{1F600}\n".into(),
                user_id: 4,
                created: t(1_800_000_000, 0),
                expires: t(1_800_086_400, 123_456),
                extra_info_json: filled.then_some(json!({"device": "phone", "n": [1, 2]})),
            }),
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
            }),
        }
    }

    #[tokio::test]
    async fn typed_session_info_writes_what_the_map_did() {
        for format in [DatetimeFormat::Naive, DatetimeFormat::Rfc3339] {
            for filled in [true, false] {
                let f = found(filled);
                let (typed, map) = timefmt::scope(format, async {
                    let typed = serde_json::to_string(&SessionInfo::new(&f, "tok")).unwrap();
                    (typed, serde_json::to_string(&as_map(&f, "tok")).unwrap())
                })
                .await;
                // The same text, key order included, and no password hash.
                assert_eq!(typed, map, "{format:?} filled={filled}");
                assert!(!typed.contains("argon2"));
            }
        }
    }
}
