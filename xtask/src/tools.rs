//! The system tools the tests drive: one table, how to tell each is there,
//! and what to do when some are not.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A program the tests start, and the Debian packages that provide it.
pub struct Tool {
    pub name: &'static str,
    pub detect: Detect,
    pub packages: &'static [&'static str],
    pub why: &'static str,
}

/// How to tell a tool is there.
pub enum Detect {
    /// Any of these exists; a bare name is looked up in `PATH`.
    Binary(&'static [&'static str]),
    /// This command exits 0.
    Runs(&'static [&'static str]),
    /// Every one of these files exists (a program and a module it loads:
    /// the program alone does not tell that the module's package is there).
    Files(&'static [&'static str]),
}

/// Everything the suite needs from the machine besides Rust; a tool the
/// tests start is one more entry.
pub const TOOLS: &[Tool] = &[
    Tool {
        name: "nginx",
        // Where tests/forward_auth_nginx.rs looks: sbin is often not in PATH.
        detect: Detect::Binary(&["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"]),
        packages: &["nginx"],
        why: "tests/forward_auth_nginx.rs puts a real nginx in front of the server",
    },
    Tool {
        name: "apache2",
        // Where tests/common/apache.rs looks.
        detect: Detect::Binary(&["/usr/sbin/apache2"]),
        packages: &["apache2"],
        why: "the OpenID Connect test (tests/oidc_apache.rs) signs a real Apache httpd in through the portal",
    },
    Tool {
        name: "mod_auth_openidc",
        detect: Detect::Files(&["/usr/lib/apache2/modules/mod_auth_openidc.so"]),
        packages: &["libapache2-mod-auth-openidc"],
        why: "tests/oidc_apache.rs: Apache's OpenID Connect relying party module",
    },
    Tool {
        name: "openssl",
        detect: Detect::Binary(&["openssl"]),
        packages: &["openssl"],
        why: "the mail tests' SMTP sink gets a self-signed certificate from it",
    },
    Tool {
        name: "python3 with venv",
        // Debian ships ensurepip, which `python3 -m venv` needs, apart.
        detect: Detect::Runs(&["python3", "-c", "import ensurepip, venv"]),
        packages: &["python3", "python3-venv"],
        why: "the tests run Python (authnzerver's client, an SMTP sink, PyJWT) from their own venv",
    },
    Tool {
        name: "chromium",
        // Where tests/common/browser.rs looks.
        detect: Detect::Binary(&["/usr/bin/chromium"]),
        packages: &["chromium"],
        why: "the browser tests (tests/common/browser.rs) drive a real headless Chromium",
    },
    Tool {
        name: "chromedriver",
        detect: Detect::Binary(&["/usr/bin/chromedriver"]),
        packages: &["chromium-driver"],
        why: "the browser tests (tests/common/browser.rs) drive Chromium through chromedriver (WebDriver)",
    },
    Tool {
        name: "redis-server",
        // Where tests/common/redis.rs looks.
        detect: Detect::Binary(&["/usr/bin/redis-server", "/usr/local/bin/redis-server"]),
        packages: &["redis-server"],
        why: "the cluster tests (tests/cluster.rs) start a real redis-server of their own",
    },
    Tool {
        name: "caddy",
        // Where tests/common/caddy.rs looks.
        detect: Detect::Binary(&["/usr/bin/caddy", "caddy"]),
        packages: &["caddy"],
        why: "the portal's Caddy test (tests/portal_caddy.rs) puts a real Caddy (forward_auth) in front of the server",
    },
    Tool {
        name: "dpkg-deb",
        detect: Detect::Binary(&["dpkg-deb"]),
        packages: &["dpkg"],
        why: "the package test (tests/service.rs) reads the Debian package's files, modes and control files with it",
    },
    Tool {
        name: "systemd-analyze",
        detect: Detect::Binary(&["systemd-analyze"]),
        packages: &["systemd"],
        why: "the package test (tests/service.rs) verifies the systemd unit and rates its hardening with it",
    },
    Tool {
        name: "man",
        detect: Detect::Binary(&["man"]),
        packages: &["man-db"],
        why: "systemd-analyze verify looks up the unit's Documentation= man pages with it",
    },
];

impl Tool {
    pub fn is_present(&self) -> bool {
        match self.detect {
            Detect::Binary(candidates) => candidates.iter().any(|c| find_binary(c).is_some()),
            Detect::Runs([program, args @ ..]) => Command::new(program)
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success()),
            Detect::Runs([]) => false,
            Detect::Files(paths) => {
                !paths.is_empty() && paths.iter().all(|p| Path::new(p).is_file())
            }
        }
    }
}

