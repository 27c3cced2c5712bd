//! A real Apache httpd with Debian's mod_auth_openidc in the foreground on
//! loopback, as a relying party of the portal's OpenID Connect provider:
//! `/protected/` needs an OpenID Connect sign-in and is proxied to a small
//! app (`claims_app`) that shows the claims mod_auth_openidc passed it.
//! Everything (config, pid file, error log) lives in a temp dir; the
//! server and its workers are stopped on drop.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const APACHE: &str = "/usr/sbin/apache2";
const MODULES: &str = "/usr/lib/apache2/modules";
const OPENIDC: &str = "/usr/lib/apache2/modules/mod_auth_openidc.so";

/// `path`, or a panic saying how to get it.
fn installed(path: &'static str, package: &str) -> &'static str {
    assert!(
        Path::new(path).exists(),
        "this test needs {path} (Debian's {package}): `cargo xtask test` installs it (as root) or prints how"
    );
    path
}

/// The relying party's settings: the provider's discovery URL and the
/// client `authnzd client add` registered.
pub struct Rp<'a> {
    pub discovery: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a str,
}

/// Apache in the foreground, in a process group of its own (the MPM's
/// workers are its children).
pub struct Apache {
    child: Child,
    dir: tempfile::TempDir,
    /// The origin the browser uses, `http://HOST:PORT`.
    pub origin: String,
}

/// The redirect URI Apache on `host:port` answers (register it first).
pub fn redirect_uri(host: &str, port: u16) -> String {
    format!("http://{host}:{port}/protected/redirect_uri")
}

/// The whole config: every path in `dir`, `/protected/` behind
/// mod_auth_openidc and proxied to the app on `app`. Plain http on
/// loopback needs no switch: mod_auth_openidc only warns at start-up that
/// the metadata and redirect URLs SHOULD be https.
fn config(dir: &Path, host: &str, port: u16, rp: &Rp<'_>, app: u16) -> String {
    let d = dir.display();
    let redirect = redirect_uri(host, port);
    // Run as root, Apache's workers must switch to a user (it refuses to
    // serve as root); not root, `User` is ignored, so it is left out.
    // SAFETY: a plain syscall with no arguments.
    let user = if unsafe { libc::geteuid() } == 0 {
        "User www-data\nGroup www-data"
    } else {
        ""
    };
    let passphrase = super::random_suffix();
    let (id, secret, discovery) = (rp.client_id, rp.client_secret, rp.discovery);
    format!(
        r#"
ServerRoot "{d}"
ServerName {host}
DefaultRuntimeDir "{d}"
PidFile "{d}/apache2.pid"
ErrorLog "{d}/error.log"
LogLevel warn auth_openidc:info
Listen 127.0.0.1:{port}
LoadModule mpm_event_module {MODULES}/mod_mpm_event.so
LoadModule authn_core_module {MODULES}/mod_authn_core.so
LoadModule authz_core_module {MODULES}/mod_authz_core.so
LoadModule authz_user_module {MODULES}/mod_authz_user.so
LoadModule proxy_module {MODULES}/mod_proxy.so
LoadModule proxy_http_module {MODULES}/mod_proxy_http.so
LoadModule auth_openidc_module {OPENIDC}
{user}

OIDCProviderMetadataURL {discovery}
OIDCClientID {id}
OIDCClientSecret {secret}
OIDCRedirectURI {redirect}
OIDCScope "openid email profile groups"
OIDCCryptoPassphrase {passphrase}
OIDCPKCEMethod S256
OIDCRemoteUserClaim sub
OIDCAuthNHeader X-Remote-User

<Location /protected/>
    AuthType openid-connect
    Require valid-user
    ProxyPass http://127.0.0.1:{app}/protected/
</Location>
"#
    )
}

impl Apache {
    /// Apache on a free loopback port, reached by the browser as `host`,
    /// the relying party `rp` with redirect URI `redirect_uri(host, port)`,
    /// once it accepts connections.
    pub async fn start(host: &str, port: u16, rp: &Rp<'_>) -> Apache {
        let apache = installed(APACHE, "apache2");
        installed(OPENIDC, "libapache2-mod-auth-openidc");
        let app = claims_app().await;
        let dir = tempfile::tempdir().expect("apache temp dir");
        let conf = dir.path().join("apache2.conf");
        std::fs::write(&conf, config(dir.path(), host, port, rp, app)).expect("apache config");
        let stderr = std::fs::File::create(dir.path().join("stderr.log")).expect("stderr file");
        let child = Command::new(apache)
            .arg("-f")
            .arg(&conf)
            .arg("-DFOREGROUND")
            // Debian's envvars are not read; nothing in the config needs them.
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {apache}: {e}"));
        let mut a = Apache {
            child,
            dir,
            origin: format!("http://{host}:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = a.child.try_wait() {
                let said = std::fs::read_to_string(a.dir.path().join("stderr.log"));
                let said = said.unwrap_or_default();
                panic!("apache exited ({status}): {said}\n{}", a.error_log());
            }
            assert!(
                Instant::now() < deadline,
                "apache did not start\n{}",
                a.error_log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        a
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("error.log")
    }

    /// Apache's error log (mod_auth_openidc says there why it refused).
    pub fn error_log(&self) -> String {
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        format!("apache error log:\n{log}")
    }
}

impl Drop for Apache {
    fn drop(&mut self) {
        // A failed test shows what Apache and mod_auth_openidc said.
        if std::thread::panicking() {
            eprintln!("{}", self.error_log());
        }
        let pid = self.child.id() as libc::pid_t;
        // SIGTERM: the parent stops its workers and frees its shared
        // memory. If it has not exited within 5 s, the whole group is
        // killed (the parent is not reaped then, so the group is still ours).
        // SAFETY: plain syscalls on our unreaped child and its group.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // SAFETY: as above; `try_wait` saw it still running.
        unsafe { libc::kill(-pid, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

/// The app behind Apache: an HTML page with what mod_auth_openidc passed
/// in its request headers (`OIDC_CLAIM_*`, and `REMOTE_USER` as
/// `X-Remote-User`), each in an element with an id.
pub async fn claims_app() -> u16 {
    super::serve_heads(|head| {
        let mut rows = String::new();
        for (id, name) in [
            ("email", "OIDC_CLAIM_email"),
            ("sub", "OIDC_CLAIM_sub"),
            ("groups", "OIDC_CLAIM_groups"),
            ("remote-user", "X-Remote-User"),
        ] {
            let value = super::header_value(head, name).unwrap_or_default();
            let value = value
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            rows.push_str(&format!("<dt>{name}</dt><dd id=\"{id}\">{value}</dd>\n"));
        }
        let body = format!(
            "<!doctype html><title>Protected</title><h1 id=\"protected\">Protected</h1>\n<dl>\n{rows}</dl>\n"
        );
        ("text/html; charset=utf-8", body)
    })
    .await
}
