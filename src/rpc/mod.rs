//! The authnzerver protocol as a thin adapter over the domain (`actions`):
//! one table from request name to its parameter list and action
//! (`table`). Checks the body against the list (every problem at once),
//! deserialises it into the action's typed parameters, runs the action and
//! shapes its typed answer or refusal into the reply envelope (`outcome`).

mod outcome;
mod session_info;
mod table;

pub use outcome::{Outcome, WireResult, Written};

use std::collections::HashMap;
use std::sync::Arc;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value, json};

use crate::actions::{Ctx, Fault, Refusal, audit};
use crate::app::App;
use crate::catalogue::{self, Spec};
use crate::params;
use crate::security::admission::{Admission, Denied};
use crate::security::rate_limit::Refused;

pub struct Dispatcher {
    table: HashMap<&'static str, (&'static Spec, Option<table::Handler>)>,
    admission: Arc<Admission>,
}

impl Dispatcher {
    /// The table, each request first admitted by `admission` (replay and
    /// rate limits).
    pub fn new(admission: Arc<Admission>) -> Dispatcher {
        let (dispatcher, strays) = Self::build(admission);
        if !strays.is_empty() {
            tracing::error!(?strays, "actions without a catalogue entry are not served");
        }
        dispatcher
    }

    /// The table, and the actions whose request the catalogue does not list
    /// (a build mistake; the test below fails on it).
    fn build(admission: Arc<Admission>) -> (Dispatcher, Vec<&'static str>) {
        let mut handlers: HashMap<_, _> = table::routes()
            .into_iter()
            .map(|r| (r.name, r.handler))
            .collect();
        let table = catalogue::all()
            .map(|spec| (spec.name, (spec, handlers.remove(spec.name))))
            .collect();
        (
            Dispatcher { table, admission },
            handlers.into_keys().collect(),
        )
    }
}

/// Whether `name` is in the catalogue (for configuration checks).
pub fn is_request(name: &str) -> bool {
    catalogue::all().any(|s| s.name == name)
}

/// What the dispatcher made of a request.
pub enum Handled {
    /// An answer for the envelope.
    Reply(Outcome),
    /// Over a rate limit: no answer, HTTP 429.
    Limited(Refused),
    /// A request token another process (or an earlier run) saw: HTTP 401.
    Replayed,
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
        stamp: Option<(u64, u128)>,
    ) -> Result<Handled, Fault> {
        let Some((spec, handler)) = self.table.get(request) else {
            if let Some(no) = self.admit(&app, stamp, "unknown", &ctx, &body).await? {
                return Ok(no);
            }
            return Ok(Handled::Reply(Outcome::fail(
                Refusal::UnknownRequest,
                format!("request type '{}' is not supported", printable(request)),
                json!({}),
            )));
        };
        let problems = params::problems(spec.params, &body);
        if let Some(no) = self.admit(&app, stamp, spec.name, &ctx, &body).await? {
            return Ok(no);
        }
        let outcome = if !problems.is_empty() {
            invalid(
                problems,
                &format!("request '{request}' has invalid parameters"),
            )
        } else if let Some(handler) = handler {
            let format = app.config.server.datetime_format;
            crate::timefmt::scope(format, handler(app, ctx, body)).await?
        } else {
            Outcome::fail(
                Refusal::NotImplemented,
                format!("request '{request}' is not available on this server yet"),
                json!({}),
            )
        };
        Ok(Handled::Reply(outcome))
    }

    /// Checks the request is no replay and counts it against its limits
    /// (email actions also against the address they concern); the answer
    /// instead of handling it, if it may not go on.
    async fn admit(
        &self,
        app: &App,
        stamp: Option<(u64, u128)>,
        request: &'static str,
        ctx: &Ctx,
        body: &Map<String, Value>,
    ) -> Result<Option<Handled>, Fault> {
        let address = body
            .get("email")
            .or_else(|| body.get("email_address"))
            .and_then(Value::as_str);
        let ip = ctx.client_ipaddr.as_deref().unwrap_or("");
        match self.admission.admit(stamp, request, ip, address).await {
            Ok(()) => Ok(None),
            Err(Denied::Replayed) => Ok(Some(Handled::Replayed)),
            Err(Denied::Limited(refused)) => {
                audit::rate_limited(app, ctx, request, refused.limit).await?;
                Ok(Some(Handled::Limited(refused)))
            }
            Err(Denied::Unavailable(e)) => Err(Fault::Shared(e)),
        }
    }
}

