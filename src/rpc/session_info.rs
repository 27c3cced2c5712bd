//! `session-exists`' answer on the wire: authnzerver's `session_info`,
//! written straight from the cached rows. It is the hottest answer, so it
//! skips the `Value` tree `Outcome::of` would build.

use serde_json::Value;
use serde_json::value::RawValue;

use super::outcome::Written;
use crate::actions::Fault;
use crate::actions::session::SessionFound;
use crate::cache::CachedSession;
use crate::secret::ExposeSecret;
use crate::timefmt::{Stamp, stamp};

/// The answer's one field, `session_info`.
pub(super) fn write(found: &SessionFound) -> Result<Written, Fault> {
    let info = SessionInfo::new(&found.found, found.session_token.expose_secret());
    let raw = serde_json::value::to_raw_value(&info)
        .map_err(|e| Fault::Internal(format!("answer not serialisable: {e}")))?;
    Ok(Written(vec![("session_info", raw)]))
}

/// authnzerver's `session_info` fields, serialised straight from the cached
/// rows (the hottest answer: no `Value` tree, no datetime strings). The
/// token is echoed from the request: only its digest is stored. Fields in
/// alphabetical order, as a `serde_json` map wrote them.
#[derive(serde::Serialize)]
struct SessionInfo<'a> {
    amr: Methods<'a>,
    auth_time: Option<Stamp>,
    created: Stamp,
    created_on: Stamp,
    email: &'a str,
    email_verified: bool,
    emailverify_sent_datetime: Option<Stamp>,
    expires: Stamp,
    extra_info: &'a Option<Value>,
    extra_info_json: Option<&'a RawValue>,
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
            amr: Methods(s.amr()),
            auth_time: s.auth_time.map(stamp),
            created: stamp(s.created),
            created_on: stamp(u.created_on),
            email: &u.email,
            email_verified: u.email_verified,
            emailverify_sent_datetime: u.emailverify_sent_datetime.map(stamp),
            expires: stamp(s.expires),
            extra_info: &u.extra_info,
            extra_info_json: s.extra_info_raw(),
            full_name: &u.full_name,
            ip_address: s.ip_address(),
            is_active: u.is_active,
            last_login_success: u.last_login_success.map(stamp),
            last_login_try: u.last_login_try.map(stamp),
            session_token: token,
            system_id: &u.system_id,
            user_agent: s.user_agent(),
            user_id: u.user_id,
            user_role: &u.user_role,
        }
    }
}

/// A session's stored methods (`"pwd otp"`) written as a JSON list.
struct Methods<'a>(&'a str);

impl serde::Serialize for Methods<'_> {
    fn serialize<S: serde::Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        out.collect_seq(self.0.split_whitespace())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::session::tests::found;
    use crate::timefmt::{self, DatetimeFormat};
    use authnzd_proto::answers;
    use serde_json::json;

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
            "ip_address": s.ip_address(),
            "user_agent": s.user_agent(),
            "created": timefmt::format(s.created),
            "expires": timefmt::format(s.expires),
            "extra_info_json": s.extra_info_json(),
            "amr": s.amr().split_whitespace().collect::<Vec<_>>(),
            "auth_time": timefmt::format_opt(s.auth_time),
        })
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
                // What clients read it as: the proto answer, losing nothing.
                let read: answers::SessionInfo = serde_json::from_str(&typed).unwrap();
                assert_eq!(
                    serde_json::to_value(&read).unwrap(),
                    serde_json::from_str::<Value>(&typed).unwrap()
                );
            }
        }
    }
}
