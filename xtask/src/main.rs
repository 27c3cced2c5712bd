//! `cargo xtask test [--all-databases] [cargo test args…]`: the one test
//! command of a fresh machine. Checks the system tools the tests drive
//! (`tools::TOOLS`), installs the missing ones with apt-get when it runs as
//! root (else prints the command and stops), installs cargo-deb with cargo,
//! makes the tests' Python venv, then runs `cargo test --workspace` with
//! the arguments given.
//!
//! `cargo xtask deb [--dev] [cargo deb args…]`: the Debian package, from a
//! release build (`--dev`: from the debug build, as the tests make it).

mod tools;
// The test kit's own venv code, so the package list and the venv's place
// have one definition.
#[path = "../../tests/common/python/venv.rs"]
mod venv;
// And its packaging steps, so the package test makes the package as
// operators do.
#[path = "../../tests/common/deb.rs"]
mod deb;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, ExitStatus};

use anyhow::{Context, Result, bail, ensure};

use tools::{Plan, TOOLS, Tool};

const USAGE: &str = "usage: cargo xtask test [--all-databases] [cargo test args…]
       cargo xtask deb [--dev] [cargo deb args…]

  test: checks and (as root, with apt-get) installs the system tools the
  tests drive, installs cargo-deb, makes the tests' Python venv, runs
  `cargo test --workspace`.
  --all-databases  run the suite on SQLite, then PostgreSQL and MariaDB

  deb: builds authnzd (release), generates its man pages and completions,
  and packages it with cargo-deb into target/debian/.
  --dev  package the debug build instead (quick; for trying the package)";

const DATABASE_URL: &str = "AUTHNZD_TEST_DATABASE_URL";

/// `--all-databases`: each backend and the `DATABASE_URL` it runs under (the
/// servers `.ci/run` starts; SQLite: unset).
const DATABASES: &[(&str, Option<&str>)] = &[
    ("SQLite", None),
    (
        "PostgreSQL",
        Some("postgres://postgres@127.0.0.1:5432/postgres"),
    ),
    ("MariaDB", Some("mysql://root@127.0.0.1:3306/test")),
];

