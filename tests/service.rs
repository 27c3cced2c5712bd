//! Installable as a service: the Debian package (its files and modes, the
//! conffile, the maintainer scripts, a unit systemd accepts and rates as
//! hardened, a configuration that loads), the readiness notices systemd
//! waits for, logs fit for a pipe or the journal, and the SQLite URL slip
//! that the packaged configuration avoids, explained.
//!
//! The package is made from the debug build the suite already has, with
//! cargo-deb (`cargo xtask test` installs it) and the steps `cargo xtask
//! deb` takes (`common::deb`).

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::net::TcpStream;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use authnzd_client::Client;
use common::process::{self, Guard};
use common::{deb, free_port};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_authnzd");

/// The package of this build, its control files and its files unpacked.
struct Package {
    deb: PathBuf,
    control: PathBuf,
    root: PathBuf,
}

/// Made once for the tests of this file (they read it, never change it).
fn package() -> &'static Package {
    static PACKAGE: OnceLock<Package> = OnceLock::new();
    PACKAGE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("service-package");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("package dir");
        deb::generate_assets(Path::new(BIN)).expect("man pages and completions");
        let file = dir.join("authnzd.deb");
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"));
        let made = deb::cargo_deb(env!("CARGO").as_ref(), workspace, "dev", Some(&file))
            .arg("--fast")
            .output()
            .expect("cargo deb runs (`cargo xtask test` installs cargo-deb)");
        let why = String::from_utf8_lossy(&made.stderr);
        assert!(made.status.success(), "cargo deb: {why}");
        let control = dir.join("control");
        let root = dir.join("root");
        succeeds(Command::new("dpkg-deb").arg("-e").arg(&file).arg(&control));
        succeeds(Command::new("dpkg-deb").arg("-x").arg(&file).arg(&root));
        Package {
            deb: file,
            control,
            root,
        }
    })
}

/// Runs `cmd`, asserts it exits 0; its stdout.
fn succeeds(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_package_holds_the_binary_unit_config_man_pages_and_completions() {
    let p = package();
    let listing = succeeds(Command::new("dpkg-deb").arg("-c").arg(&p.deb));
    // `-rw-r--r-- root/root 123 2026-01-01 00:00 ./usr/bin/authnzd`
    let files: BTreeMap<String, (String, String)> = listing
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let path = f.get(5)?.trim_start_matches('.');
            Some((path.to_owned(), (f[0].to_owned(), f[1].to_owned())))
        })
        .collect();
    let mode = |path: &str| files.get(path).map(|(m, _)| m.as_str());
    let readable = Some("-rw-r--r--");
    assert_eq!(mode("/usr/bin/authnzd"), Some("-rwxr-xr-x"), "{listing}");
    // The configuration may hold secrets: postinst gives it the service's group.
    assert_eq!(mode("/etc/authnzd/authnzd.toml"), Some("-rw-r-----"));
    for path in [
        "/usr/lib/systemd/system/authnzd.service",
        "/usr/share/bash-completion/completions/authnzd",
        "/usr/share/zsh/vendor-completions/_authnzd",
        "/usr/share/fish/vendor_completions.d/authnzd.fish",
        "/usr/share/doc/authnzd/README.md",
    ] {
        assert_eq!(mode(path), readable, "{path} in {listing}");
    }
    // A man page for every command the binary documents.
    let pages = tempfile::tempdir().expect("dir");
    succeeds(
        Command::new(BIN)
            .arg("man")
            .arg("--out-dir")
            .arg(pages.path()),
    );
    let mut documented = 0;
    for page in std::fs::read_dir(pages.path()).expect("pages") {
        let name = page.expect("page").file_name();
        let packaged = format!("/usr/share/man/man1/{}.gz", name.to_string_lossy());
        assert_eq!(mode(&packaged), readable, "{packaged} in {listing}");
        documented += 1;
    }
    assert!(documented > 10, "{documented} man pages");
    // All root's. The state (key, database) is made on the machine, never
    // shipped, so no upgrade can overwrite it.
    for (path, (_, owner)) in &files {
        assert!(owner == "root/root" || owner == "0/0", "{path}: {owner}");
        assert!(!path.starts_with("/var/"), "{path} shipped");
    }
    let version = succeeds(Command::new(p.root.join("usr/bin/authnzd")).arg("--version"));
    assert!(version.contains(env!("CARGO_PKG_VERSION")), "{version}");
}

