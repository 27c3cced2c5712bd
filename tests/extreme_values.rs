//! Every request type with extreme values in every parameter — i64 limits,
//! huge floats, negative counts, dates at the ends of the calendar,
//! megabyte strings, deep JSON — of the types the catalogue accepts, so each
//! one reaches its action. The answer is always HTTP 200 (success or a clear
//! `success: false`), never a 503 or a panic.

mod common;

use authnzd::catalogue;
use authnzd::params::Ty;
use common::TestServer;
use proptest::prelude::*;
use proptest::test_runner::{Config as RunConfig, TestCaseError, TestRunner};
use serde_json::{Map, Value, json};

fn deep(depth: usize) -> Value {
    (0..depth).fold(json!({"leaf": i64::MAX}), |inner, _| json!({ "k": inner }))
}

fn strings() -> impl Strategy<Value = Value> {
    // A shared address and a password the policy accepts come up often, so
    // that stateful paths (a second sign-up, a login) are reached too.
    prop_oneof![
        4 => Just("user@example.org".to_owned()),
        4 => Just("Correct-Horse-Battery-9135".to_owned()),
        1 => Just(String::new()),
        1 => Just("0".to_owned()),
        1 => Just("-9223372036854775808".to_owned()),
        1 => Just("9223372036854775807".to_owned()),
        1 => Just("9999-12-31T23:59:59.999999".to_owned()),
        1 => Just("0001-01-01T00:00:00".to_owned()),
        1 => Just("+275760-09-13T00:00:00Z".to_owned()),
        1 => Just("1e308".to_owned()),
        1 => Just("a@b".to_owned()),
        1 => Just("lock".to_owned()),
        1 => Just("1,2,-3,9223372036854775807".to_owned()),
        1 => Just("\u{202e}\u{fe0f}ǅ\u{10ffff}".to_owned()),
        1 => Just("x".repeat(300)),
        1 => Just("é".repeat(64 * 1024)),
        1 => Just("y".repeat(1024 * 1024)),
        1 => "[ -~]{0,40}",
    ]
    .prop_map(Value::from)
}

fn ints() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(i64::MIN),
        Just(i64::MAX),
        Just(i64::MIN + 1),
        Just(-1),
        Just(0),
        Just(1),
        Just(i64::from(i32::MAX) + 1),
        Just(86_400 * 366 * 10_000),
        any::<i64>(),
    ]
    .prop_map(Value::from)
}

fn floats() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(f64::MAX),
        Just(f64::MIN),
        Just(f64::MIN_POSITIVE),
        Just(-0.0),
        Just(1e19),
        Just(-1e19),
        Just(9.223372036854776e18),
        any::<f64>().prop_filter("JSON numbers are finite", |f| f.is_finite()),
    ]
    .prop_map(Value::from)
}

fn dicts() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!({})),
        Just(json!({"user_id": i64::MAX, "a": [i64::MIN], "email": "x@y.z"})),
        Just(deep(64)),
        Just(Value::Object(
            (0..2000)
                .map(|i| (format!("k{i}"), json!(i)))
                .collect::<Map<_, _>>()
        )),
    ]
}

fn lists() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!([])),
        Just(json!([i64::MAX, i64::MIN, -1])),
        Just(json!(["lock", null, {}, [[[]]]])),
        Just(Value::Array((0..10_000).map(Value::from).collect())),
    ]
}

fn of_type(ty: Ty) -> BoxedStrategy<Value> {
    match ty {
        Ty::Str => strings().boxed(),
        Ty::Int => ints().boxed(),
        Ty::Float => prop_oneof![floats(), ints()].boxed(),
        Ty::Bool => any::<bool>().prop_map(Value::from).boxed(),
        Ty::Dict => dicts().boxed(),
        Ty::List => lists().boxed(),
        Ty::Null => Just(Value::Null).boxed(),
        Ty::Any => prop_oneof![strings(), ints(), floats(), dicts(), lists()].boxed(),
    }
}

/// A request name and a body whose every value has an accepted type.
fn request() -> impl Strategy<Value = (&'static str, Value)> {
    let specs: Vec<&'static catalogue::Spec> = catalogue::all().collect();
    proptest::sample::select(specs).prop_flat_map(|spec| {
        let fields: Vec<BoxedStrategy<Option<(&'static str, Value)>>> = spec
            .params
            .iter()
            .map(|p| {
                let value = proptest::sample::select(p.types.to_vec())
                    .prop_flat_map(of_type)
                    .prop_map(move |v| Some((p.name, v)));
                if p.required {
                    value.boxed()
                } else {
                    prop_oneof![Just(None), value].boxed()
                }
            })
            .collect();
        fields.prop_map(move |kv| {
            let body: Map<String, Value> = kv
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.to_owned(), v))
                .collect();
            (spec.name, Value::Object(body))
        })
    })
}

#[test]
fn extreme_values_in_every_parameter_never_fault() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let s = rt.block_on(TestServer::start_with(|c| {
        // Room for megabyte strings after two rounds of base64.
        c.server.max_body_bytes = 8 * 1024 * 1024;
        // Refused logins answer at once here; the delay is tested elsewhere.
        c.lockout.failed_login_delay_ms = 0;
    }));
    let mut runner = TestRunner::new(RunConfig {
        cases: 1500,
        failure_persistence: None,
        ..RunConfig::default()
    });
    let result = runner.run(&request(), |(name, body)| {
        let shown = {
            let text = body.to_string();
            text.chars().take(300).collect::<String>()
        };
        match rt.block_on(s.client.request(name, body)) {
            Ok(reply) if reply.status == 200 => Ok(()),
            Ok(reply) => Err(TestCaseError::fail(format!(
                "{name} {shown}: HTTP {}",
                reply.status
            ))),
            Err(e) => Err(TestCaseError::fail(format!("{name} {shown}: {e}"))),
        }
    });
    // The server still serves after all of it.
    let health = rt.block_on(
        s.client
            .request("session-new", common::session_new_body(None, 1)),
    );
    rt.block_on(s.stop());
    if let Err(e) = result {
        panic!("{e}");
    }
    assert!(health.expect("served afterwards").success);
}
