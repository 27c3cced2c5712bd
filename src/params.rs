//! Body-parameter checking against a request's type list, reporting every
//! bad parameter at once in authnzerver's `problems` shape. Requests that pass
//! are then deserialised into the action's typed struct.

use serde::Serialize;
use serde_json::{Map, Value};

pub use authnzd_proto::{Param, Ty};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Problem {
    pub param: &'static str,
    pub problem: &'static str,
    /// A type name, or a list of them, as authnzerver reports it.
    pub required_type: Value,
    pub required_param: bool,
}

/// Every missing or mistyped parameter. An optional parameter that is absent
/// or `null` is not checked (authnzerver skips falsy kwargs likewise).
pub fn problems(params: &[Param], body: &Map<String, Value>) -> Vec<Problem> {
    params
        .iter()
        .filter_map(|p| {
            let problem = match body.get(p.name) {
                None if p.required => "missing",
                None => return None,
                Some(Value::Null) if !p.required => return None,
                // No database stores U+0000 in text (PostgreSQL refuses it).
                Some(Value::String(s)) if s.contains('\0') => "contains a NUL character",
                // MariaDB's JSON columns refuse deeper documents; one rule
                // for every backend.
                Some(v) if too_deep(v, MAX_JSON_DEPTH) => "nested too deeply",
                Some(v) if p.types.iter().any(|t| t.accepts(v)) => return None,
                Some(_) => "incorrect type",
            };
            Some(Problem {
                param: p.name,
                problem,
                required_type: required_type(p.types),
                required_param: p.required,
            })
        })
        .collect()
}

/// The deepest nesting of objects and arrays a parameter may have (MariaDB
/// stores JSON up to 32 levels).
pub const MAX_JSON_DEPTH: usize = 30;

/// Whether `v` nests objects and arrays more than `left` levels deep.
fn too_deep(v: &Value, left: usize) -> bool {
    let children: Box<dyn Iterator<Item = &Value>> = match v {
        Value::Object(m) => Box::new(m.values()),
        Value::Array(a) => Box::new(a.iter()),
        _ => return false,
    };
    left == 0 || children.into_iter().any(|c| too_deep(c, left - 1))
}

fn required_type(types: &[Ty]) -> Value {
    match types {
        [one] => Value::from(one.name()),
        many => Value::from(many.iter().map(|t| t.name()).collect::<Vec<_>>()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PARAMS: &[Param] = &[
        Param {
            name: "a",
            types: &[Ty::Int],
            required: true,
        },
        Param {
            name: "b",
            types: &[Ty::Str, Ty::Null],
            required: true,
        },
        Param {
            name: "c",
            types: &[Ty::Dict],
            required: false,
        },
    ];

    #[test]
    fn json_deeper_than_the_databases_store_is_refused() {
        let nest = |depth: usize| (0..depth).fold(json!(1), |inner, _| json!({ "k": inner }));
        assert!(check(json!({"a": 1, "b": null, "c": nest(MAX_JSON_DEPTH)})).is_empty());
        assert_eq!(
            check(json!({"a": 1, "b": null, "c": nest(MAX_JSON_DEPTH + 1)})),
            vec![("c", "nested too deeply")]
        );
    }

    fn check(body: Value) -> Vec<(&'static str, &'static str)> {
        let Value::Object(map) = body else {
            panic!("object")
        };
        problems(PARAMS, &map)
            .into_iter()
            .map(|p| (p.param, p.problem))
            .collect()
    }

    #[test]
    fn reports_every_problem() {
        assert_eq!(check(json!({})), vec![("a", "missing"), ("b", "missing")]);
        assert_eq!(
            check(json!({"a": true, "b": 1, "c": []})),
            vec![
                ("a", "incorrect type"),
                ("b", "incorrect type"),
                ("c", "incorrect type")
            ]
        );
    }

    #[test]
    fn accepts_valid_and_null_where_listed() {
        assert!(check(json!({"a": 3, "b": null})).is_empty());
        assert!(check(json!({"a": 3, "b": "x", "c": null, "extra": 1})).is_empty());
        assert_eq!(
            check(json!({"a": 3.5, "b": "x"})),
            vec![("a", "incorrect type")]
        );
    }

    #[test]
    fn nul_characters_are_refused() {
        assert_eq!(
            check(json!({"a": 1, "b": "x\u{0000}y"})),
            vec![("b", "contains a NUL character")]
        );
    }

    #[test]
    fn required_type_is_a_name_or_a_list() {
        let Value::Object(map) = json!({"a": "x", "b": 2}) else {
            unreachable!()
        };
        let found = problems(PARAMS, &map);
        assert_eq!(found[0].required_type, json!("int"));
        assert_eq!(found[1].required_type, json!(["str", "None"]));
    }
}
