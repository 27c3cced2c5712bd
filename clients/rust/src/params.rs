//! The parameters of every request type, as authnzd's request table lists
//! them (authnzerver's `apischema.py` with authnzd's fixes). `Option` fields
//! that the server requires are sent as `null` when `None`; optional ones are
//! left out.

use serde::Serialize;
use serde_json::{Map, Value};

/// Parameters of `session-new`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SessionNew {
    pub ip_address: String,
    pub user_agent: String,
    pub user_id: Option<i64>,
    pub expires: String,
    pub extra_info_json: Option<Map<String, Value>>,
}

/// Parameters of `session-exists`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SessionExists {
    pub session_token: String,
}

/// Parameters of `session-delete`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SessionDelete {
    pub session_token: String,
}

/// Parameters of `session-delete-userid`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SessionDeleteUserid {
    pub session_token: String,
    pub user_id: i64,
    pub keep_current_session: bool,
}

/// Parameters of `user-login`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserLogin {
    pub session_token: String,
    pub email: String,
    pub password: String,
}

/// Parameters of `user-logout`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserLogout {
    pub session_token: String,
    pub user_id: i64,
}

/// Parameters of `user-passcheck`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserPasscheck {
    pub session_token: String,
    pub password: String,
}

/// Parameters of `user-passcheck-nosession`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserPasscheckNosession {
    pub email: String,
    pub password: String,
}

/// Parameters of `user-new`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserNew {
    pub full_name: String,
    pub email: String,
    pub password: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_info: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify_retry_wait: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_id: Option<String>,
}

/// Parameters of `user-changepass`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserChangepass {
    pub user_id: i64,
    pub session_token: String,
    pub full_name: String,
    pub email: String,
    pub current_password: String,
    pub new_password: String,
}

/// Parameters of `user-changepass-nosession`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserChangepassNosession {
    pub user_id: i64,
    pub full_name: String,
    pub email: String,
    pub current_password: String,
    pub new_password: String,
}

/// Parameters of `user-delete`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserDelete {
    pub email: String,
    pub user_id: i64,
    pub password: String,
}

/// Parameters of `user-list`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserList {
    pub user_id: Option<i64>,
}

/// Parameters of `user-lookup-email`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserLookupEmail {
    pub email: String,
}

/// Parameters of `user-lookup-match`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserLookupMatch {
    pub by: String,
    pub r#match: Value,
}

/// Parameters of `user-edit`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserEdit {
    pub user_id: i64,
    pub user_role: String,
    pub session_token: String,
    pub target_userid: i64,
    pub update_dict: Map<String, Value>,
}

/// Parameters of `user-resetpass`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserResetpass {
    pub email_address: String,
    pub new_password: String,
    pub session_token: String,
}

/// Parameters of `user-resetpass-nosession`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserResetpassNosession {
    pub email_address: String,
    pub new_password: String,
    pub required_active: bool,
}

/// Parameters of `user-lock`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserLock {
    pub user_id: i64,
    pub user_role: String,
    pub session_token: String,
    pub target_userid: i64,
    pub action: String,
}

/// Parameters of `user-validatepass`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserValidatepass {
    pub password: String,
    pub email: String,
    pub full_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_pass_length: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_unsafe_similarity: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_character_frequency: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_pwned_matches: Option<i64>,
}

/// Parameters of `user-sendemail-signup`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserSendemailSignup {
    pub email_address: String,
    pub session_token: String,
    pub created_info: Map<String, Value>,
    pub server_name: String,
    pub server_baseurl: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_verify_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_verify_url: Option<String>,
    pub verification_token: String,
    pub verification_expiry: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emailuser: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emailpass: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emailserver: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emailport: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emailsender: Option<String>,
}

/// Parameters of `user-sendemail-forgotpass`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserSendemailForgotpass {
    pub email_address: String,
    pub session_token: String,
    pub server_name: String,
    pub server_baseurl: String,
    pub password_forgot_url: String,
    pub verification_token: String,
    pub verification_expiry: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emailuser: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emailpass: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emailserver: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emailport: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emailsender: Option<String>,
}

/// Parameters of `user-set-emailverified`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserSetEmailverified {
    pub email: String,
}

/// Parameters of `user-set-emailsent`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserSetEmailsent {
    pub email: String,
    pub email_type: String,
}

/// Parameters of `apikey-new`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ApikeyNew {
    pub issuer: String,
    pub audience: String,
    pub subject: String,
    pub apiversion: Value,
    pub expires_days: i64,
    pub not_valid_before: f64,
    pub user_id: i64,
    pub user_role: String,
    pub ip_address: String,
    pub user_agent: String,
    pub session_token: String,
}

/// Parameters of `apikey-verify`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ApikeyVerify {
    pub apikey_dict: Map<String, Value>,
    pub user_id: i64,
    pub user_role: String,
}

/// Parameters of `apikey-revoke`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ApikeyRevoke {
    pub apikey_dict: Map<String, Value>,
    pub user_id: i64,
    pub user_role: String,
}

/// Parameters of `apikey-new-nosession`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ApikeyNewNosession {
    pub issuer: String,
    pub audience: String,
    pub subject: String,
    pub apiversion: Value,
    pub expires_seconds: i64,
    pub not_valid_before: f64,
    pub user_id: i64,
    pub user_role: String,
    pub ip_address: String,
    pub refresh_expires: i64,
    pub refresh_nbf: f64,
}

/// Parameters of `apikey-verify-nosession`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ApikeyVerifyNosession {
    pub apikey_dict: Map<String, Value>,
    pub user_id: i64,
    pub user_role: String,
}

/// Parameters of `apikey-revoke-nosession`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ApikeyRevokeNosession {
    pub apikey_dict: Map<String, Value>,
    pub user_id: i64,
    pub user_role: String,
}

/// Parameters of `apikey-revokeall-nosession`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ApikeyRevokeallNosession {
    pub apikey_dict: Map<String, Value>,
    pub user_id: i64,
    pub user_role: String,
}

/// Parameters of `apikey-refresh-nosession`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ApikeyRefreshNosession {
    pub apikey_dict: Map<String, Value>,
    pub user_id: i64,
    pub user_role: String,
    pub refresh_token: String,
    pub ip_address: String,
    pub expires_seconds: i64,
    pub not_valid_before: f64,
    pub refresh_expires: i64,
    pub refresh_nbf: f64,
}

/// Parameters of `user-check-access`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserCheckAccess {
    pub user_id: i64,
    pub user_role: String,
    pub action: String,
    pub target_name: String,
    pub target_owner: i64,
    pub target_visibility: String,
    pub target_sharedwith: String,
}

/// Parameters of `user-check-limit`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserCheckLimit {
    pub user_id: i64,
    pub user_role: String,
    pub limit_name: String,
    pub value_to_check: Value,
}

/// Parameters of `internal-user-lock`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct InternalUserLock {
    pub target_userid: i64,
    pub action: String,
}

/// Parameters of `internal-user-delete`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct InternalUserDelete {
    pub target_userid: i64,
}

/// Parameters of `internal-user-edit`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct InternalUserEdit {
    pub target_userid: i64,
    pub update_dict: Map<String, Value>,
}

/// Parameters of `internal-session-edit`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct InternalSessionEdit {
    pub target_session_token: String,
    pub update_dict: Map<String, Value>,
}

/// Parameters of `passwordless-start`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PasswordlessStart {
    pub channel: String,
    pub address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_user: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
}

/// Parameters of `passwordless-finish`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PasswordlessFinish {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_token: Option<String>,
}
