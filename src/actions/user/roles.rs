//! Who may change what, by role (authnzerver's rules).

use authnzd_proto::Role;

/// The `update_dict` keys a user of `role` may set with `user-edit`, on
/// their own account (`own`) or another's; `None`: no edit at all.
pub(super) fn editable_fields(role: &str, own: bool) -> Option<&'static [&'static str]> {
    match Role::parse(role)? {
        Role::Superuser => Some(&[
            "full_name",
            "email",
            "is_active",
            "user_role",
            "email_verified",
        ]),
        Role::Authenticated | Role::Staff if own => Some(&["full_name", "email"]),
        _ => None,
    }
}

/// Whether a user of `role` may lock or unlock account `target`.
pub(super) fn may_toggle_lock(role: &str, caller: i64, target: i64) -> Result<(), LockRefusal> {
    if role != Role::Superuser.as_str() {
        return Err(LockRefusal::NotSuperuser);
    }
    if caller == target {
        return Err(LockRefusal::OwnAccount);
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LockRefusal {
    NotSuperuser,
    OwnAccount,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn superusers_edit_anyone_others_only_their_name_and_address() {
        assert!(
            editable_fields("superuser", false)
                .unwrap()
                .contains(&"user_role")
        );
        assert_eq!(
            editable_fields("staff", true),
            Some(&["full_name", "email"][..])
        );
        assert_eq!(editable_fields("authenticated", false), None);
        assert_eq!(editable_fields("locked", true), None);
        assert_eq!(editable_fields("anonymous", true), None);
        assert_eq!(editable_fields("root", true), None);
    }

    #[test]
    fn only_superusers_lock_and_never_themselves() {
        assert_eq!(may_toggle_lock("superuser", 1, 4), Ok(()));
        assert_eq!(
            may_toggle_lock("superuser", 4, 4),
            Err(LockRefusal::OwnAccount)
        );
        assert_eq!(
            may_toggle_lock("staff", 1, 4),
            Err(LockRefusal::NotSuperuser)
        );
    }
}
