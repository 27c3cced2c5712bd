//! What successful requests answer. Unknown fields are ignored, so a newer
//! server can add fields without breaking older clients.

use serde::Deserialize;
use serde_json::{Map, Value};

/// `session-new`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct NewSession {
    pub session_token: String,
    pub expires: String,
}

/// `session-exists`: the session and its user.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SessionInfo {
    pub user_id: i64,
    pub user_role: String,
    pub email: String,
    pub full_name: Option<String>,
    pub email_verified: bool,
    pub is_active: bool,
    pub session_token: String,
    pub ip_address: String,
    pub user_agent: String,
    pub created: String,
    pub expires: String,
    #[serde(default)]
    pub extra_info: Option<Value>,
    #[serde(default)]
    pub extra_info_json: Option<Value>,
}

/// `internal-session-edit`: the session without its user.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SessionRecord {
    pub user_id: i64,
    pub session_token: String,
    pub ip_address: String,
    pub user_agent: String,
    pub created: String,
    pub expires: String,
    #[serde(default)]
    pub extra_info_json: Option<Value>,
}

/// A user's account as `user-list`, `user-lookup-*`, `user-edit`,
/// `user-lock` and `internal-user-edit` describe it (never the password).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct UserInfo {
    pub user_id: i64,
    pub system_id: String,
    pub full_name: Option<String>,
    pub email: String,
    pub email_verified: bool,
    pub is_active: bool,
    pub user_role: String,
    #[serde(default)]
    pub extra_info: Option<Value>,
    pub created_on: String,
    #[serde(default)]
    pub last_login_try: Option<String>,
    #[serde(default)]
    pub last_login_success: Option<String>,
}

/// `user-new`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct NewUser {
    pub user_id: i64,
    pub user_email: String,
    pub system_id: String,
    /// True when the frontend should send the verification email.
    pub send_verification: bool,
}

/// `user-login`, `user-passcheck`, `user-passcheck-nosession`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LoggedIn {
    pub user_id: i64,
    pub user_role: String,
}

/// `user-set-emailverified`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EmailVerified {
    pub user_id: i64,
    pub is_active: bool,
    pub user_role: String,
}

/// `user-set-emailsent`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EmailSent {
    pub user_id: i64,
    pub email: String,
    pub is_active: bool,
    pub user_role: String,
    #[serde(default)]
    pub emailverify_sent_datetime: Option<String>,
    #[serde(default)]
    pub emailforgotpass_sent_datetime: Option<String>,
}

/// `apikey-new`: the key is a JSON string the frontend hands to its user.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ApiKey {
    pub apikey: String,
    pub expires: String,
}

/// `apikey-new-nosession` and `apikey-refresh-nosession`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ApiKeyWithRefresh {
    pub apikey: String,
    pub expires: String,
    pub refresh_token: String,
    pub refresh_token_expires: String,
}

/// `user-sendemail-signup`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SignupMailSent {
    pub user_id: i64,
    pub email_address: String,
    pub emailverify_sent_datetime: String,
}

/// `user-sendemail-forgotpass`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ForgotMailSent {
    pub user_id: i64,
    pub email_address: String,
    pub emailforgotpass_sent_datetime: String,
}

/// `passwordless-start`: the same answer whether or not the address has an
/// account.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PasswordlessStarted {
    pub attempt_id: String,
    pub expires: String,
    pub channel: String,
}

/// `passwordless-finish`: proceed as after `user-login`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SignedIn {
    pub user_id: i64,
    pub user_role: String,
    #[serde(default)]
    pub redirect_url: Option<String>,
}

/// The key as the `apikey_dict` parameter of verify, revoke and refresh
/// takes it.
pub fn apikey_dict(apikey: &str) -> Result<Map<String, Value>, serde_json::Error> {
    serde_json::from_str(apikey)
}

impl ApiKey {
    pub fn dict(&self) -> Result<Map<String, Value>, serde_json::Error> {
        apikey_dict(&self.apikey)
    }
}

impl ApiKeyWithRefresh {
    pub fn dict(&self) -> Result<Map<String, Value>, serde_json::Error> {
        apikey_dict(&self.apikey)
    }
}

#[derive(Deserialize)]
pub(crate) struct SessionInfoField {
    pub session_info: SessionInfo,
}

#[derive(Deserialize)]
pub(crate) struct SessionRecordField {
    pub session_info: SessionRecord,
}

#[derive(Deserialize)]
pub(crate) struct UserInfoField {
    pub user_info: UserInfo,
}

#[derive(Deserialize)]
pub(crate) struct UserInfoList {
    pub user_info: Vec<UserInfo>,
}

#[derive(Deserialize)]
pub(crate) struct Deleted {
    pub deleted: u64,
}

#[derive(Deserialize)]
pub(crate) struct Revoked {
    pub revoked_keys: u64,
}

#[derive(Deserialize)]
pub(crate) struct Nothing {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn api_keys_deserialize_and_open() {
        let key: ApiKeyWithRefresh = serde_json::from_value(json!({
            "apikey": "{\"uid\": 4, \"tkn\": \"abc\"}",
            "expires": "2026-01-01T00:00:00+00:00",
            "refresh_token": "r",
            "refresh_token_expires": "2026-02-01T00:00:00+00:00",
            "messages": ["ignored"],
        }))
        .unwrap();
        assert_eq!(key.dict().unwrap()["uid"], 4);
        assert!(serde_json::from_value::<ApiKey>(json!({"apikey": 1, "expires": "x"})).is_err());
    }
}