fn invalid(problems: Vec<params::Problem>, message: &str) -> Outcome {
    Outcome::fail(
        Refusal::InvalidParameters,
        message,
        json!({"problems": problems}),
    )
}

/// The response envelope. authnzerver repeats `success`, `messages` and
/// `failure_reason` inside `response`; its client strips them, so keep them.
/// Written straight to JSON (no intermediate map, nothing cloned).
pub struct Reply {
    outcome: Outcome,
    reqid: Value,
}

pub fn envelope(outcome: Outcome, reqid: Value) -> Reply {
    Reply { outcome, reqid }
}

impl Serialize for Reply {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let o = &self.outcome;
        let mut top = s.serialize_map(None)?;
        top.serialize_entry("success", &o.success)?;
        top.serialize_entry("response", &Response(o))?;
        top.serialize_entry("messages", &o.messages)?;
        if let Some(reason) = &o.failure_reason {
            top.serialize_entry("failure_reason", reason.as_str())?;
        }
        top.serialize_entry("reqid", &self.reqid)?;
        top.end()
    }
}

/// The action's fields, then the three repeated ones (which win over a
/// field of the same name, as they did when inserted into the map).
struct Response<'a>(&'a Outcome);

impl Serialize for Response<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        const REPEATED: [&str; 3] = ["success", "messages", "failure_reason"];
        let o = self.0;
        let mut map = s.serialize_map(None)?;
        for (k, v) in o
            .fields
            .iter()
            .filter(|(k, _)| !REPEATED.contains(&k.as_str()))
        {
            map.serialize_entry(k, v)?;
        }
        for (k, v) in o.written.0.iter().filter(|(k, _)| !REPEATED.contains(k)) {
            map.serialize_entry(k, v)?;
        }
        map.serialize_entry("success", &o.success)?;
        map.serialize_entry("messages", &o.messages)?;
        if let Some(reason) = &o.failure_reason {
            map.serialize_entry("failure_reason", reason.as_str())?;
        }
        map.end()
    }
}

/// Request names echoed in messages are clipped and stripped of control
/// characters.
fn printable(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reply_repeats_its_outcome_inside_response() {
        let mut failed = Outcome::fail(
            Refusal::SessionExpired,
            "gone",
            json!({"session_info": null, "success": true, "x": 1}),
        );
        failed.messages.push("second".into());
        let v = serde_json::to_value(envelope(failed, json!(7))).unwrap();
        assert_eq!(
            v,
            json!({
                "success": false,
                "messages": ["gone", "second"],
                "failure_reason": "session does not exist or expired",
                "reqid": 7,
                "response": {"session_info": null, "x": 1, "success": false,
                             "messages": ["gone", "second"],
                             "failure_reason": "session does not exist or expired"},
            })
        );
        let text = serde_json::to_string(&envelope(Outcome::ok(json!({"a": 1}), "ok"), json!("r")))
            .unwrap();
        assert_eq!(text.matches("\"success\"").count(), 2, "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v["response"],
            json!({"a": 1, "success": true, "messages": ["ok"]})
        );
        assert!(v.get("failure_reason").is_none());

        let raw = serde_json::value::to_raw_value(&json!({"b": [1, "x"]})).unwrap();
        let written = Outcome::written(Written(vec![("info", raw)]), vec!["found".into()]);
        let text = serde_json::to_string(&envelope(written, json!(1))).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v["response"],
            json!({"info": {"b": [1, "x"]}, "success": true, "messages": ["found"]})
        );
    }

    // A plain test, so release builds check it too.
    #[test]
    fn every_request_has_an_action_and_every_action_a_request() {
        let (d, strays) = Dispatcher::build(Arc::new(Admission::new(None, None)));
        assert!(
            strays.is_empty(),
            "actions without a catalogue entry: {strays:?}"
        );
        let missing: Vec<_> = d
            .table
            .iter()
            .filter(|(_, (_, h))| h.is_none())
            .map(|(name, _)| *name)
            .collect();
        assert!(
            missing.is_empty(),
            "catalogue entries without an action: {missing:?}"
        );
    }
}
