//! The permissions model: authnzerver's JSON policy format (roles, items,
//! actions, visibilities, limits, `item_policy`, `role_policy`) and its two
//! decisions, item access and role limits. The policy is parsed and checked
//! once at start-up; a bad file names the bad key and stops the server.
//!
//! `parse` reads and cross-checks the file into the checked types below;
//! `decide` answers the two questions from them.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Deserialize;

mod decide;
mod parse;

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
}
