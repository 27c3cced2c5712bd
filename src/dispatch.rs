//! One table from request name to its parameter list and action. Checks the
//! body against the list (every problem at once), deserialises it into the
//! action's typed parameters, runs the action and shapes the reply envelope.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::actions::{
    ActionResult, Ctx, Outcome, access, apikey, apikey_nosession, email, internal, login, password,
    passwordless, session, user,
};
use crate::app::App;
use crate::catalogue::{self, Spec};
use crate::params;
use crate::security::rate_limit::{RateLimits, Refused};

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
        ("session-delete-userid", typed(session::delete_userid)),
        ("user-login", typed(login::login)),
        ("user-logout", typed(login::logout)),
        ("user-passcheck", typed(login::passcheck)),
        (
            "user-passcheck-nosession",
            typed(login::passcheck_nosession),
        ),
        ("user-new", typed(user::new)),
        ("user-delete", typed(user::delete)),
        ("user-list", typed(user::list)),
        ("user-lookup-email", typed(user::lookup_email)),
        ("user-lookup-match", typed(user::lookup_match)),
        ("user-edit", typed(user::edit)),
        ("user-lock", typed(user::lock)),
        ("user-sendemail-signup", typed(email::signup)),
        ("user-sendemail-forgotpass", typed(email::forgotpass)),
        ("passwordless-start", typed(passwordless::start)),
        ("passwordless-finish", typed(passwordless::finish)),
        ("user-set-emailverified", typed(user::set_email_verified)),
        ("user-set-emailsent", typed(user::set_email_sent)),
        ("user-changepass", typed(password::changepass)),
        (
            "user-changepass-nosession",
            typed(password::changepass_nosession),
        ),
        ("user-resetpass", typed(password::resetpass)),
        (
            "user-resetpass-nosession",
            typed(password::resetpass_nosession),
        ),
        ("user-validatepass", typed(password::validatepass)),
        ("apikey-new", typed(apikey::new)),
        ("apikey-verify", typed(apikey::verify)),
        ("apikey-revoke", typed(apikey::revoke)),
        ("apikey-new-nosession", typed(apikey_nosession::new)),
        ("apikey-verify-nosession", typed(apikey_nosession::verify)),
        ("apikey-revoke-nosession", typed(apikey_nosession::revoke)),
        (
            "apikey-revokeall-nosession",
            typed(apikey_nosession::revoke_all),
        ),
        ("apikey-refresh-nosession", typed(apikey_nosession::refresh)),
        ("user-check-access", typed(access::check_access)),
        ("user-check-limit", typed(access::check_limit)),
        ("internal-user-lock", typed(internal::user_lock)),
        ("internal-user-delete", typed(internal::user_delete)),
        ("internal-user-edit", typed(internal::user_edit)),
        ("internal-session-edit", typed(internal::session_edit)),
    ]
}

pub struct Dispatcher {
    table: HashMap<&'static str, (&'static Spec, Option<Handler>)>,
    limits: Option<Arc<RateLimits>>,
}

impl Dispatcher {
    /// The table, with rate limits unless they are off.
    pub fn new(limits: Option<Arc<RateLimits>>) -> Dispatcher {
        let mut handlers: HashMap<_, _> = actions().into_iter().collect();
        let table = catalogue::all()
            .map(|spec| (spec.name, (spec, handlers.remove(spec.name))))
            .collect();
        debug_assert!(handlers.is_empty(), "action without a catalogue entry");
        Dispatcher { table, limits }
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
            if let Err(refused) = self.limit("unknown", &ctx, &body) {
                return Ok(Handled::Limited(refused));
            }
            return Ok(Handled::Reply(Outcome::fail(
                "unknown request type",
                format!("request type '{}' is not supported", printable(request)),
                json!({}),
            )));
        };
        let problems = params::problems(spec.params, &body);
        if let Err(refused) = self.limit(spec.name, &ctx, &body) {
            return Ok(Handled::Limited(refused));
        }
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
        Ok(Handled::Reply(outcome))
    }

    /// Counts the request against its limits; email actions also against
    /// the address they concern.
    fn limit(&self, request: &str, ctx: &Ctx, body: &Map<String, Value>) -> Result<(), Refused> {
        let Some(limits) = &self.limits else {
            return Ok(());
        };
        let address = body
            .get("email")
            .or_else(|| body.get("email_address"))
            .and_then(Value::as_str);
        limits.check(request, ctx.client_ipaddr.as_deref().unwrap_or(""), address)
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
