//! What the wire envelope answers for a request: `success`, the answer's
//! fields, end-user `messages`, and a machine `failure_reason` when it
//! failed. Every action's typed result becomes one here (`Outcome::of`).

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::actions::{Done, Fault, No, Refusal, Refused};

/// A handled request: `success` with the request's own response fields,
/// end-user `messages`, and a machine `failure_reason` when it failed.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub success: bool,
    pub fields: Map<String, Value>,
    /// Fields serialised from typed values by the action, written after
    /// `fields`: hot answers skip building a `Value` tree.
    pub written: Written,
    pub messages: Vec<String>,
    pub failure_reason: Option<Refusal>,
}

/// Response fields as JSON text, in order.
#[derive(Debug, Clone, Default)]
pub struct Written(pub Vec<(&'static str, Box<RawValue>)>);

impl PartialEq for Written {
    fn eq(&self, other: &Written) -> bool {
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .zip(&other.0)
                .all(|((a, x), (b, y))| a == b && x.get() == y.get())
    }
}

impl Outcome {
    pub fn ok(fields: Value, message: impl Into<String>) -> Outcome {
        Outcome {
            success: true,
            fields: into_map(fields),
            written: Written::default(),
            messages: vec![message.into()],
            failure_reason: None,
        }
    }

    /// A success whose fields were written ahead (`session_info`).
    pub fn written(written: Written, messages: Vec<String>) -> Outcome {
        Outcome {
            success: true,
            fields: Map::new(),
            written,
            messages,
            failure_reason: None,
        }
    }

    pub fn fail(reason: Refusal, message: impl Into<String>, fields: Value) -> Outcome {
        Outcome {
            success: false,
            fields: into_map(fields),
            written: Written::default(),
            messages: vec![message.into()],
            failure_reason: Some(reason),
        }
    }
}

fn into_map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// A handled request's wire form, or the fault (503) that stopped it.
pub type WireResult = Result<Outcome, Fault>;

impl From<No> for Outcome {
    fn from(no: No) -> Outcome {
        Outcome {
            success: false,
            fields: no.fields,
            written: Written::default(),
            messages: no.messages,
            failure_reason: Some(no.reason),
        }
    }
}

impl Outcome {
    /// The wire form of a typed action's result (faults stay faults).
    pub fn of<A: serde::Serialize>(done: Done<A>) -> WireResult {
        match done {
            Ok(said) => {
                let fields = serde_json::to_value(&said.answer)
                    .map_err(|e| Fault::Internal(format!("answer not serialisable: {e}")))?;
                Ok(Outcome {
                    success: true,
                    fields: into_map(fields),
                    written: Written::default(),
                    messages: said.messages,
                    failure_reason: None,
                })
            }
            Err(Refused::No(no)) => {
                let No {
                    reason,
                    messages,
                    fields,
                } = *no;
                Ok(Outcome {
                    success: false,
                    fields,
                    written: Written::default(),
                    messages,
                    failure_reason: Some(reason),
                })
            }
            Err(Refused::Fault(f)) => Err(f),
        }
    }
}
