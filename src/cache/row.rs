//! A session as the cache keeps it and the actions read it: the row's
//! fields in about half the memory of `sessions::Model` (a binary digest,
//! the short strings in one allocation, `extra_info_json` as its JSON
//! text). With the cache full (100 k entries) that is ~18 MiB less.

use chrono::NaiveDateTime;
use entity::sessions;
use serde_json::Value;
use serde_json::value::RawValue;

#[derive(Debug, Clone)]
pub struct SessionRow {
    digest: super::SessionKey,
    pub user_id: i64,
    pub created: NaiveDateTime,
    pub expires: NaiveDateTime,
    pub auth_time: Option<NaiveDateTime>,
    /// `ip_address`, `user_agent` and `amr`, one after another.
    text: Box<str>,
    ip_end: usize,
    agent_end: usize,
    /// `extra_info_json` as written by `serde_json` (what a `Value` would
    /// serialise to).
    extra: Option<Box<RawValue>>,
}

/// `RawValue` has no `PartialEq`: its text is compared.
impl PartialEq for SessionRow {
    fn eq(&self, o: &Self) -> bool {
        fn extra(r: &SessionRow) -> Option<&str> {
            r.extra.as_deref().map(RawValue::get)
        }
        (
            self.digest,
            self.user_id,
            self.created,
            self.expires,
            self.auth_time,
        ) == (o.digest, o.user_id, o.created, o.expires, o.auth_time)
            && (self.text.as_ref(), self.ip_end, self.agent_end)
                == (o.text.as_ref(), o.ip_end, o.agent_end)
            && extra(self) == extra(o)
    }
}

impl SessionRow {
    /// `None` when the row's `token_hash` is not a token digest (no live
    /// session is stored under anything else).
    pub fn from_model(m: sessions::Model) -> Option<SessionRow> {
        let digest = super::session_key(&m.token_hash)?;
        let extra = match &m.extra_info_json {
            Some(v) => Some(serde_json::value::to_raw_value(v).ok()?),
            None => None,
        };
        let mut text = String::with_capacity(m.ip_address.len() + m.user_agent.len() + m.amr.len());
        text.push_str(&m.ip_address);
        let ip_end = text.len();
        text.push_str(&m.user_agent);
        let agent_end = text.len();
        text.push_str(&m.amr);
        Some(SessionRow {
            digest,
            user_id: m.user_id,
            created: m.created,
            expires: m.expires,
            auth_time: m.auth_time,
            text: text.into_boxed_str(),
            ip_end,
            agent_end,
            extra,
        })
    }

    /// The token's digest: the session cache's key.
    pub(super) fn digest(&self) -> super::SessionKey {
        self.digest
    }

    /// The session's id: the SHA-256 hex of its token, as stored.
    pub fn token_hash(&self) -> String {
        hex::encode(self.digest)
    }

    pub fn ip_address(&self) -> &str {
        self.text.get(..self.ip_end).unwrap_or_default()
    }

    pub fn user_agent(&self) -> &str {
        self.text
            .get(self.ip_end..self.agent_end)
            .unwrap_or_default()
    }

    /// How it was signed in: methods, space-separated.
    pub fn amr(&self) -> &str {
        self.text.get(self.agent_end..).unwrap_or_default()
    }

    /// `extra_info_json` as JSON text, to be written as it is.
    pub fn extra_info_raw(&self) -> Option<&RawValue> {
        self.extra.as_deref()
    }

    /// `extra_info_json` as a value (parsed again: only edits need it).
    pub fn extra_info_json(&self) -> Option<Value> {
        self.extra
            .as_deref()
            .and_then(|raw| serde_json::from_str(raw.get()).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn model(extra: Option<Value>, amr: &str) -> sessions::Model {
        let t = chrono::DateTime::from_timestamp(1_800_000_000, 5_000)
            .unwrap()
            .naive_utc();
        sessions::Model {
            token_hash: crate::security::tokens::digest("t"),
            ip_address: "2001:db8::1".into(),
            user_agent: "Mozilla/5.0 \u{1F600}".into(),
            user_id: 9,
            created: t,
            expires: t,
            extra_info_json: extra,
            amr: amr.into(),
            auth_time: Some(t),
        }
    }

    #[test]
    fn gives_back_every_field_of_the_row() {
        for (extra, amr) in [
            (Some(json!({"b": [1, 2.5], "a": "x"})), "pwd otp"),
            (None, ""),
        ] {
            let m = model(extra.clone(), amr);
            let row = SessionRow::from_model(m.clone()).unwrap();
            assert_eq!(row.token_hash(), m.token_hash);
            assert_eq!(row.ip_address(), m.ip_address);
            assert_eq!(row.user_agent(), m.user_agent);
            assert_eq!(row.amr(), m.amr);
            assert_eq!(
                (row.user_id, row.created, row.expires, row.auth_time),
                (9, m.created, m.expires, m.auth_time)
            );
            assert_eq!(row.extra_info_json(), extra);
            assert_eq!(
                row.extra_info_raw().map(|r| r.get().to_owned()),
                extra.map(|v| serde_json::to_string(&v).unwrap())
            );
        }
    }

    #[test]
    fn a_row_not_under_a_digest_is_refused() {
        let mut m = model(None, "");
        m.token_hash = "not-a-digest".into();
        assert_eq!(SessionRow::from_model(m), None);
    }
}
