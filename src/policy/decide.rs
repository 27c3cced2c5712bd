//! The two decisions: item access and role limits, as authnzerver makes them.

use serde_json::Value;

use super::{AccessQuery, LimitKind, Operator, Policy};
use crate::store::seed::ANONYMOUS_ID;

impl Policy {
    /// authnzerver's item-access decision.
    pub fn check_access(&self, q: &AccessQuery<'_>) -> bool {
        let Some(role) = self.role_policy.get(q.role) else {
            return false;
        };
        let shared_or_owned = match q.role {
            // authnzerver lets these two roles past visibility and sharing;
            // what they may do is still up to the policy.
            "superuser" | "staff" => true,
            _ => match q.target_visibility {
                "private" => q.user_id == q.target_owner,
                "shared" if q.target_sharedwith.is_empty() => q.user_id == q.target_owner,
                // Shared with the anonymous user means shared with everyone.
                "shared" => {
                    q.user_id == q.target_owner
                        || q.target_sharedwith.contains(&q.user_id)
                        || q.target_sharedwith.contains(&ANONYMOUS_ID)
                }
                "unlisted" | "public" => true,
                _ => false,
            },
        };
        if !shared_or_owned {
            return false;
        }
        let owned = q.user_id == q.target_owner;
        if owned && !role.can_own_items.contains(q.target_name) {
            return false;
        }
        let Some(item) = self.item_policy.get(q.target_name) else {
            return false;
        };
        if item.invalid_roles.contains(q.role)
            || !item.valid_visibilities.contains(q.target_visibility)
            || !item.valid_role_actions.contains(q.action)
        {
            return false;
        }
        let role_actions = if owned {
            Some(&role.allowed_actions_for_owned)
        } else {
            role.allowed_actions_for_other.get(q.target_visibility)
        };
        role_actions.is_some_and(|a| a.contains(q.action))
    }

    /// authnzerver's role-limit decision: true when `value` is within the
    /// role's limit of that name, or the role has no such limit. A value that
    /// cannot be read as the limit's type fails the check.
    pub fn check_limit(&self, role: &str, limit_name: &str, value: &Value) -> bool {
        let Some(role) = self.role_policy.get(role) else {
            return false;
        };
        let Some(limit) = role.limits.get(limit_name) else {
            return true;
        };
        match limit.kind {
            LimitKind::Int => match (as_int(value), number_as_int(&limit.limit)) {
                (Some(v), Some(l)) => compare(limit.operator, v, l),
                _ => false,
            },
            LimitKind::Float => match (as_float(value), limit.limit.as_f64()) {
                (Some(v), Some(l)) => compare(limit.operator, v, l),
                _ => false,
            },
        }
    }
}

fn compare<T: PartialOrd>(op: Operator, value: T, limit: T) -> bool {
    match op {
        Operator::Gt => value > limit,
        Operator::Lt => value < limit,
    }
}

/// As Python's `int()`: integers, floats truncated, numeric strings, booleans.
fn as_int(v: &Value) -> Option<i128> {
    match v {
        Value::Number(n) => number_as_int(n),
        Value::String(s) => s.trim().parse::<i128>().ok(),
        Value::Bool(b) => Some(i128::from(*b)),
        _ => None,
    }
}

fn number_as_int(n: &serde_json::Number) -> Option<i128> {
    if let Some(i) = n.as_i64() {
        return Some(i128::from(i));
    }
    if let Some(u) = n.as_u64() {
        return Some(i128::from(u));
    }
    // Saturating cast; NaN cannot come out of JSON.
    n.as_f64()
        .filter(|f| f.is_finite())
        .map(|f| f.trunc() as i128)
}

/// As Python's `float()`.
fn as_float(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| !f.is_nan()),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn q<'a>(
        user_id: i64,
        role: &'a str,
        action: &'a str,
        item: &'a str,
        owner: i64,
        vis: &'a str,
        shared: &'a [i64],
    ) -> AccessQuery<'a> {
        AccessQuery {
            user_id,
            role,
            action,
            target_name: item,
            target_owner: owner,
            target_visibility: vis,
            target_sharedwith: shared,
        }
    }

    #[test]
    fn sharing_with_the_anonymous_user_shares_with_everyone() {
        let p = Policy::builtin().unwrap();
        let everyone = [ANONYMOUS_ID, 9];
        let only_nine = [9];
        assert!(p.check_access(&q(
            5,
            "authenticated",
            "view",
            "dataset",
            4,
            "shared",
            &everyone
        )));
        assert!(!p.check_access(&q(
            5,
            "authenticated",
            "view",
            "dataset",
            4,
            "shared",
            &only_nine
        )));
        assert!(p.check_access(&q(
            9,
            "authenticated",
            "edit",
            "dataset",
            4,
            "shared",
            &only_nine
        )));
        assert!(!p.check_access(&q(
            9,
            "authenticated",
            "delete",
            "dataset",
            4,
            "shared",
            &only_nine
        )));
    }

    #[test]
    fn owning_requires_a_role_that_may_own_the_item() {
        let p = Policy::builtin().unwrap();
        assert!(p.check_access(&q(5, "authenticated", "edit", "dataset", 5, "private", &[])));
        assert!(!p.check_access(&q(
            5,
            "authenticated",
            "edit",
            "collection",
            5,
            "private",
            &[]
        )));
        assert!(!p.check_access(&q(5, "nobody", "view", "dataset", 5, "public", &[])));
        assert!(!p.check_access(&q(5, "superuser", "view", "spaceship", 5, "public", &[])));
        assert!(!p.check_access(&q(5, "superuser", "view", "dataset", 4, "secret", &[])));
    }

    #[test]
    fn limits_read_values_as_python_would() {
        let p = Policy::builtin().unwrap();
        assert!(p.check_limit("anonymous", "max_requests", &json!(99_999)));
        assert!(!p.check_limit("anonymous", "max_requests", &json!(100_000)));
        assert!(p.check_limit("anonymous", "max_requests", &json!("42")));
        assert!(p.check_limit("anonymous", "max_requests", &json!(99_999.9)));
        assert!(!p.check_limit("anonymous", "max_requests", &json!("lots")));
        assert!(!p.check_limit("anonymous", "max_requests", &json!(null)));
        assert!(!p.check_limit("anonymous", "max_requests", &json!([1])));
        assert!(p.check_limit("anonymous", "no_such_limit", &json!("lots")));
        assert!(!p.check_limit("locked", "max_requests", &json!(0)));
        assert!(!p.check_limit("nobody", "max_requests", &json!(1)));
    }
}
