//! The envelope decoder on whatever arrives: raw bodies (never a panic,
//! never accepted), and the same bytes sealed with the right key (the JSON
//! stage: never a panic, never refused as undecryptable, and what it
//! accepts is what the plaintext says).

#![no_main]

use std::sync::{Arc, OnceLock};

use authnzd::clock::SystemClock;
use authnzd::envelope::{Envelope, KeyRing, OpenError};
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

struct State {
    envelope: Envelope,
    fernet: fernet::Fernet,
}

fn state() -> &'static State {
    static STATE: OnceLock<State> = OnceLock::new();
    STATE.get_or_init(|| {
        let key = KeyRing::generate_key();
        let ring = KeyRing::parse(&key).expect("a generated key parses");
        State {
            envelope: Envelope::new(ring, 300, 100_000, Arc::new(SystemClock), None),
            fernet: fernet::Fernet::new(&key).expect("a generated key is a Fernet key"),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let s = state();
    // Anything on the wire: no panic, and no forgery.
    assert!(s.envelope.open(data).is_err(), "accepted without the key");

    // Sealed with the right key and fresh: refused only for its content.
    let token = s.fernet.encrypt(data);
    let wire = base64::engine::general_purpose::STANDARD.encode(token);
    match s.envelope.open(wire.as_bytes()) {
        Ok(opened) => {
            let Ok(Value::Object(plain)) = serde_json::from_slice::<Value>(data) else {
                panic!("accepted a plaintext that is not a JSON object");
            };
            assert_eq!(plain.get("request").and_then(Value::as_str), Some(opened.request.as_str()));
            assert_eq!(plain.get("body"), Some(&Value::Object(opened.body)));
            assert!(opened.reqid.is_string() || opened.reqid.is_i64() || opened.reqid.is_u64());
        }
        Err(OpenError::Undecryptable) => panic!("a fresh token under the right key refused"),
        Err(_) => {}
    }
    // The same token again is a replay.
    assert!(matches!(
        s.envelope.open(wire.as_bytes()),
        Err(OpenError::Undecryptable)
    ));
});
