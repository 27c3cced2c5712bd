//! Reading the JSON policy (serde_path_to_error names the bad key) and the
//! cross-checks serde cannot make: names unique, every reference to a role,
//! item, action, visibility or limit known, every role and item covered.

use std::collections::HashMap;

use serde::Deserialize;

use super::{
    ItemPolicy, LimitKind, Operator, Policy, PolicyError, RoleLimit, RolePolicy, Set, invalid,
};
use crate::store::seed::ROLES;

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

impl Policy {
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
    use crate::policy::DEFAULT_POLICY;
    use serde_json::{Value, json};

    #[test]
    fn the_builtin_policy_parses() {
        let p = Policy::builtin().unwrap();
        assert_eq!(p.role_policy.len(), 5);
        assert_eq!(p.item_policy.len(), 7);
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
