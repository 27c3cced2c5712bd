//! Every request type, given missing, mistyped, empty, 1 MB and non-ASCII
//! values, answers a clear `success:false` and the server keeps serving.

mod common;

use authnzd::catalogue::{self, Spec};
use authnzd::params::{Param, Ty};
use authnzd_proto::Refusal;
use common::TestServer;
use serde_json::{Map, Value, json};

/// A value of the parameter's first accepted type, with `text` for strings.
fn value_for(types: &[Ty], text: &str) -> Value {
    match types[0] {
        Ty::Str | Ty::Any => Value::from(text),
        Ty::Int => json!(987_654),
        Ty::Float => json!(1.5),
        Ty::Bool => json!(false),
        Ty::Dict => json!({"k": text}),
        Ty::List => json!([text]),
        Ty::Null => Value::Null,
    }
}

/// A body with every parameter of `spec` set to `value(param)`.
fn body_with(spec: &Spec, value: impl Fn(&Param) -> Value) -> Value {
    Value::Object(
        spec.params
            .iter()
            .map(|p| (p.name.to_owned(), value(p)))
            .collect::<Map<String, Value>>(),
    )
}

/// A value of a type the parameter does not accept.
fn wrong_type(types: &[Ty]) -> Value {
    if types.contains(&Ty::Any) {
        Value::Null
    } else if types.contains(&Ty::Dict) {
        json!([1, 2])
    } else {
        json!({"nested": {"deep": [1]}})
    }
}

#[tokio::test]
async fn every_request_type_refuses_bad_values_cleanly() {
    let s = TestServer::start_with(|c| c.server.max_body_bytes = 64 * 1024 * 1024).await;
    let huge = "x".repeat(1024 * 1024);
    let texts = ["", "ünïcødé ✓ 🚀 \u{202e}RTL\u{0000}", huge.as_str()];
    for spec in catalogue::all() {
        // Missing everything.
        let r = s.call(spec.name, json!({})).await;
        assert_eq!(r.status, 200, "{}", spec.name);
        if spec.params.iter().any(|p| p.required) {
            assert_eq!(
                r.refusal(),
                Some(Refusal::InvalidParameters),
                "{}",
                spec.name
            );
        }
        // Every parameter of a wrong type.
        let r = s
            .call(spec.name, body_with(spec, |p| wrong_type(p.types)))
            .await;
        assert_eq!(
            r.refusal(),
            Some(Refusal::InvalidParameters),
            "{}",
            spec.name
        );
        let problems = r.response["problems"].as_array().unwrap();
        assert_eq!(
            problems.len(),
            spec.params.len(),
            "{}: every parameter reported",
            spec.name
        );
        // Right types, hostile values.
        for text in texts {
            let body = body_with(spec, |p| value_for(p.types, text));
            let r = s.call(spec.name, body).await;
            assert_eq!(
                r.status,
                200,
                "{} with {} chars: {:?}",
                spec.name,
                text.len(),
                r.refusal()
            );
            assert!(
                !r.success,
                "{} with a {}-char value succeeded: {r:?}",
                spec.name,
                text.len()
            );
            assert!(r.refusal().is_some(), "{}", spec.name);
        }
    }
    // Still serving.
    s.assert_serving().await;
}

#[tokio::test]
async fn deeply_nested_and_huge_envelopes_are_refused_not_fatal() {
    let s = TestServer::start().await;
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let plain = format!(
        r#"{{"request":"session-exists","body":{{"session_token":{deep}}},"reqid":1,"client_ipaddr":"::1"}}"#
    );
    let body = {
        use base64::Engine;
        let token = fernet::Fernet::new(&s.key)
            .unwrap()
            .encrypt(plain.as_bytes());
        base64::engine::general_purpose::STANDARD.encode(token)
    };
    let (status, _) = common::post_raw(&s.url(), body).await;
    assert_eq!(
        status, 400,
        "JSON nested past the parser's limit is a bad envelope"
    );
    s.assert_serving().await;
}
