//! The `user_info` answer, as authnzerver shapes it.

use entity::users;
use serde_json::{Value, json};

use crate::timefmt;

/// authnzerver's `user_info` columns (never the password hash).
pub fn user_info(u: &users::Model) -> Value {
    json!({
        "user_id": u.user_id,
        "system_id": u.system_id,
        "full_name": u.full_name,
        "email": u.email,
        "email_verified": u.email_verified,
        "is_active": u.is_active,
        "last_login_try": timefmt::format_opt(u.last_login_try),
        "last_login_success": timefmt::format_opt(u.last_login_success),
        "failed_login_tries": u.failed_login_tries,
        "created_on": timefmt::format(u.created_on),
        "last_updated": timefmt::format(u.last_updated),
        "user_role": u.user_role,
        "extra_info": u.extra_info,
        "emailverify_sent_datetime": timefmt::format_opt(u.emailverify_sent_datetime),
        "emailforgotpass_sent_datetime": timefmt::format_opt(u.emailforgotpass_sent_datetime),
        "emailchangepass_sent_datetime": timefmt::format_opt(u.emailchangepass_sent_datetime),
        "phone": u.phone,
    })
}