fn main() -> ExitCode {
    match run(std::env::args_os().skip(1).collect()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Vec<OsString>) -> Result<ExitCode> {
    let Some((task, rest)) = args.split_first() else {
        bail!("{USAGE}");
    };
    if matches!(task.to_str(), Some("help" | "--help" | "-h")) {
        println!("{USAGE}");
        return Ok(ExitCode::SUCCESS);
    }
    match task.to_str() {
        Some("test") => {}
        Some("deb") => return deb(rest),
        _ => bail!("unknown task {task:?}\n{USAGE}"),
    }
    let (all_databases, cargo_args) = split_all_databases(rest);
    provide_tools()?;
    provide_cargo_deb()?;
    let py = venv::ensure(&target_tmpdir()?).context("making the tests' Python venv")?;
    eprintln!("xtask: Python venv: {}", py.display());
    if !all_databases {
        return wait(cargo_test(&cargo_args)).map(exit_code);
    }
    for &(name, url) in DATABASES {
        eprintln!("xtask: tests on {name}");
        let mut cmd = cargo_test(&cargo_args);
        match url {
            Some(url) => cmd.env(DATABASE_URL, url),
            None => cmd.env_remove(DATABASE_URL),
        };
        let status = wait(cmd)?;
        if !status.success() {
            return Ok(exit_code(status));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Takes `--all-databases` out of the arguments before any `--` (after it
/// everything is the test binaries').
fn split_all_databases(args: &[OsString]) -> (bool, Vec<OsString>) {
    let end = args.iter().position(|a| a == "--").unwrap_or(args.len());
    let found = args[..end].iter().any(|a| a == "--all-databases");
    let kept = args
        .iter()
        .enumerate()
        .filter(|&(i, a)| i >= end || a != "--all-databases")
        .map(|(_, a)| a.clone())
        .collect();
    (found, kept)
}

/// `cargo xtask deb`: builds, generates the assets Cargo.toml's
/// `[package.metadata.deb]` names, and packages with `cargo deb --no-build`
/// (the build is ours: cargo-deb would not generate the assets).
fn deb(args: &[OsString]) -> Result<ExitCode> {
    let dev = args.first().is_some_and(|a| a == "--dev");
    let deb_args = if dev { &args[1..] } else { args };
    provide_cargo_deb()?;
    let (profile, dir) = if dev {
        ("dev", "debug")
    } else {
        ("release", "release")
    };
    let mut build = cargo();
    build.args([
        "build",
        "--package",
        "authnzd",
        "--bin",
        "authnzd",
        "--profile",
        profile,
    ]);
    let built = build.status().context("running cargo build")?;
    if !built.success() {
        return Ok(exit_code(built));
    }
    let target = target_dir()?;
    let assets = deb::generate_assets(&target.join(dir).join("authnzd"))
        .context("generating the man pages and completions")?;
    eprintln!("xtask: generated {}", assets.display());
    // cargo-deb takes `--output` once: the caller's, else ours.
    let out = target.join("debian");
    let out = (!names_output(deb_args)).then_some(out.as_path());
    let mut package = deb::cargo_deb(&cargo_path(), &workspace()?, profile, out);
    package.args(deb_args);
    strip_cargo_run_env(&mut package);
    let status = package.status().context("running cargo deb")?;
    Ok(exit_code(status))
}

/// Whether cargo-deb's arguments name the output.
fn names_output(args: &[OsString]) -> bool {
    args.iter()
        .take_while(|a| *a != "--")
        .filter_map(|a| a.to_str())
        .any(|a| {
            a == "-o" || a.starts_with("--output") || (a.starts_with("-o") && !a.starts_with("--"))
        })
}

/// The workspace root: this package's parent.
fn workspace() -> Result<PathBuf> {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .context("xtask has no parent directory")
}

/// cargo-deb (`cargo deb`), which the package test and `cargo xtask deb`
/// run: installed with cargo when missing, at the version `deb` pins.
fn provide_cargo_deb() -> Result<()> {
    let present = cargo()
        .args(["deb", "--version"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if present {
        return Ok(());
    }
    eprintln!(
        "xtask: missing cargo-deb: the package test (tests/service.rs) makes the Debian package with it"
    );
    let mut install = cargo();
    install.args([
        "install",
        "cargo-deb",
        "--locked",
        "--version",
        deb::CARGO_DEB_VERSION,
    ]);
    let status = install.status().context("running cargo install")?;
    ensure!(status.success(), "cargo install cargo-deb failed: {status}");
    Ok(())
}

/// Makes sure every tool of `TOOLS` is there, or says how to get it.
fn provide_tools() -> Result<()> {
    let missing: Vec<&Tool> = TOOLS.iter().filter(|t| !t.is_present()).collect();
    for t in &missing {
        eprintln!("xtask: missing {}: {}", t.name, t.why);
    }
    let is_root = tools::is_root();
    match tools::plan(&missing, is_root, tools::find_binary("apt-get").is_some()) {
        Plan::Nothing => {
            let names: Vec<&str> = TOOLS.iter().map(|t| t.name).collect();
            eprintln!("xtask: present: {}", names.join(", "));
            Ok(())
        }
        Plan::Tell(command) => bail!("not running the tests; install with:\n  {command}"),
        Plan::Install(packages) => {
            apt_get(&["update", "-q"])?;
            let mut install = vec!["install", "-y", "-q"];
            install.extend(packages);
            apt_get(&install)?;
            let still: Vec<&str> = missing
                .iter()
                .filter(|t| !t.is_present())
                .map(|t| t.name)
                .collect();
            ensure!(still.is_empty(), "still missing after apt-get: {still:?}");
            Ok(())
        }
    }
}

fn apt_get(args: &[&str]) -> Result<()> {
    eprintln!("xtask: apt-get {}", args.join(" "));
    let status = Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .context("running apt-get")?;
    ensure!(
        status.success(),
        "apt-get {} failed: {status}",
        args.join(" ")
    );
    Ok(())
}

/// The tests' `CARGO_TARGET_TMPDIR`: `tmp` in the target directory.
fn target_tmpdir() -> Result<PathBuf> {
    Ok(target_dir()?.join("tmp"))
}

/// The target directory this binary was built in (`<target>/debug/xtask`),
/// which honours `CARGO_TARGET_DIR` and cargo's configuration alike.
fn target_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the xtask binary")?;
    exe.parent()
        .and_then(|profile| profile.parent())
        .map(Path::to_path_buf)
        .with_context(|| format!("no target directory above {}", exe.display()))
}

/// `cargo test --workspace` with `args`, inheriting the environment.
fn cargo_test(args: &[OsString]) -> Command {
    let mut cmd = cargo();
    cmd.args(["test", "--workspace"]).args(args);
    cmd
}

/// The cargo that runs us, so `cargo +toolchain xtask` stays on it.
fn cargo_path() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Cargo, inheriting the environment less what `cargo run` set for us.
fn cargo() -> Command {
    let mut cmd = Command::new(cargo_path());
    strip_cargo_run_env(&mut cmd);
    cmd
}

/// What `cargo run` set for us describes the xtask package; passed on,
/// build scripts that watch it (ring: CARGO_MANIFEST_DIR) would rebuild
/// here and again under a plain `cargo test`.
fn strip_cargo_run_env(cmd: &mut Command) {
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(set_by_cargo_run) {
            cmd.env_remove(name);
        }
    }
}

fn set_by_cargo_run(name: &str) -> bool {
    name.starts_with("CARGO_PKG_")
        || name.starts_with("CARGO_MANIFEST_")
        || matches!(
            name,
            "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_RUSTC_CURRENT_DIR"
        )
}

fn wait(mut cmd: Command) -> Result<ExitStatus> {
    cmd.status().context("running cargo test")
}

fn exit_code(status: ExitStatus) -> ExitCode {
    // A signal has no code: failure all the same.
    status
        .code()
        .and_then(|c| u8::try_from(c).ok())
        .map_or(ExitCode::FAILURE, ExitCode::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn all_databases_is_ours_only_before_the_double_dash() {
        assert_eq!(
            split_all_databases(&args(&["--all-databases", "--test", "users"])),
            (true, args(&["--test", "users"]))
        );
        assert_eq!(
            split_all_databases(&args(&["--test", "users", "--", "--all-databases"])),
            (false, args(&["--test", "users", "--", "--all-databases"]))
        );
        assert_eq!(split_all_databases(&[]), (false, vec![]));
    }

    #[test]
    fn the_callers_output_replaces_ours() {
        assert!(names_output(&args(&["--fast", "--output", "x.deb"])));
        assert!(names_output(&args(&["--output=x.deb"])));
        assert!(names_output(&args(&["-o", "dir"])));
        assert!(names_output(&args(&["-odir"])));
        assert!(!names_output(&args(&["--fast"])));
        assert!(!names_output(&args(&["--", "--output", "x"])));
    }

    #[test]
    fn passes_on_the_users_cargo_settings_only() {
        assert!(set_by_cargo_run("CARGO_MANIFEST_DIR"));
        assert!(set_by_cargo_run("CARGO_PKG_NAME"));
        assert!(!set_by_cargo_run("CARGO_TARGET_DIR"));
        assert!(!set_by_cargo_run("CARGO_INCREMENTAL"));
        assert!(!set_by_cargo_run("CARGO_HOME"));
    }
}
