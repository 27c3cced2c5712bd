//! The `user_info` answer, as authnzerver shapes it.

use authnzd_proto::answers::UserInfo;
use entity::users;

use super::super::{No, Refusal};
use crate::timefmt;

/// authnzerver's `user_info` columns (never the password hash).
pub fn user_info(u: &users::Model) -> UserInfo {
    let stamp = |t: Option<chrono::NaiveDateTime>| t.map(timefmt::format);
    UserInfo {
        user_id: u.user_id,
        system_id: u.system_id.clone(),
        full_name: u.full_name.clone(),
        email: u.email.clone(),
        email_verified: u.email_verified,
        is_active: u.is_active,
        user_role: u.user_role.clone(),
        extra_info: u.extra_info.clone(),
        created_on: timefmt::format(u.created_on),
        // Optional in the proto type for servers that leave them out;
        // authnzd always sends both.
        last_updated: Some(timefmt::format(u.last_updated)),
        last_login_try: stamp(u.last_login_try),
        last_login_success: stamp(u.last_login_success),
        failed_login_tries: Some(u.failed_login_tries.into()),
        emailverify_sent_datetime: stamp(u.emailverify_sent_datetime),
        emailforgotpass_sent_datetime: stamp(u.emailforgotpass_sent_datetime),
        emailchangepass_sent_datetime: stamp(u.emailchangepass_sent_datetime),
        phone: u.phone.clone(),
    }
}

/// A refusal of a request that answers `user_info`: authnzerver sends it
/// as null.
pub(super) fn without_info(reason: Refusal, message: impl Into<String>) -> No {
    No::new(reason, message).nulls(&["user_info"])
}
