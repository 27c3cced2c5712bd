//! Typed requests: the hand-written methods, one module per group of the
//! request catalogue, and `typed`, which makes a method for every other
//! request type from the catalogue. The parameter and answer structs are
//! `authnzd-proto`'s, re-exported as [`crate::params`] and
//! [`crate::responses`].

pub(crate) mod access;
pub(crate) mod apikeys;
pub(crate) mod email;
pub(crate) mod internal;
pub(crate) mod login;
pub(crate) mod passwordless;
pub(crate) mod sessions;
pub(crate) mod typed;
pub(crate) mod users;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use authnzd_proto::Request;

use crate::client::random_reqid;
use crate::{Client, Error, ProtocolError};

impl Client {
    /// Sends any request with typed parameters and reads a successful
    /// answer as `R`: for a request this build does not know yet, or for
    /// reading only the fields a caller needs.
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), authnzd_client::Error> {
    /// #[derive(serde::Serialize)]
    /// struct Lookup<'a> {
    ///     email: &'a str,
    /// }
    /// #[derive(serde::Deserialize)]
    /// struct Found {
    ///     user_info: Id,
    /// }
    /// #[derive(serde::Deserialize)]
    /// struct Id {
    ///     user_id: i64,
    /// }
    /// let found: Found = client
    ///     .call("user-lookup-email", &Lookup { email: "ada@example.com" })
    ///     .await?;
    /// println!("{}", found.user_info.user_id);
    /// # Ok(()) }
    /// ```
    pub async fn call<P, R>(&self, name: &str, params: &P) -> Result<R, Error>
    where
        P: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let answer = self.answer(name, params).await?;
        serde_json::from_value(answer).map_err(|source| {
            ProtocolError::UnexpectedShape {
                request: name.to_owned(),
                source,
            }
            .into()
        })
    }

    /// Sends any request of the catalogue by its parameter struct and
    /// reads its answer, as the generated methods do; for code generic
    /// over requests.
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), authnzd_client::Error> {
    /// use authnzd_client::params::UserLookupEmail;
    /// let found = client
    ///     .send(&UserLookupEmail { email: "ada@example.com".into() })
    ///     .await?;
    /// println!("{}", found.user_info.user_id);
    /// # Ok(()) }
    /// ```
    pub async fn send<R: Request>(&self, params: &R) -> Result<R::Answer, Error> {
        self.call(R::SPEC.name, params).await
    }

    /// A yes/no question: the refusal `no` means "no", not "failed".
    pub(crate) async fn decide<R: Request>(&self, params: &R, no: &str) -> Result<bool, Error> {
        match self.answer(R::SPEC.name, params).await {
            Ok(_) => Ok(true),
            Err(Error::Refused { failure_reason, .. }) if failure_reason == no => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The `response` fields of a successful answer; every other outcome
    /// as an [`Error`].
    async fn answer<P: Serialize + ?Sized>(&self, name: &str, params: &P) -> Result<Value, Error> {
        let Value::Object(body) =
            serde_json::to_value(params).map_err(|e| ProtocolError::Encode(e.to_string()))?
        else {
            return Err(ProtocolError::Encode("parameters must be a JSON object".into()).into());
        };
        let reply = self.exchange(name, body, random_reqid()).await?;
        if reply.status != 200 {
            return Err(Error::Status {
                status: reply.status,
                message: reply.failure_reason.unwrap_or_default(),
                retry_after: reply.retry_after,
            });
        }
        if !reply.success {
            return Err(Error::Refused {
                failure_reason: reply.failure_reason.unwrap_or_default(),
                messages: reply.messages,
                response: reply.response,
            });
        }
        Ok(reply.response)
    }
}
