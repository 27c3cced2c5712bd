//! The authnzerver request catalogue: every request name with its body
//! parameters and their accepted JSON types, as in authnzerver's
//! `apischema.py` (commit 9a038e3), with the type fixes of `requests.md`.
//! `args` are required; `kwargs` are optional.

use crate::params::{Param, Ty::*};

#[derive(Debug)]
pub struct Spec {
    pub name: &'static str,
    pub params: &'static [Param],
}

const fn req(name: &'static str, types: &'static [crate::params::Ty]) -> Param {
    Param {
        name,
        types,
        required: true,
    }
}

const fn opt(name: &'static str, types: &'static [crate::params::Ty]) -> Param {
    Param {
        name,
        types,
        required: false,
    }
}

pub static AUTHNZERVER: &[Spec] = &[
    Spec {
        name: "session-new",
        params: &[
            req("ip_address", &[Str]),
            req("user_agent", &[Str]),
            req("user_id", &[Int, Null]),
            req("expires", &[Str]),
            req("extra_info_json", &[Dict, Null]),
        ],
    },
    Spec {
        name: "session-exists",
        params: &[req("session_token", &[Str])],
    },
    Spec {
        name: "session-delete",
        params: &[req("session_token", &[Str])],
    },
    Spec {
        name: "session-delete-userid",
        params: &[
            req("session_token", &[Str]),
            req("user_id", &[Int]),
            req("keep_current_session", &[Bool]),
        ],
    },
    Spec {
        name: "user-login",
        params: &[
            req("session_token", &[Str]),
            req("email", &[Str]),
            req("password", &[Str]),
        ],
    },
    Spec {
        name: "user-logout",
        params: &[req("session_token", &[Str]), req("user_id", &[Int])],
    },
    Spec {
        name: "user-passcheck",
        params: &[req("session_token", &[Str]), req("password", &[Str])],
    },
    Spec {
        name: "user-passcheck-nosession",
        params: &[req("email", &[Str]), req("password", &[Str])],
    },
    Spec {
        name: "user-new",
        params: &[
            req("full_name", &[Str]),
            req("email", &[Str]),
            req("password", &[Str]),
            opt("extra_info", &[Dict, Null]),
            opt("verify_retry_wait", &[Int, Null]),
            opt("system_id", &[Str, Null]),
        ],
    },
    Spec {
        name: "user-changepass",
        params: &[
            req("user_id", &[Int]),
            req("session_token", &[Str]),
            req("full_name", &[Str]),
            req("email", &[Str]),
            req("current_password", &[Str]),
            req("new_password", &[Str]),
        ],
    },
    Spec {
        name: "user-changepass-nosession",
        params: &[
            req("user_id", &[Int]),
            req("full_name", &[Str]),
            req("email", &[Str]),
            req("current_password", &[Str]),
            req("new_password", &[Str]),
        ],
    },
    Spec {
        name: "user-delete",
        params: &[
            req("email", &[Str]),
            req("user_id", &[Int]),
            req("password", &[Str]),
        ],
    },
    Spec {
        name: "user-list",
        params: &[req("user_id", &[Int, Null])],
    },
    Spec {
        name: "user-lookup-email",
        params: &[req("email", &[Str])],
    },
    Spec {
        name: "user-lookup-match",
        params: &[req("by", &[Str]), req("match", &[Any])],
    },
    Spec {
        name: "user-edit",
        params: &[
            req("user_id", &[Int]),
            req("user_role", &[Str]),
            req("session_token", &[Str]),
            req("target_userid", &[Int]),
            req("update_dict", &[Dict]),
        ],
    },
    Spec {
        name: "user-resetpass",
        params: &[
            req("email_address", &[Str]),
            req("new_password", &[Str]),
            req("session_token", &[Str]),
        ],
    },
    Spec {
        name: "user-resetpass-nosession",
        params: &[
            req("email_address", &[Str]),
            req("new_password", &[Str]),
            req("required_active", &[Bool]),
        ],
    },
    Spec {
        name: "user-lock",
        params: &[
            req("user_id", &[Int]),
            req("user_role", &[Str]),
            req("session_token", &[Str]),
            req("target_userid", &[Int]),
            req("action", &[Str]),
        ],
    },
    Spec {
        name: "user-validatepass",
        params: &[
            req("password", &[Str]),
            req("email", &[Str]),
            req("full_name", &[Str]),
            opt("min_pass_length", &[Int]),
            opt("max_unsafe_similarity", &[Int]),
            opt("max_character_frequency", &[Float]),
            opt("min_pwned_matches", &[Int]),
        ],
    },
    Spec {
        name: "user-sendemail-signup",
        params: &[
            req("email_address", &[Str]),
            req("session_token", &[Str]),
            req("created_info", &[Dict]),
            req("server_name", &[Str]),
            req("server_baseurl", &[Str]),
            // Fixed: authnzerver's schema said `server_verify_url`, its action
            // read `account_verify_url`; either is accepted.
            opt("server_verify_url", &[Str]),
            opt("account_verify_url", &[Str]),
            req("verification_token", &[Str]),
            req("verification_expiry", &[Int]),
            opt("emailuser", &[Str, Null]),
            opt("emailpass", &[Str, Null]),
            opt("emailserver", &[Str]),
            opt("emailport", &[Int]),
            opt("emailsender", &[Str]),
        ],
    },
    Spec {
        name: "user-sendemail-forgotpass",
        params: &[
            req("email_address", &[Str]),
            req("session_token", &[Str]),
            req("server_name", &[Str]),
            req("server_baseurl", &[Str]),
            req("password_forgot_url", &[Str]),
            req("verification_token", &[Str]),
            req("verification_expiry", &[Int]),
            opt("emailuser", &[Str, Null]),
            opt("emailpass", &[Str, Null]),
            opt("emailserver", &[Str]),
            opt("emailport", &[Int]),
            opt("emailsender", &[Str]),
        ],
    },
    Spec {
        name: "user-set-emailverified",
        params: &[req("email", &[Str])],
    },
    Spec {
        name: "user-set-emailsent",
        params: &[req("email", &[Str]), req("email_type", &[Str])],
    },
    Spec {
        name: "apikey-new",
        params: &[
            req("issuer", &[Str]),
            req("audience", &[Str]),
            req("subject", &[Str]),
            req("apiversion", &[Str, Int]),
            req("expires_days", &[Int]),
            req("not_valid_before", &[Float, Int]),
            req("user_id", &[Int]),
            req("user_role", &[Str]),
            req("ip_address", &[Str]),
            req("user_agent", &[Str]),
            req("session_token", &[Str]),
        ],
    },
    Spec {
        name: "apikey-verify",
        params: &[
            req("apikey_dict", &[Dict]),
            req("user_id", &[Int]),
            req("user_role", &[Str]),
        ],
    },
    Spec {
        name: "apikey-revoke",
        params: &[
            req("apikey_dict", &[Dict]),
            req("user_id", &[Int]),
            req("user_role", &[Str]),
        ],
    },
    Spec {
        name: "apikey-new-nosession",
        params: &[
            req("issuer", &[Str]),
            req("audience", &[Str]),
            req("subject", &[Str]),
            req("apiversion", &[Str, Int]),
            req("expires_seconds", &[Int]),
            req("not_valid_before", &[Float, Int]),
            req("user_id", &[Int]),
            req("user_role", &[Str]),
            req("ip_address", &[Str]),
            req("refresh_expires", &[Int]),
            req("refresh_nbf", &[Float, Int]),
        ],
    },
    Spec {
        name: "apikey-verify-nosession",
        params: &[
            req("apikey_dict", &[Dict]),
            req("user_id", &[Int]),
            req("user_role", &[Str]),
        ],
    },
    Spec {
        name: "apikey-revoke-nosession",
        params: &[
            req("apikey_dict", &[Dict]),
            req("user_id", &[Int]),
            req("user_role", &[Str]),
        ],
    },
    Spec {
        name: "apikey-revokeall-nosession",
        params: &[
            req("apikey_dict", &[Dict]),
            req("user_id", &[Int]),
            req("user_role", &[Str]),
        ],
    },
    Spec {
        name: "apikey-refresh-nosession",
        params: &[
            req("apikey_dict", &[Dict]),
            req("user_id", &[Int]),
            req("user_role", &[Str]),
            req("refresh_token", &[Str]),
            req("ip_address", &[Str]),
            req("expires_seconds", &[Int]),
            req("not_valid_before", &[Int, Float]),
            req("refresh_expires", &[Int]),
            req("refresh_nbf", &[Int, Float]),
        ],
    },
    Spec {
        name: "user-check-access",
        params: &[
            req("user_id", &[Int]),
            req("user_role", &[Str]),
            req("action", &[Str]),
            req("target_name", &[Str]),
            req("target_owner", &[Int]),
            req("target_visibility", &[Str]),
            req("target_sharedwith", &[Str]),
        ],
    },
    Spec {
        name: "user-check-limit",
        params: &[
            req("user_id", &[Int]),
            req("user_role", &[Str]),
            req("limit_name", &[Str]),
            req("value_to_check", &[Any]),
        ],
    },
    Spec {
        name: "internal-user-lock",
        params: &[req("target_userid", &[Int]), req("action", &[Str])],
    },
    Spec {
        name: "internal-user-delete",
        params: &[req("target_userid", &[Int])],
    },
    Spec {
        name: "internal-user-edit",
        params: &[req("target_userid", &[Int]), req("update_dict", &[Dict])],
    },
    Spec {
        name: "internal-session-edit",
        params: &[
            req("target_session_token", &[Str]),
            req("update_dict", &[Dict]),
        ],
    },
];

/// authnzd's own requests (`requests.md`, section 2).
pub static AUTHNZD: &[Spec] = &[
    Spec {
        name: "passwordless-start",
        params: &[
            req("channel", &[Str]),
            req("address", &[Str]),
            opt("create_user", &[Bool]),
            opt("redirect_url", &[Str, Null]),
        ],
    },
    Spec {
        name: "passwordless-finish",
        params: &[
            opt("attempt_id", &[Str]),
            opt("code", &[Str]),
            opt("link_token", &[Str]),
            opt("session_token", &[Str]),
        ],
    },
];

/// Every request this server knows.
pub fn all() -> impl Iterator<Item = &'static Spec> {
    AUTHNZERVER.iter().chain(AUTHNZD.iter())
}
