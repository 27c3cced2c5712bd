//! The permissions model: authnzerver's JSON policy format (roles, items,
//! actions, visibilities, limits, `item_policy`, `role_policy`) and its two
//! decisions, item access and role limits. The policy is parsed and checked
//! once at start-up; a bad file names the bad key and stops the server.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::store::seed::{ANONYMOUS_ID, ROLES};

/// The policy built in: the same decisions as authnzerver's default model.
const DEFAULT_POLICY: &str = include_str!("default.json");

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("`{path}`: {problem}")]
    Invalid { path: String, problem: String },
}

fn invalid(path: impl Into<String>, problem: impl Into<String>) -> PolicyError {
    PolicyError::Invalid {
        path: path.into(),
        problem: problem.into(),
    }
}

/// The file as written; checked and turned into a `Policy`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    roles: Vec<String>,
    items: Vec<String>,
    actions: Vec<String>,
    visibilities: Vec<String>,
    limits: HashMap<String, RawLimitDef>,
    item_policy: HashMap<String, RawItemPolicy>,
    role_policy: HashMap<String, RawRolePolicy>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimitDef {
    #[serde(rename = "type")]
    kind: LimitKind,
    operator: Operator,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItemPolicy {
    valid_role_actions: Vec<String>,
    valid_visibilities: Vec<String>,
    invalid_roles: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRolePolicy {
    limits: HashMap<String, RawRoleLimit>,
    can_own_items: Vec<String>,
    allowed_actions_for_owned: Vec<String>,
    allowed_actions_for_other: HashMap<String, Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoleLimit {
    #[serde(rename = "type")]
    def: String,
    limit: serde_json::Number,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum LimitKind {
    Int,
    Float,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Operator {
    Gt,
    Lt,
}

type Set = HashSet<String>;

#[derive(Debug)]
struct ItemPolicy {
    valid_role_actions: Set,
    valid_visibilities: Set,
    invalid_roles: Set,
}

#[derive(Debug)]
struct RoleLimit {
    kind: LimitKind,
    operator: Operator,
    limit: serde_json::Number,
}

#[derive(Debug)]
struct RolePolicy {
    limits: HashMap<String, RoleLimit>,
    can_own_items: Set,
    allowed_actions_for_owned: Set,
    allowed_actions_for_other: HashMap<String, Set>,
}

/// A checked policy.
#[derive(Debug)]
pub struct Policy {
    item_policy: HashMap<String, ItemPolicy>,
    role_policy: HashMap<String, RolePolicy>,
}

/// One access question: may `user_id` acting as `role` apply `action` to an
/// item named `target_name` owned by `target_owner`?
#[derive(Debug, Clone, Copy)]
pub struct AccessQuery<'a> {
    pub user_id: i64,
    pub role: &'a str,
    pub action: &'a str,
    pub target_name: &'a str,
    pub target_owner: i64,
    pub target_visibility: &'a str,
    pub target_sharedwith: &'a [i64],
}

impl Policy {
    /// The built-in policy (a unit test checks that it parses).
    pub fn builtin() -> Result<Policy, PolicyError> {
        Policy::parse(DEFAULT_POLICY)
    }

    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Policy::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let raw: RawPolicy = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let path = if path == "." || path == "?" {
                "(top level)".into()
            } else {
                path
            };
            invalid(path, e.inner().to_string())
        })?;
        raw.check()
    }

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

impl RawPolicy {
    fn check(self) -> Result<Policy, PolicyError> {
        let roles = unique("roles", self.roles)?;
        let items = unique("items", self.items)?;
        let actions = unique("actions", self.actions)?;
        let visibilities = unique("visibilities", self.visibilities)?;
        // Accounts carry these roles, so the policy must say what they may do.
        for builtin in ROLES {
            if !roles.contains(builtin) {
                return Err(invalid(
                    "roles",
                    format!("missing the built-in role {builtin:?}"),
                ));
            }
        }

        let mut item_policy = HashMap::new();
        for (name, raw) in self.item_policy {
            let at = format!("item_policy.{name}");
            if !items.contains(&name) {
                return Err(invalid(at, "not one of `items`"));
            }
            let p = ItemPolicy {
                valid_role_actions: subset(
                    &format!("{at}.valid_role_actions"),
                    raw.valid_role_actions,
                    &actions,
                    "action",
                )?,
                valid_visibilities: subset(
                    &format!("{at}.valid_visibilities"),
                    raw.valid_visibilities,
                    &visibilities,
                    "visibility",
                )?,
                invalid_roles: subset(
                    &format!("{at}.invalid_roles"),
                    raw.invalid_roles,
                    &roles,
                    "role",
                )?,
            };
            item_policy.insert(name, p);
        }
        if let Some(missing) = sorted(&items)
            .into_iter()
            .find(|i| !item_policy.contains_key(*i))
        {
            return Err(invalid(
                format!("item_policy.{missing}"),
                "missing: every item needs a policy",
            ));
        }

        let mut role_policy = HashMap::new();
        for (name, raw) in self.role_policy {
            let at = format!("role_policy.{name}");
            if !roles.contains(&name) {
                return Err(invalid(at, "not one of `roles`"));
            }
            let mut limits = HashMap::new();
            for (limit_name, l) in raw.limits {
                let lat = format!("{at}.limits.{limit_name}.type");
                let Some(def) = self.limits.get(&l.def) else {
                    return Err(invalid(lat, format!("{:?} is not one of `limits`", l.def)));
                };
                limits.insert(
                    limit_name,
                    RoleLimit {
                        kind: def.kind,
                        operator: def.operator,
                        limit: l.limit,
                    },
                );
            }
            let mut for_other = HashMap::new();
            for (visibility, acts) in raw.allowed_actions_for_other {
                let vat = format!("{at}.allowed_actions_for_other.{visibility}");
                if !visibilities.contains(&visibility) {
                    return Err(invalid(vat, "not one of `visibilities`"));
                }
                for_other.insert(visibility, subset(&vat, acts, &actions, "action")?);
            }
            let p = RolePolicy {
                limits,
                can_own_items: subset(
                    &format!("{at}.can_own_items"),
                    raw.can_own_items,
                    &items,
                    "item",
                )?,
                allowed_actions_for_owned: subset(
                    &format!("{at}.allowed_actions_for_owned"),
                    raw.allowed_actions_for_owned,
                    &actions,
                    "action",
                )?,
                allowed_actions_for_other: for_other,
            };
            role_policy.insert(name, p);
        }
        if let Some(missing) = sorted(&roles)
            .into_iter()
            .find(|r| !role_policy.contains_key(*r))
        {
            return Err(invalid(
                format!("role_policy.{missing}"),
                "missing: every role needs a policy",
            ));
        }
        Ok(Policy {
            item_policy,
            role_policy,
        })
    }
}

fn sorted(s: &Set) -> Vec<&String> {
    let mut v: Vec<_> = s.iter().collect();
    v.sort();
    v
}

fn unique(at: &str, names: Vec<String>) -> Result<Set, PolicyError> {
    let mut set = Set::new();
    for n in names {
        if n.is_empty() {
            return Err(invalid(at, "empty name"));
        }
        if !set.insert(n.clone()) {
            return Err(invalid(at, format!("{n:?} is listed twice")));
        }
    }
    Ok(set)
}

fn subset(at: &str, names: Vec<String>, known: &Set, what: &str) -> Result<Set, PolicyError> {
    let mut set = Set::new();
    for n in names {
        if !known.contains(&n) {
            return Err(invalid(at, format!("unknown {what} {n:?}")));
        }
        set.insert(n);
    }
    Ok(set)
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
    fn the_builtin_policy_parses() {
        let p = Policy::builtin().unwrap();
        assert_eq!(p.role_policy.len(), 5);
        assert_eq!(p.item_policy.len(), 7);
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

    fn edited(f: impl FnOnce(&mut Value)) -> Result<Policy, PolicyError> {
        let mut v: Value = serde_json::from_str(DEFAULT_POLICY).expect("json");
        f(&mut v);
        Policy::parse(&v.to_string())
    }

    fn bad_key(r: Result<Policy, PolicyError>) -> String {
        match r {
            Err(PolicyError::Invalid { path, .. }) => path,
            other => panic!("expected an invalid policy, got {other:?}"),
        }
    }

    #[test]
    fn a_bad_policy_names_the_bad_key() {
        assert_eq!(
            bad_key(edited(
                |v| v["role_policy"]["staff"]["allowed_actions_for_owned"] = json!(["fly"])
            )),
            "role_policy.staff.allowed_actions_for_owned"
        );
        assert_eq!(
            bad_key(edited(
                |v| v["role_policy"]["staff"]["allowed_actions_for_other"]["secret"] = json!([])
            )),
            "role_policy.staff.allowed_actions_for_other.secret"
        );
        assert_eq!(
            bad_key(edited(
                |v| v["item_policy"]["dataset"]["valid_visibilities"] = json!("public")
            )),
            "item_policy.dataset.valid_visibilities"
        );
        assert_eq!(
            bad_key(edited(|v| v["limits"]["max"]["operator"] = json!("eq"))),
            "limits.max.operator"
        );
        assert_eq!(
            bad_key(edited(
                |v| v["role_policy"]["anonymous"]["limits"]["max_requests"]["type"] = json!("most")
            )),
            "role_policy.anonymous.limits.max_requests.type"
        );
        assert_eq!(
            bad_key(edited(|v| {
                v["role_policy"]
                    .as_object_mut()
                    .expect("object")
                    .remove("locked");
            })),
            "role_policy.locked"
        );
        assert_eq!(
            bad_key(edited(|v| v["roles"] = json!(["superuser"]))),
            "roles"
        );
        assert_eq!(bad_key(edited(|v| v["colour"] = json!("blue"))), "colour");
        assert_eq!(bad_key(Policy::parse("{not json")), "(top level)");
    }
}
