//! A real SMTP server for tests: Python's aiosmtpd, storing each message in
//! a maildir that tests read back.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct MailSink {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

/// How the sink speaks TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkTls {
    Plain,
    /// STARTTLS, required before mail is accepted.
    Starttls,
    /// TLS from the first byte (SMTPS).
    Implicit,
}

impl MailSink {
    pub fn start() -> MailSink {
        Self::start_with(SinkTls::Plain)
    }

    /// The sink's certificate (self-signed for 127.0.0.1), for clients to trust.
    pub fn cert_path(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    pub fn start_with(tls: SinkTls) -> MailSink {
        Self::spawn(tls, None)
    }

    /// A plain sink that waits `delay` before accepting each message.
    pub fn start_slow(delay: Duration) -> MailSink {
        Self::spawn(SinkTls::Plain, Some(delay))
    }

    fn spawn(tls: SinkTls, delay: Option<Duration>) -> MailSink {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let maildir = dir.path().join("mail");
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        if tls != SinkTls::Plain {
            let made = Command::new("openssl")
                .args([
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                ])
                .args(["-subj", "/CN=127.0.0.1"])
                .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
                .args(["-addext", "basicConstraints=critical,CA:FALSE"])
                .args(["-addext", "extendedKeyUsage=serverAuth"])
                .arg("-keyout")
                .arg(&key)
                .arg("-out")
                .arg(&cert)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("openssl");
            assert!(made.success(), "openssl req failed");
        }
        let mut cmd = Command::new(super::test_python());
        cmd.args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")]);
        match tls {
            SinkTls::Plain => {}
            SinkTls::Starttls => {
                cmd.arg("--tlscert").arg(&cert).arg("--tlskey").arg(&key);
            }
            SinkTls::Implicit => {
                cmd.arg("--smtpscert")
                    .arg(&cert)
                    .arg("--smtpskey")
                    .arg(&key);
            }
        }
        match delay {
            None => {
                cmd.args(["-c", "aiosmtpd.handlers.Mailbox"]).arg(&maildir);
            }
            Some(d) => {
                let handlers = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python");
                cmd.env("PYTHONPATH", handlers)
                    .args(["-c", "slow_mailbox.SlowMailbox"])
                    .arg(&maildir)
                    .arg(d.as_secs_f64().to_string());
            }
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python -m aiosmtpd");
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        MailSink { port, dir, child }
    }

    fn new_dir(&self) -> PathBuf {
        self.dir.path().join("mail").join("new")
    }

    /// Every delivered message, oldest first, as raw bytes.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        let Ok(entries) = std::fs::read_dir(self.new_dir()) else {
            return vec![];
        };
        let mut files: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| {
                let t = e.metadata().and_then(|m| m.modified()).ok();
                (t, e.path())
            })
            .collect();
        files.sort();
        files
            .into_iter()
            .filter_map(|(_, p)| std::fs::read(p).ok())
            .collect()
    }

    /// How many messages were delivered, counted after a pause long enough
    /// for one sent in error to arrive (for asserting that none did). The
    /// pause yields: the server may be sending on this test's runtime.
    pub async fn settled_count(&self) -> usize {
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.messages().len()
    }

    /// Waits for the `n`-th message (1-based) and returns it (yielding, so
    /// a server on this test's runtime can send it).
    pub async fn wait_for(&self, n: usize) -> Vec<u8> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let all = self.messages();
            if all.len() >= n {
                return all[n - 1].clone();
            }
            assert!(Instant::now() < deadline, "no message {n} within 10 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for MailSink {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

pub use super::free_port;

/// A parsed message: headers by name and the plain-text body.
pub struct Parsed {
    pub headers: Vec<(String, String)>,
    pub text: String,
    pub html: String,
}

impl Parsed {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub fn parse(raw: &[u8]) -> Parsed {
    let mail = mailparse::parse_mail(raw).expect("a mail message");
    let headers = mail
        .headers
        .iter()
        .map(|h| (h.get_key(), h.get_value()))
        .collect();
    let mut text = String::new();
    let mut html = String::new();
    for part in mail.parts() {
        match part.ctype.mimetype.as_str() {
            "text/plain" => text = part.get_body().expect("text body"),
            "text/html" => html = part.get_body().expect("html body"),
            _ => {}
        }
    }
    Parsed {
        headers,
        text,
        html,
    }
}
