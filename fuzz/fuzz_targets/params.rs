//! The dispatcher's parameter checks (`params::problems` against the
//! catalogue) over every request type, with bodies built from the input
//! (every JSON type, huge and negative integers, NULs, deep nesting) or
//! parsed from it: never a panic; problems name only the request's
//! parameters; a body that passes the checks deserialises into the
//! request's parameter struct, except for integers beyond i64 (which the
//! dispatcher answers as invalid too).

#![no_main]

use authnzd::params::problems;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};

/// A value of the kind `kind` picks, from the bytes that follow.
fn value(kind: u8, bytes: &mut impl Iterator<Item = u8>) -> Value {
    let b = bytes.next().unwrap_or(0);
    match kind % 11 {
        0 => Value::Null,
        1 => Value::Bool(b % 2 == 0),
        2 => json!(i64::from(b) - 128),
        3 => json!(u64::MAX - u64::from(b)),
        4 => json!(i64::MIN + i64::from(b)),
        5 => json!(f64::from(b) / 7.0),
        6 => Value::String(bytes.take(usize::from(b % 16)).map(char::from).collect()),
        7 => Value::String(format!("a\0{b}")),
        8 => {
            let mut v = json!({});
            for _ in 0..(b % 40) {
                v = json!({ "x": v });
            }
            v
        }
        9 => {
            let mut v = json!([]);
            for _ in 0..(b % 40) {
                v = json!([v]);
            }
            v
        }
        _ => json!({ "k": i64::from(b) }),
    }
}

/// Whether an integer in `v` is beyond i64 (accepted as `int`, not
/// representable by the struct).
fn has_huge_int(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.is_u64() && !n.is_i64(),
        Value::Array(a) => a.iter().any(has_huge_int),
        Value::Object(m) => m.values().any(has_huge_int),
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let [pick, mode, rest @ ..] = data else {
        return;
    };
    let catalogue = authnzd_proto::catalogue();
    let spec = &catalogue[usize::from(*pick) % catalogue.len()];
    let body: Map<String, Value> = if mode % 2 == 0 {
        let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(rest) else {
            return;
        };
        body
    } else {
        let mut bytes = rest.iter().copied();
        let mut body = Map::new();
        for p in spec.params {
            let kind = bytes.next().unwrap_or(0);
            if kind < 32 {
                continue;
            }
            body.insert(p.name.to_owned(), value(kind, &mut bytes));
        }
        if bytes.next().is_some_and(|b| b > 200) {
            body.insert("client_ipaddr".into(), json!("203.0.113.7"));
        }
        body
    };
    let found = problems(spec.params, &body);
    for p in &found {
        assert!(spec.params.iter().any(|q| q.name == p.param), "{p:?}");
    }
    if found.is_empty() {
        let decoded = authnzd_proto::decode(spec.name, Value::Object(body.clone()))
            .expect("every catalogue entry decodes");
        if let Err(e) = decoded {
            assert!(
                has_huge_int(&Value::Object(body.clone())),
                "{}: passed the checks, not decoded ({e}): {body:?}",
                spec.name
            );
        }
    }
});