#[test]
fn the_config_is_a_conffile_and_the_scripts_make_then_purge_the_user_and_state() {
    let p = package();
    let read = |name: &str| std::fs::read_to_string(p.control.join(name)).expect(name);
    // dpkg keeps an edited conffile on upgrade.
    assert_eq!(read("conffiles").trim(), "/etc/authnzd/authnzd.toml");
    let control = read("control");
    let depends = control
        .lines()
        .find(|l| l.starts_with("Depends:"))
        .unwrap_or_default();
    assert!(depends.contains("adduser"), "{control}");
    for script in ["postinst", "prerm", "postrm"] {
        succeeds(Command::new("sh").arg("-n").arg(p.control.join(script)));
    }
    let postinst = read("postinst");
    let at = |text: &str| {
        postinst
            .find(text)
            .unwrap_or_else(|| panic!("postinst lacks {text:?}:\n{postinst}"))
    };
    let user = at("adduser --system --group");
    // Made only when missing: an upgrade leaves the key and database be.
    let state = at(
        "if [ ! -d /var/lib/authnzd ]; then\n        install -d -o authnzd -g authnzd -m 0750 /var/lib/authnzd",
    );
    let enable = at("deb-systemd-helper enable authnzd.service");
    let start = at("deb-systemd-invoke $_dh_action authnzd.service");
    assert!(user < state && state < enable && enable < start);
    let postrm = read("postrm");
    let purge = postrm
        .rfind("if [ \"$1\" = purge ]; then")
        .unwrap_or_else(|| panic!("no purge branch:\n{postrm}"));
    let purged = &postrm[purge..];
    for removes in [
        "rm -rf /var/lib/authnzd",
        "deluser --quiet --system authnzd",
        "delgroup --quiet --system authnzd",
    ] {
        assert!(purged.contains(removes), "{removes:?} on purge:\n{postrm}");
    }
    assert!(read("prerm").contains("deb-systemd-invoke stop authnzd.service"));
}

#[test]
fn systemd_accepts_the_unit_and_rates_it_hardened() {
    let p = package();
    let unit_dir = p.root.join("usr/lib/systemd/system");
    let unit = std::fs::read_to_string(unit_dir.join("authnzd.service")).expect("unit");
    for line in [
        "Type=notify",
        "ExecStart=/usr/bin/authnzd serve --config /etc/authnzd/authnzd.toml",
        "User=authnzd",
        "StateDirectory=authnzd",
        "CapabilityBoundingSet=",
        "Restart=on-failure",
    ] {
        assert!(unit.lines().any(|l| l == line), "{line} in\n{unit}");
    }
    // The server reads its configuration at start-up only.
    assert!(
        !unit.lines().any(|l| l.starts_with("ExecReload=")),
        "{unit}"
    );
    // The unpacked tree has our unit only: the targets its default
    // dependencies name come from this machine's systemd.
    let host = ["/usr/lib/systemd/system", "/lib/systemd/system"]
        .into_iter()
        .find(|d| Path::new(d).join("sysinit.target").exists())
        .expect("this machine's systemd units");
    for entry in std::fs::read_dir(host).expect("host units") {
        let path = entry.expect("unit").path();
        if path.extension().is_some_and(|e| e == "target") {
            let to = unit_dir.join(path.file_name().expect("name"));
            if !to.exists() {
                std::fs::copy(&path, to).expect("target copied");
            }
        }
    }
    // Against the unpacked tree, so ExecStart's binary and (through
    // MANPATH) Documentation='s man pages are the package's. It exits 0
    // on unknown keys and bad values too; it prints them.
    let root = format!("--root={}", p.root.display());
    let out = Command::new("systemd-analyze")
        .args([root.as_str(), "verify", "authnzd.service"])
        .env("MANPATH", p.root.join("usr/share/man"))
        .output()
        .expect("systemd-analyze runs (`cargo xtask test` installs systemd)");
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success() && said.trim().is_empty(), "{said}");
    let security = Command::new("systemd-analyze")
        .args([
            "security",
            "--offline=true",
            root.as_str(),
            "authnzd.service",
        ])
        .output()
        .expect("systemd-analyze security");
    let report = text(&security.stdout);
    let exposure: f64 = report
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for authnzd.service: ")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{report}{}", text(&security.stderr)));
    // 0 is fully locked down, 10 not at all; "OK" is below 3.
    assert!(exposure <= 2.0, "exposure {exposure}:\n{report}");
}

