//! One table from request name to its parameter list and action. Checks the
//! body against the list (every problem at once), deserialises it into the
//! action's typed parameters, runs the action and shapes the reply envelope.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::actions::{ActionResult, Ctx, Outcome, session};
use crate::app::App;
use crate::catalogue::{self, Spec};
use crate::params;

type BoxFuture = Pin<Box<dyn Future<Output = ActionResult> + Send>>;
type Handler = Box<dyn Fn(Arc<App>, Ctx, Map<String, Value>) -> BoxFuture + Send + Sync>;

/// Wraps a typed action so the table can hold it.
fn typed<P, Fut>(action: fn(Arc<App>, Ctx, P) -> Fut) -> Handler
where
    P: DeserializeOwned + Send + 'static,
    Fut: Future<Output = ActionResult> + Send + 'static,
{
    Box::new(
        move |app, ctx, body| match serde_json::from_value::<P>(Value::Object(body)) {
            Ok(p) => Box::pin(action(app, ctx, p)),
            // The type list already passed; this catches values the list cannot
            // describe (an integer too large for i64, say).
            Err(e) => {
                let outcome = invalid(vec![], &e.to_string());
                Box::pin(async move { Ok(outcome) })
            }
        },
    )
}

/// The actions implemented so far; other catalogue names answer
/// "not implemented".
fn actions() -> Vec<(&'static str, Handler)> {
    vec![
        ("session-new", typed(session::new)),
        ("session-exists", typed(session::exists)),
        ("session-delete", typed(session::delete)),
    ]
}

pub struct Dispatcher {
    table: HashMap<&'static str, (&'static Spec, Option<Handler>)>,
}

impl Default for Dispatcher {
    fn default() -> Self {
        let mut handlers: HashMap<_, _> = actions().into_iter().collect();
        let table = catalogue::AUTHNZERVER
            .iter()
            .map(|spec| (spec.name, (spec, handlers.remove(spec.name))))
            .collect();
        debug_assert!(handlers.is_empty(), "action without a catalogue entry");
        Dispatcher { table }
    }
}

/// What the dispatcher made of a request: the outcome, and a short label for
/// the request log.
pub struct Handled {
    pub outcome: Outcome,
    pub known: bool,
}

impl Dispatcher {
    pub fn is_known(&self, name: &str) -> bool {
        self.table.contains_key(name)
    }

    pub async fn handle(
        &self,
        app: Arc<App>,
        ctx: Ctx,
        request: &str,
        body: Map<String, Value>,
    ) -> Result<Handled, crate::actions::Fault> {
        let Some((spec, handler)) = self.table.get(request) else {
            return Ok(Handled {
                outcome: Outcome::fail(
                    "unknown request type",
                    format!("request type '{}' is not supported", printable(request)),
                    json!({}),
                ),
                known: false,
            });
        };
        let problems = params::problems(spec.params, &body);
        let outcome = if !problems.is_empty() {
            invalid(
                problems,
                &format!("request '{request}' has invalid parameters"),
            )
        } else if let Some(handler) = handler {
            handler(app, ctx, body).await?
        } else {
            Outcome::fail(
                "not implemented",
                format!("request '{request}' is not available on this server yet"),
                json!({}),
            )
        };
        Ok(Handled {
            outcome,
            known: true,
        })
    }
}

fn invalid(problems: Vec<params::Problem>, message: &str) -> Outcome {
    Outcome::fail(
        "invalid request parameters",
        message,
        json!({"problems": problems}),
    )
}

/// The response envelope. authnzerver repeats `success`, `messages` and
/// `failure_reason` inside `response`; its client strips them, so keep them.
pub fn envelope(outcome: Outcome, reqid: Value) -> Value {
    let Outcome {
        success,
        mut fields,
        messages,
        failure_reason,
    } = outcome;
    fields.insert("success".into(), success.into());
    fields.insert("messages".into(), json!(messages));
    let mut top = json!({
        "success": success,
        "messages": messages,
        "reqid": reqid,
    });
    if let Some(reason) = failure_reason {
        fields.insert("failure_reason".into(), reason.clone().into());
        top["failure_reason"] = reason.into();
    }
    top["response"] = Value::Object(fields);
    top
}

/// Request names echoed in messages are clipped and stripped of control
/// characters.
fn printable(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(64).collect()
}