/// `name` itself if it is a path, else its first match in `PATH`.
pub fn find_binary(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        return Path::new(name).is_file().then(|| PathBuf::from(name));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// What to do about the missing tools.
#[derive(Debug, PartialEq, Eq)]
pub enum Plan {
    /// Nothing is missing.
    Nothing,
    /// Root with apt-get: install these packages.
    Install(Vec<&'static str>),
    /// Anyone else: print this command and stop.
    Tell(String),
}

/// Decides from who runs us and whether apt-get is there; kept apart from
/// the probing so each case is a unit test.
pub fn plan(missing: &[&Tool], is_root: bool, has_apt: bool) -> Plan {
    if missing.is_empty() {
        return Plan::Nothing;
    }
    let mut packages: Vec<&'static str> = Vec::new();
    for p in missing.iter().flat_map(|t| t.packages) {
        if !packages.contains(p) {
            packages.push(p);
        }
    }
    if is_root && has_apt {
        return Plan::Install(packages);
    }
    // Without apt-get this is still the Debian spelling: the package names
    // are what another system's manager needs to be told.
    let sudo = if is_root { "" } else { "sudo " };
    Plan::Tell(format!("{sudo}apt-get install -y {}", packages.join(" ")))
}

/// Whether we run as root (`id -u` prints 0); unknown counts as no.
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.status.success() && out.stdout.trim_ascii() == b"0")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NGINX: Tool = Tool {
        name: "nginx",
        detect: Detect::Binary(&["/nonexistent/nginx"]),
        packages: &["nginx"],
        why: "",
    };
    const PYTHON: Tool = Tool {
        name: "python3 with venv",
        detect: Detect::Runs(&["/nonexistent/python3"]),
        packages: &["python3", "python3-venv"],
        why: "",
    };
    const VENV_ONLY: Tool = Tool {
        name: "venv",
        detect: Detect::Runs(&[]),
        packages: &["python3-venv"],
        why: "",
    };

    #[test]
    fn nothing_missing_is_nothing_to_do() {
        for (root, apt) in [(true, true), (true, false), (false, true), (false, false)] {
            assert_eq!(plan(&[], root, apt), Plan::Nothing);
        }
    }

    #[test]
    fn root_with_apt_installs_each_package_once() {
        assert_eq!(
            plan(&[&NGINX, &PYTHON, &VENV_ONLY], true, true),
            Plan::Install(vec!["nginx", "python3", "python3-venv"])
        );
    }

    #[test]
    fn anyone_else_is_told_the_command() {
        assert_eq!(
            plan(&[&NGINX], false, true),
            Plan::Tell("sudo apt-get install -y nginx".into())
        );
        assert_eq!(
            plan(&[&NGINX, &PYTHON], false, false),
            Plan::Tell("sudo apt-get install -y nginx python3 python3-venv".into())
        );
        assert_eq!(
            plan(&[&PYTHON], true, false),
            Plan::Tell("apt-get install -y python3 python3-venv".into())
        );
    }

    #[test]
    fn detection() {
        assert!(!NGINX.is_present());
        assert!(!PYTHON.is_present());
        assert!(!VENV_ONLY.is_present());
        let sh = Tool {
            name: "sh",
            detect: Detect::Binary(&["/nonexistent/sh", "sh"]),
            packages: &[],
            why: "",
        };
        assert!(sh.is_present());
        let runs = Tool {
            name: "true",
            detect: Detect::Runs(&["sh", "-c", "exit 0"]),
            packages: &[],
            why: "",
        };
        assert!(runs.is_present());
        assert!(find_binary("/nonexistent").is_none());
    }

    #[test]
    fn files_must_all_be_there() {
        const MANIFEST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
        let tool = |files: &'static [&'static str]| Tool {
            name: "module",
            detect: Detect::Files(files),
            packages: &["module"],
            why: "",
        };
        assert!(tool(&[MANIFEST]).is_present());
        assert!(!tool(&[MANIFEST, "/nonexistent/mod.so"]).is_present());
        assert!(!tool(&[]).is_present());
        // A directory is no file, and `PATH` is not searched.
        assert!(!tool(&[env!("CARGO_MANIFEST_DIR")]).is_present());
        assert!(!tool(&["sh"]).is_present());
    }

    #[test]
    fn table_names_are_unique_and_each_has_packages() {
        for (i, t) in TOOLS.iter().enumerate() {
            assert!(!t.packages.is_empty(), "{}", t.name);
            assert!(TOOLS[..i].iter().all(|u| u.name != t.name), "{}", t.name);
        }
    }
}