#[test]
fn the_packaged_config_loads_and_keeps_the_state_in_var_lib() {
    let p = package();
    let conf = p.root.join("etc/authnzd/authnzd.toml");
    let config = authnzd::config::Config::load(Some(&conf)).expect("the packaged config loads");
    assert_eq!(
        config.database.database_url,
        "sqlite:/var/lib/authnzd/authnzd.sqlite?mode=rwc"
    );
    assert_eq!(
        config.keys.key_file,
        Path::new("/var/lib/authnzd/authnzd.key")
    );
    assert_eq!(
        config.database.superuser_credentials_file,
        Path::new("/var/lib/authnzd/authnzd-superuser.json")
    );
    // The packaged binary checks it whole, the state moved to a scratch
    // directory (this machine need not have /var/lib/authnzd).
    let scratch = tempfile::tempdir().expect("dir");
    let mut check = Command::new(p.root.join("usr/bin/authnzd"));
    for (k, _) in std::env::vars() {
        if k.starts_with("AUTHNZD_") || k.starts_with("AUTHNZERVER_") {
            check.env_remove(k);
        }
    }
    check
        .current_dir(scratch.path())
        .arg("check-config")
        .arg("--config")
        .arg(&conf)
        .env(
            "AUTHNZD_DATABASE_URL",
            format!("sqlite:///{}", scratch.path().join("db.sqlite").display()),
        )
        .env("AUTHNZD_KEY_FILE", scratch.path().join("authnzd.key"));
    let said = succeeds(&mut check);
    assert_eq!(said.trim(), "configuration OK");
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `authnzd serve` in a scratch directory with its logs piped, as under
/// systemd or `2> file`, `env` on top.
fn serve_logged(dir: &Path, port: u16, env: &[(&str, &str)]) -> Guard {
    let mut cmd = process::authnzd(dir);
    cmd.args(["serve", "--port", &port.to_string()])
        .env(
            "AUTHNZD_DATABASE_URL",
            format!("sqlite:///{}", dir.join("authnzd.sqlite").display()),
        )
        .env("AUTHNZD_LOG_LEVEL", "info")
        .env("AUTHNZD_DRAIN_TIMEOUT", "1")
        .env("AUTHNZD_ARGON2_MEMORY_KIB", "1024")
        .env("AUTHNZD_ARGON2_ITERATIONS", "1")
        // A terminal's TERM, and no NO_COLOR: only the pipe says no colours.
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .envs(env.iter().copied())
        .stderr(Stdio::piped());
    Guard(cmd.spawn().expect("authnzd starts"))
}

/// SIGTERM, then everything it logged.
fn stop_and_read(mut server: Guard) -> String {
    succeeds(Command::new("kill").args(["-TERM", &server.0.id().to_string()]));
    let mut logged = String::new();
    server
        .0
        .stderr
        .take()
        .expect("stderr piped")
        .read_to_string(&mut logged)
        .expect("logs");
    let status = server.0.wait().expect("exits");
    assert!(status.success(), "{status}\n{logged}");
    logged
}

fn client(dir: &Path, port: u16) -> Client {
    let key = std::fs::read_to_string(dir.join("authnzd.key")).expect("key file");
    Client::builder(format!("http://127.0.0.1:{port}/"), key.trim())
        .client_ipaddr(common::IP)
        .build()
        .expect("client")
}

#[tokio::test]
async fn pretty_logs_into_a_pipe_have_no_colour_codes_and_a_line_per_request() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let mut server = serve_logged(dir.path(), port, &[]);
    process::wait_healthy(port, &mut server.0).await;
    let c = client(dir.path(), port);
    c.request("session-exists", json!({"session_token": "none"}))
        .await
        .expect("answered");
    let logged = stop_and_read(server);
    assert!(!logged.contains('\u{1b}'), "escape codes in:\n{logged}");
    assert!(
        logged.contains("INFO authnzd::server::listeners: authnzd listening"),
        "{logged}"
    );
    assert!(
        logged
            .lines()
            .any(|l| l.contains("INFO authnzd::requests: request")
                && l.contains("request=\"session-exists\"")),
        "no request line in:\n{logged}"
    );
}

