//! The command line.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// Look up one of a pool of pre-made sessions (the hot path).
    SessionExists,
    /// Create an anonymous session.
    SessionNew,
    /// Log a pre-made user in (an untimed `session-new` precedes each).
    UserLogin,
    /// Ask an access question.
    UserCheckAccess,
    /// 80 % session-exists, 10 % session-new, 5 % user-login, 5 % user-check-access.
    Mix,
    /// Plain `GET /health` on the same server, unencrypted: the ceiling the
    /// encrypted requests are compared with.
    Health,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::SessionExists => "session-exists",
            Scenario::SessionNew => "session-new",
            Scenario::UserLogin => "user-login",
            Scenario::UserCheckAccess => "user-check-access",
            Scenario::Mix => "mix",
            Scenario::Health => "health",
        }
    }
}

#[derive(Debug, Parser)]
#[command(name = "authnzd-loadgen", version, about)]
pub struct Args {
    /// The server's RPC URL (plain HTTP).
    #[arg(long, default_value = "http://127.0.0.1:13431/")]
    pub url: String,
    /// The Fernet key (or use --key-file). URL-safe base64 may start with
    /// `-`, so a value that looks like a flag is still taken as the key.
    #[arg(long, allow_hyphen_values = true)]
    pub key: Option<String>,
    /// A file holding the Fernet key (first line).
    #[arg(long)]
    pub key_file: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "session-exists")]
    pub scenario: Scenario,
    /// Requests in flight at once (one kept-alive connection each).
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// How long to measure, e.g. `10s` (default 10s unless --requests).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Stop after this many measured requests instead.
    #[arg(long)]
    pub requests: Option<u64>,
    /// Unmeasured run before measuring.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "2s")]
    pub warmup: Duration,
    /// Fixed arrival rate in requests per second (open loop, split evenly
    /// over the connections).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Sessions made (with session-new, before measuring) for session-exists
    /// and mix.
    #[arg(long, default_value_t = 1000)]
    pub sessions: usize,
    /// Keep the session tokens here: read them if the file has at least
    /// --sessions of them, else make them and write them, so a large pool
    /// is seeded once and reused by later runs against the same database.
    #[arg(long)]
    pub sessions_file: Option<PathBuf>,
    /// Seal this many envelopes before the measured window (split over
    /// the connections) and send those first, so encrypting costs the
    /// window nothing; for session-exists, session-new and
    /// user-check-access. Each is sent once, and only while younger than
    /// --request-ttl less 10 s; past that, or when they run out, requests
    /// are sealed as they go.
    #[arg(long, default_value_t = 0)]
    pub prebuild: u64,
    /// The server's `request_ttl` in seconds (authnzd and authnzerver: 300).
    #[arg(long, default_value_t = 300)]
    pub request_ttl: u64,
    /// Spread requests over this many client IP addresses (10.0.0.0/8), so
    /// per-IP rate limits see many users.
    #[arg(long, default_value_t = 1)]
    pub client_ips: u32,
    /// The load generator's own threads (1 = a single-threaded runtime,
    /// leaving the other cores to the server).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// The server's process id, to report its CPU per request and RSS;
    /// several (comma-separated or repeated) are summed, e.g. authnzerver's
    /// main process and its workers.
    #[arg(long, value_delimiter = ',')]
    pub server_pid: Vec<u32>,
    /// Write the results as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug)]
pub enum Stop {
    After(Duration),
    Count(u64),
}

impl Args {
    pub fn key(&self) -> anyhow::Result<String> {
        let key = match (&self.key, &self.key_file) {
            (Some(k), _) => k.clone(),
            (None, Some(path)) => std::fs::read_to_string(path)
                .with_context(|| path.display().to_string())?
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned(),
            (None, None) => bail!("give --key or --key-file"),
        };
        Ok(key.trim().to_owned())
    }

    pub fn check(&self) -> anyhow::Result<()> {
        if self.concurrency == 0 {
            bail!("--concurrency must be at least 1");
        }
        if self.threads == 0 {
            bail!("--threads must be at least 1");
        }
        if self.rate.is_some_and(|r| r.is_nan() || r <= 0.0) {
            bail!("--rate must be positive");
        }
        Ok(())
    }

    pub fn stop(&self) -> Stop {
        match (self.requests, self.duration) {
            (Some(n), _) => Stop::Count(n),
            (None, Some(d)) => Stop::After(d),
            (None, None) => Stop::After(Duration::from_secs(10)),
        }
    }
}
