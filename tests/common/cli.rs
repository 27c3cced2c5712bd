//! The operator's command line as a process: `authnzd --config FILE …`
//! run off the runtime, its output, and a config file naming a test
//! server's database and key source.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use authnzd::envelope::KeyRing;
use authnzd_client::Client;
use serde_json::Value;

use super::TestServer;

/// `authnzd --config FILE ARGS…` with `stdin` written to it; waits for it
/// off the runtime (the server under test shares it). The arguments are
/// taken at the call, so the future borrows nothing.
pub fn authnzd(
    config: &Path,
    args: &[&str],
    stdin: Option<&str>,
) -> impl std::future::Future<Output = Output> + 'static {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_authnzd"));
    cmd.arg("--config").arg(config).args(args);
    cmd.current_dir(config.parent().expect("config dir"));
    let stdin = stdin.map(str::to_owned);
    let waited = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("authnzd runs");
        let mut input = child.stdin.take().expect("stdin");
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).expect("stdin written");
        }
        drop(input);
        child.wait_with_output().expect("authnzd ends")
    });
    async move { waited.await.expect("joined") }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts the command succeeded; its stdout.
pub fn ok(o: &Output, what: &str) -> String {
    assert!(
        o.status.success(),
        "{what}: {:?}\nstdout: {}\nstderr: {}",
        o.status,
        stdout(o),
        stderr(o)
    );
    stdout(o)
}

pub fn json_of(o: &Output, what: &str) -> Value {
    let text = ok(o, what);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"))
}

/// A TOML file for the command line naming the server's database, key
/// source and hashing cost, and `extra` lines.
pub fn write_config(s: &TestServer, key_source: &str, extra: &str) -> PathBuf {
    let c = &s.config;
    let text = format!(
        "database_url = {:?}\nsecret = {:?}\nargon2_memory_kib = {}\nargon2_iterations = {}\n\
         rate_limits = \"none\"\nsuperuser_credentials_file = {:?}\nlisten = \"127.0.0.1\"\n\
         port = {}\n{extra}\n",
        c.database.database_url,
        key_source,
        c.hashing.argon2_memory_kib,
        c.hashing.argon2_iterations,
        s.path("superuser.json").display().to_string(),
        s.addr().port(),
    );
    let path = s.path("cli.toml");
    std::fs::write(&path, text).expect("config written");
    path
}

pub fn private_key_file(path: &Path, keys: &str) {
    std::fs::write(path, format!("{keys}\n")).expect("key file");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
}

/// A key ring in a private file of its own directory, holding one fresh
/// key, for `authnzd key add` / `retire` to change under a server.
pub struct RingFile {
    pub path: PathBuf,
    /// The key the ring started with.
    pub first: String,
    _dir: tempfile::TempDir,
}

impl RingFile {
    pub fn new() -> RingFile {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("ring.key");
        let first = KeyRing::generate_key();
        private_key_file(&path, &first);
        RingFile {
            path,
            first,
            _dir: dir,
        }
    }

    /// A server reading its keys from this file (its client speaking with
    /// the first key), and a command-line config naming the file.
    pub async fn server(&self) -> (TestServer, PathBuf) {
        let file = self.path.display().to_string();
        let source = file.clone();
        let mut s = TestServer::start_with(|c| c.keys.secret = Some(source.into())).await;
        s.key = self.first.clone();
        s.client = Client::new(s.url(), &self.first).expect("client");
        let config = write_config(&s, &file, "");
        (s, config)
    }
}
