//! The OpenID Connect provider's rules, apart from HTTP: which clients may
//! ask for what (`client`), an authorization request checked and answered
//! with a code (`authorize`), a code redeemed for tokens (`token`), the
//! claims of a user (`claims`) and the id-token key (`keys`). The portal
//! (`http::portal::oidc`) reads requests and writes answers around these.

pub mod authorize;
pub mod claims;
pub mod client;
pub mod keys;
pub mod logout;
pub mod token;

use std::sync::Arc;

use crate::actions::Fault;
use crate::app::App;

/// An error as OpenID Connect and OAuth 2.0 name it (`error`), with its
/// description (`error_description`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcError {
    #[error("{0}")]
    InvalidRequest(&'static str),
    #[error("client authentication failed")]
    InvalidClient,
    #[error("{0}")]
    InvalidGrant(&'static str),
    #[error("{0}")]
    UnauthorizedClient(&'static str),
    #[error("only authorization_code is supported")]
    UnsupportedGrantType,
    #[error("only response_type=code is supported")]
    UnsupportedResponseType,
    #[error("{0}")]
    InvalidScope(&'static str),
    #[error("{0}")]
    AccessDenied(&'static str),
    #[error("the user is not signed in")]
    LoginRequired,
    #[error("the user has not agreed")]
    ConsentRequired,
    #[error("request objects are not supported")]
    RequestNotSupported,
    #[error("the access token is not valid")]
    InvalidToken,
    #[error("the server could not answer")]
    Server,
}

impl OidcError {
    /// The `error` code.
    pub fn code(&self) -> &'static str {
        match self {
            OidcError::InvalidRequest(_) => "invalid_request",
            OidcError::InvalidClient => "invalid_client",
            OidcError::InvalidGrant(_) => "invalid_grant",
            OidcError::UnauthorizedClient(_) => "unauthorized_client",
            OidcError::UnsupportedGrantType => "unsupported_grant_type",
            OidcError::UnsupportedResponseType => "unsupported_response_type",
            OidcError::InvalidScope(_) => "invalid_scope",
            OidcError::AccessDenied(_) => "access_denied",
            OidcError::LoginRequired => "login_required",
            OidcError::ConsentRequired => "consent_required",
            OidcError::RequestNotSupported => "request_not_supported",
            OidcError::InvalidToken => "invalid_token",
            OidcError::Server => "server_error",
        }
    }
}

/// A fault of ours is logged and answered `server_error`.
impl From<Fault> for OidcError {
    fn from(e: Fault) -> OidcError {
        tracing::error!(error = %e, "openid connect request failed");
        OidcError::Server
    }
}

impl From<sea_orm::DbErr> for OidcError {
    fn from(e: sea_orm::DbErr) -> OidcError {
        Fault::Db(e).into()
    }
}

/// The provider: the issuer and the id-token key.
pub struct Provider {
    pub app: Arc<App>,
    /// The issuer: the portal's URL without its final `/`.
    pub issuer: String,
    pub key: keys::IdTokenKey,
}

impl Provider {
    /// An endpoint's URL (`path` under the portal).
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}/{path}", self.issuer)
    }

    /// The discovery document (`/.well-known/openid-configuration`).
    pub fn discovery(&self) -> serde_json::Value {
        serde_json::json!({
            "issuer": self.issuer,
            "authorization_endpoint": self.endpoint("oidc/authorize"),
            "token_endpoint": self.endpoint("oidc/token"),
            "userinfo_endpoint": self.endpoint("oidc/userinfo"),
            "jwks_uri": self.endpoint("oidc/jwks"),
            "end_session_endpoint": self.endpoint("oidc/logout"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query", "form_post"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": client::SCOPES,
            "claims_supported": claims::CLAIMS,
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": true,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
            "claims_parameter_supported": false,
        })
    }

    /// The JWKS: the id-token key and the access-token keys.
    pub fn jwks(&self) -> String {
        let access: serde_json::Value =
            serde_json::from_str(&self.app.access_keys().jwks()).unwrap_or_default();
        let mut keys = vec![serde_json::to_value(self.key.jwk()).unwrap_or_default()];
        if let Some(more) = access.get("keys").and_then(|k| k.as_array()) {
            keys.extend(more.iter().cloned());
        }
        serde_json::json!({ "keys": keys }).to_string()
    }
}
