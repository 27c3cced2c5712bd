//! What a relying party learns about a user, by scope. `sub` is the user's
//! `system_id` (a UUID made with the account), never the row id; an email
//! address is asserted only once verified.

use entity::users;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub const CLAIMS: &[&str] = &[
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "amr",
    "azp",
    "name",
    "preferred_username",
    "email",
    "email_verified",
    "groups",
];

/// An id token's claims.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub azp: String,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// The scope claims (`profile`, `email`, `groups`).
    #[serde(flatten)]
    pub user: Map<String, Value>,
}

/// The claims `scopes` give of `user` (beside `sub`).
pub fn of_user(user: &users::Model, scopes: &[String]) -> Map<String, Value> {
    let has = |s: &str| scopes.iter().any(|x| x == s);
    let mut out = Map::new();
    if has("profile") {
        if let Some(name) = user.full_name.as_deref().filter(|n| !n.trim().is_empty()) {
            out.insert("name".into(), name.into());
        }
        if user.email_verified {
            out.insert("preferred_username".into(), user.email.clone().into());
        }
    }
    if has("email") && user.email_verified {
        out.insert("email".into(), user.email.clone().into());
        out.insert("email_verified".into(), true.into());
    }
    if has("groups") {
        out.insert("groups".into(), vec![user.user_role.clone()].into());
    }
    out
}

/// `userinfo`'s answer: `sub` and the scope claims.
pub fn userinfo(user: &users::Model, scopes: &[String]) -> Value {
    let mut out = of_user(user, scopes);
    out.insert("sub".into(), user.system_id.clone().into());
    Value::Object(out)
}
