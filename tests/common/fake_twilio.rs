//! A local HTTP server speaking the part of Twilio's Messages API authnzd
//! uses: `POST /2010-04-01/Accounts/{sid}/Messages.json`, form-encoded, with
//! basic auth. It records every POST it receives, so it also stands in for
//! the generic SMS webhook.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub form: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

pub struct FakeTwilio {
    pub url: String,
    pub received: Arc<Mutex<Vec<Received>>>,
}

impl FakeTwilio {
    pub async fn start() -> FakeTwilio {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    // Read headers, then Content-Length bytes of body.
                    let (head, body) = loop {
                        let Ok(n) = stream.read(&mut chunk).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buf[..end]).to_string();
                            let len = super::content_length(&head);
                            while buf.len() < end + 4 + len {
                                let Ok(n) = stream.read(&mut chunk).await else {
                                    return;
                                };
                                if n == 0 {
                                    break;
                                }
                                buf.extend_from_slice(&chunk[..n]);
                            }
                            break (head, buf[end + 4..].to_vec());
                        }
                    };
                    let header = |name: &str| super::header_value(&head, name);
                    let path = head
                        .lines()
                        .next()
                        .and_then(|l| l.split_whitespace().nth(1))
                        .unwrap_or_default()
                        .to_owned();
                    let form = form_urlencoded::parse(&body).into_owned().collect();
                    log.lock().expect("lock").push(Received {
                        path,
                        authorization: header("authorization"),
                        content_type: header("content-type"),
                        form,
                        body: body.clone(),
                    });
                    let reply =
                        r#"{"sid": "SM00000000000000000000000000000000", "status": "queued"}"#;
                    let response = format!(
                        "HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
                        reply.len()
                    );
                    stream.write_all(response.as_bytes()).await.ok();
                });
            }
        });
        FakeTwilio { url, received }
    }

    pub fn messages(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }
}