#[tokio::test]
async fn log_requests_false_drops_the_request_lines_but_keeps_their_warnings() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let env = [
        ("AUTHNZD_LOG_REQUESTS", "false"),
        // Two session requests at once per address, then one a second.
        ("AUTHNZD_RATE_LIMITS", "session:60; burst:2"),
    ];
    let mut server = serve_logged(dir.path(), port, &env);
    process::wait_healthy(port, &mut server.0).await;
    let c = client(dir.path(), port);
    let mut limited = 0;
    for _ in 0..6 {
        let reply = c
            .request("session-exists", json!({"session_token": "none"}))
            .await
            .expect("answered");
        if reply.status == 429 {
            limited += 1;
        }
    }
    assert!(limited > 0, "none of 6 limited");
    let logged = stop_and_read(server);
    // The level is still info for the rest.
    assert!(
        logged.contains("INFO authnzd::server::listeners"),
        "{logged}"
    );
    assert!(
        !logged.contains("INFO authnzd::requests"),
        "request lines in:\n{logged}"
    );
    let warned = logged
        .lines()
        .filter(|l| l.contains("WARN authnzd::requests") && l.contains("rate limited"))
        .count();
    assert_eq!(warned, limited, "{logged}");
}

#[test]
fn systemd_hears_ready_once_the_port_answers_and_stopping_at_sigterm() {
    let dir = tempfile::tempdir().expect("dir");
    let socket_path = dir.path().join("notify");
    let socket = UnixDatagram::bind(&socket_path).expect("notify socket");
    socket
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let port = free_port();
    let mut cmd = process::authnzd(dir.path());
    cmd.args(["serve", "--port", &port.to_string()])
        .env(
            "AUTHNZD_DATABASE_URL",
            format!("sqlite:///{}", dir.path().join("authnzd.sqlite").display()),
        )
        .env("AUTHNZD_DRAIN_TIMEOUT", "1")
        .env("NOTIFY_SOCKET", &socket_path)
        .stderr(Stdio::null());
    let mut server = Guard(cmd.spawn().expect("authnzd starts"));
    let mut buf = [0u8; 4096];
    let n = socket.recv(&mut buf).expect("a notice within 60 s");
    let ready = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(ready.lines().any(|l| l == "READY=1"), "{ready:?}");
    assert!(
        ready.contains(&format!("STATUS=listening on http://127.0.0.1:{port}/")),
        "{ready:?}"
    );
    // Ready means listening: dependants may connect at once.
    TcpStream::connect(("127.0.0.1", port)).expect("listening when READY=1 came");
    succeeds(Command::new("kill").args(["-TERM", &server.0.id().to_string()]));
    let n = socket.recv(&mut buf).expect("a notice at SIGTERM");
    assert_eq!(String::from_utf8_lossy(&buf[..n]), "STOPPING=1\n");
    let status = server.0.wait().expect("exits");
    assert!(status.success(), "{status}");
}

#[test]
fn a_three_slash_sqlite_url_to_a_missing_directory_says_how_to_write_the_absolute_path() {
    let dir = tempfile::tempdir().expect("dir");
    let url = "sqlite:///var/lib/authnzd-nowhere/db.sqlite";
    let run = |command: &str| -> Output {
        process::authnzd(dir.path())
            .args([command, "--port", "0", "--database-url", url])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .expect("authnzd runs")
    };
    let served = run("serve");
    assert!(!served.status.success());
    let checked = run("check-config");
    assert_eq!(checked.status.code(), Some(1));
    for said in [text(&served.stderr), text(&checked.stdout)] {
        for part in [
            "cannot create var/lib/authnzd-nowhere/db.sqlite: directory var/lib/authnzd-nowhere does not exist in the working directory",
            "relative to the working directory unless it has four slashes, as in SQLAlchemy",
            "for the absolute path write `sqlite:////var/lib/authnzd-nowhere/db.sqlite`",
        ] {
            assert!(said.contains(part), "{part:?} not in {said}");
        }
    }
    assert!(!dir.path().join("var").exists());
}
