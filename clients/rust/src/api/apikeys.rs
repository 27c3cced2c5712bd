//! API keys, both families: session-bound (`apikey-new`, `apikey-verify`,
//! `apikey-revoke`) and session-less with refresh tokens
//! (`apikey-new-nosession`, `apikey-verify-nosession`,
//! `apikey-revoke-nosession`, `apikey-revokeall-nosession`,
//! `apikey-refresh-nosession`).
//!
//! A key is handed out as a JSON string; the end user presents it back,
//! and the frontend passes it, parsed, as `apikey_dict`
//! ([`ApiKey::dict`], [`apikey_dict`]).

use authnzd_proto::answers::*;
use authnzd_proto::*;

use crate::{Client, Error};

impl Client {
    /// `apikey-new`: a key for the session's user, valid while the session
    /// lives.
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), authnzd_client::Error> {
    /// use authnzd_client::params::ApikeyNew;
    /// let key = client
    ///     .apikey_new(&ApikeyNew {
    ///         issuer: "example.com".into(),
    ///         audience: "api.example.com".into(),
    ///         subject: "/api/v1".into(),
    ///         apiversion: 1.into(),
    ///         expires_days: 30,
    ///         not_valid_before: 0.0,
    ///         user_id: 4,
    ///         user_role: "authenticated".into(),
    ///         ip_address: "203.0.113.7".into(),
    ///         user_agent: "Mozilla/5.0".into(),
    ///         session_token: "…".into(),
    ///     })
    ///     .await?;
    /// println!("your key, until {}: {}", key.expires, key.apikey);
    /// # Ok(()) }
    /// ```
    pub async fn apikey_new(&self, p: &ApikeyNew) -> Result<ApiKey, Error> {
        self.send(p).await
    }

    /// `apikey-verify`: `Ok` when the presented session-bound key is
    /// valid; an unknown, expired, revoked or tampered key is
    /// [`Error::Refused`].
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use authnzd_client::{params::ApikeyVerify, responses::apikey_dict};
    /// let presented = r#"{"uid": 4, "tkn": "…"}"#; // from the Authorization header
    /// client
    ///     .apikey_verify(&ApikeyVerify {
    ///         apikey_dict: apikey_dict(presented)?,
    ///         user_id: 4,
    ///         user_role: "authenticated".into(),
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn apikey_verify(&self, p: &ApikeyVerify) -> Result<(), Error> {
        self.send(p).await.map(drop)
    }

    /// `apikey-revoke`: revokes a session-bound key.
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client, key: authnzd_client::responses::ApiKey) -> Result<(), Box<dyn std::error::Error>> {
    /// use authnzd_client::params::ApikeyRevoke;
    /// client
    ///     .apikey_revoke(&ApikeyRevoke {
    ///         apikey_dict: key.dict()?,
    ///         user_id: 4,
    ///         user_role: "authenticated".into(),
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn apikey_revoke(&self, p: &ApikeyRevoke) -> Result<(), Error> {
        self.send(p).await.map(drop)
    }

    /// `apikey-new-nosession`: a key with a refresh token, independent of
    /// sessions.
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), authnzd_client::Error> {
    /// use authnzd_client::params::ApikeyNewNosession;
    /// let key = client
    ///     .apikey_new_nosession(&ApikeyNewNosession {
    ///         issuer: "example.com".into(),
    ///         audience: "api.example.com".into(),
    ///         subject: "/api/v1".into(),
    ///         apiversion: 1.into(),
    ///         expires_seconds: 3600,
    ///         not_valid_before: 0.0,
    ///         user_id: 4,
    ///         user_role: "authenticated".into(),
    ///         ip_address: "203.0.113.7".into(),
    ///         refresh_expires: 30 * 86_400,
    ///         refresh_nbf: 0.0,
    ///         ..Default::default()
    ///     })
    ///     .await?;
    /// println!("{} (refresh with {})", key.apikey, key.refresh_token);
    /// # Ok(()) }
    /// ```
    pub async fn apikey_new_nosession(
        &self,
        p: &ApikeyNewNosession,
    ) -> Result<ApiKeyWithRefresh, Error> {
        self.send(p).await
    }

    /// `apikey-verify-nosession`: `Ok` when the presented key is valid.
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use authnzd_client::{params::ApikeyVerifyNosession, responses::apikey_dict};
    /// let presented = r#"{"uid": 4, "tkn": "…"}"#;
    /// let valid = client
    ///     .apikey_verify_nosession(&ApikeyVerifyNosession {
    ///         apikey_dict: apikey_dict(presented)?,
    ///         user_id: 4,
    ///         user_role: "authenticated".into(),
    ///     })
    ///     .await
    ///     .is_ok();
    /// # Ok(()) }
    /// ```
    pub async fn apikey_verify_nosession(&self, p: &ApikeyVerifyNosession) -> Result<(), Error> {
        self.send(p).await.map(drop)
    }

    /// `apikey-revoke-nosession`: revokes one session-less key.
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client, key: authnzd_client::responses::ApiKeyWithRefresh) -> Result<(), Box<dyn std::error::Error>> {
    /// use authnzd_client::params::ApikeyRevokeNosession;
    /// client
    ///     .apikey_revoke_nosession(&ApikeyRevokeNosession {
    ///         apikey_dict: key.dict()?,
    ///         user_id: 4,
    ///         user_role: "authenticated".into(),
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn apikey_revoke_nosession(&self, p: &ApikeyRevokeNosession) -> Result<(), Error> {
        self.send(p).await.map(drop)
    }

    /// `apikey-revokeall-nosession`: revokes every session-less key of the
    /// presented key's user; answers how many.
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client, key: authnzd_client::responses::ApiKeyWithRefresh) -> Result<(), Box<dyn std::error::Error>> {
    /// use authnzd_client::params::ApikeyRevokeallNosession;
    /// let revoked = client
    ///     .apikey_revokeall_nosession(&ApikeyRevokeallNosession {
    ///         apikey_dict: key.dict()?,
    ///         user_id: 4,
    ///         user_role: "authenticated".into(),
    ///     })
    ///     .await?;
    /// println!("{revoked} keys revoked");
    /// # Ok(()) }
    /// ```
    pub async fn apikey_revokeall_nosession(
        &self,
        p: &ApikeyRevokeallNosession,
    ) -> Result<u64, Error> {
        self.send(p).await.map(|r| r.revoked_keys)
    }

    /// `apikey-refresh-nosession`: swaps a key (possibly expired) and its
    /// refresh token for a new pair; the old refresh token is spent.
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client, old: authnzd_client::responses::ApiKeyWithRefresh) -> Result<(), Box<dyn std::error::Error>> {
    /// use authnzd_client::params::ApikeyRefreshNosession;
    /// let new = client
    ///     .apikey_refresh_nosession(&ApikeyRefreshNosession {
    ///         apikey_dict: old.dict()?,
    ///         user_id: 4,
    ///         user_role: "authenticated".into(),
    ///         refresh_token: old.refresh_token.clone().into(),
    ///         ip_address: "203.0.113.7".into(),
    ///         expires_seconds: 3600,
    ///         not_valid_before: 0.0,
    ///         refresh_expires: 30 * 86_400,
    ///         refresh_nbf: 0.0,
    ///         ..Default::default()
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn apikey_refresh_nosession(
        &self,
        p: &ApikeyRefreshNosession,
    ) -> Result<ApiKeyWithRefresh, Error> {
        self.send(p).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // The answers as authnzerver's actions/apikey*.py build them (its
    // envelope repeats `success` and `messages` inside; both ignored).
    #[test]
    fn authnzerver_key_answers_deserialize() {
        let issued = "{\"iss\": \"example.com\", \"ver\": 1, \"uid\": 4, \"rol\": \"authenticated\", \
            \"usa\": \"Mozilla/5.0\", \"aud\": \"api\", \"sub\": \"/v1\", \"ipa\": \"203.0.113.7\", \
            \"tkn\": \"abc\", \"iat\": \"2026-01-01T00:00:00+00:00\", \
            \"nbf\": \"2026-01-01T00:00:00+00:00\", \"exp\": \"2026-01-31T00:00:00+00:00\"}";
        let key: ApiKey = serde_json::from_value(json!({
            "success": true,
            "apikey": issued,
            "expires": "2026-01-31T00:00:00+00:00",
            "messages": ["API key generated successfully."],
        }))
        .unwrap();
        let dict = key.dict().unwrap();
        assert_eq!((&dict["uid"], &dict["tkn"]), (&json!(4), &json!("abc")));

        let refreshed: ApiKeyWithRefresh = serde_json::from_value(json!({
            "apikey": "{\"uid\": 4, \"tkn\": \"def\"}",
            "expires": "2026-01-01T01:00:00+00:00",
            "refresh_token": "r3fr3sh",
            "refresh_token_expires": "2026-02-01T00:00:00+00:00",
        }))
        .unwrap();
        assert_eq!(refreshed.dict().unwrap()["tkn"], "def");

        let revoked: Revoked = serde_json::from_value(json!({"revoked_keys": 3})).unwrap();
        assert_eq!(revoked.revoked_keys, 3);
        // A refusal's fields (`apikey: null`) are not a key.
        assert!(
            serde_json::from_value::<ApiKey>(json!({"apikey": null, "expires": null})).is_err()
        );
    }

    #[test]
    fn key_parameters_serialise_as_authnzerver_names_them() {
        let p = ApikeyRefreshNosession {
            apikey_dict: apikey_dict("{\"uid\": 4}").unwrap(),
            user_id: 4,
            user_role: "authenticated".into(),
            refresh_token: "r".into(),
            ip_address: "203.0.113.7".into(),
            expires_seconds: 60,
            not_valid_before: 0.0,
            refresh_expires: 600,
            refresh_nbf: 0.0,
            ..Default::default()
        };
        let v = serde_json::to_value(&p).unwrap();
        for k in [
            "apikey_dict",
            "user_id",
            "user_role",
            "refresh_token",
            "ip_address",
            "expires_seconds",
            "not_valid_before",
            "refresh_expires",
            "refresh_nbf",
        ] {
            assert!(v.get(k).is_some(), "{k}");
        }
        assert_eq!(v.as_object().unwrap().len(), 9);
    }
}
