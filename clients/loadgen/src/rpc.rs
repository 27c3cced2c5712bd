//! The encrypted envelope, built and opened cheaply: serialised from
//! borrowed structs into a reused buffer, sealed and opened with
//! `authnzd-client`'s Fernet helpers, the reply parsed only for the fields
//! the load generator checks.

use std::borrow::Cow;

use authnzd_client::Client;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::conn::Conn;

/// A request envelope as authnzerver's frontends send it.
#[derive(Serialize)]
struct Envelope<'a, B> {
    request: &'a str,
    body: &'a B,
    reqid: u64,
    client_ipaddr: &'a str,
}

/// The reply fields that decide success; everything else is skipped
/// unparsed.
#[derive(Deserialize)]
struct ReplyHead<'a> {
    success: bool,
    reqid: Option<u64>,
    #[serde(borrow, default)]
    failure_reason: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    response: Option<ResponseHead<'a>>,
}

#[derive(Deserialize)]
struct ResponseHead<'a> {
    #[serde(borrow, default)]
    session_token: Option<Cow<'a, str>>,
}

/// How one request went, as counted in the report.
#[derive(Debug)]
pub enum Failure {
    Transport(String),
    Http(u16),
    /// The reply did not decrypt, parse, or answer our request id.
    Protocol(&'static str),
    /// `success: false`, with the server's reason.
    Refused(String),
}

impl Failure {
    /// The key errors are counted under.
    pub fn kind(&self, request: &str) -> String {
        match self {
            Failure::Transport(e) => format!("transport: {}", short(e)),
            Failure::Http(s) => format!("http {s}"),
            Failure::Protocol(why) => format!("{request}: {why}"),
            Failure::Refused(why) => format!("{request}: {}", short(why)),
        }
    }
}

fn short(s: &str) -> String {
    s.chars().take(60).collect()
}

/// Seals and opens envelopes for one worker; owns its scratch buffer.
pub struct Rpc {
    client: Client,
    json: Vec<u8>,
    next_reqid: u64,
}

impl Rpc {
    /// `first_reqid` keeps workers' request ids apart.
    pub fn new(client: Client, first_reqid: u64) -> Rpc {
        Rpc {
            client,
            json: Vec::with_capacity(512),
            next_reqid: first_reqid,
        }
    }

    /// The encrypted body for one request, and its request id.
    pub fn seal<B: Serialize>(
        &mut self,
        request: &str,
        body: &B,
        client_ipaddr: &str,
    ) -> Result<(Bytes, u64), Failure> {
        let reqid = self.next_reqid;
        // Spaced out so ids of different workers never meet.
        self.next_reqid = self.next_reqid.wrapping_add(1 << 20);
        self.json.clear();
        serde_json::to_writer(
            &mut self.json,
            &Envelope {
                request,
                body,
                reqid,
                client_ipaddr,
            },
        )
        .map_err(|_| Failure::Protocol("unserialisable body"))?;
        Ok((Bytes::from(self.client.seal_bytes(&self.json)), reqid))
    }

    /// Checks an answer: HTTP 200, decrypts, is the reply to `reqid`, says
    /// `success: true`. Returns the session token if the reply has one.
    pub fn open(&self, status: u16, body: &[u8], reqid: u64) -> Result<Option<String>, Failure> {
        if status != 200 {
            return Err(Failure::Http(status));
        }
        let plain = self
            .client
            .open_bytes(body)
            .map_err(|_| Failure::Protocol("undecryptable reply"))?;
        let head: ReplyHead =
            serde_json::from_slice(&plain).map_err(|_| Failure::Protocol("not an envelope"))?;
        if head.reqid != Some(reqid) {
            return Err(Failure::Protocol("reply to another request id"));
        }
        if !head.success {
            return Err(Failure::Refused(
                head.failure_reason.unwrap_or_default().into_owned(),
            ));
        }
        Ok(head
            .response
            .and_then(|r| r.session_token)
            .map(Cow::into_owned))
    }

    /// One round trip on `conn`.
    pub async fn call<B: Serialize>(
        &mut self,
        conn: &mut Conn,
        request: &str,
        body: &B,
        client_ipaddr: &str,
    ) -> Result<Option<String>, Failure> {
        let (sealed, reqid) = self.seal(request, body, client_ipaddr)?;
        self.exchange(conn, sealed, reqid).await
    }

    /// Sends an envelope sealed earlier and checks the answer.
    pub async fn exchange(
        &self,
        conn: &mut Conn,
        sealed: Bytes,
        reqid: u64,
    ) -> Result<Option<String>, Failure> {
        let answer = conn
            .post(sealed)
            .await
            .map_err(|e| Failure::Transport(format!("{e:#}")))?;
        self.open(answer.status, &answer.body, reqid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";

    #[test]
    fn envelopes_round_trip_and_replies_are_checked() {
        let client = Client::new("http://127.0.0.1:1/", KEY).unwrap();
        let mut rpc = Rpc::new(client.clone(), 7);
        let (sealed, reqid) = rpc
            .seal(
                "session-exists",
                &serde_json::json!({"session_token": "t"}),
                "10.0.0.1",
            )
            .unwrap();
        assert_eq!(reqid, 7);
        let opened = client.open(std::str::from_utf8(&sealed).unwrap()).unwrap();
        assert_eq!(
            opened,
            serde_json::json!({"request": "session-exists", "body": {"session_token": "t"},
                               "reqid": 7, "client_ipaddr": "10.0.0.1"})
        );
        // The next id is another one.
        assert_ne!(rpc.seal("x", &(), "").unwrap().1, 7);

        let reply = |v: serde_json::Value| client.seal(&v);
        let ok = reply(
            serde_json::json!({"success": true, "reqid": 7, "messages": [],
            "response": {"session_token": "abc", "expires": "2030-01-01T00:00:00.000000"}}),
        );
        assert_eq!(
            rpc.open(200, ok.as_bytes(), 7).unwrap().as_deref(),
            Some("abc")
        );
        assert!(matches!(
            rpc.open(200, ok.as_bytes(), 8),
            Err(Failure::Protocol(_))
        ));
        assert!(matches!(rpc.open(429, b"", 7), Err(Failure::Http(429))));
        let no = reply(serde_json::json!({"success": false, "reqid": 7, "failure_reason": "nope"}));
        assert!(matches!(rpc.open(200, no.as_bytes(), 7), Err(Failure::Refused(r)) if r == "nope"));
        assert!(matches!(
            rpc.open(200, b"garbage", 7),
            Err(Failure::Protocol(_))
        ));
    }
}
