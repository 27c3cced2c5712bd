//! `authnzd-loadgen`: drives authnzd (or authnzerver) over its encrypted
//! RPC protocol and reports throughput and latency percentiles.
//!
//! Every request is freshly encrypted, so replay protection stays on. Closed
//! loop by default (`--concurrency` workers back to back); `--rate` switches
//! to an open loop at a fixed arrival rate, timing each request from when it
//! was due, so a slow server cannot hide its queueing (coordinated omission).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use authnzd_client::{Client, Reply};
use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio::sync::{Mutex, Semaphore};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
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
}

#[derive(Debug, Parser)]
#[command(name = "authnzd-loadgen", version, about)]
struct Args {
    /// The server's RPC URL.
    #[arg(long, default_value = "http://127.0.0.1:13431/")]
    url: String,
    /// The Fernet key (or use --key-file). URL-safe base64 may start with
    /// `-`, so a value that looks like a flag is still taken as the key.
    #[arg(long, allow_hyphen_values = true)]
    key: Option<String>,
    /// A file holding the Fernet key (first line).
    #[arg(long)]
    key_file: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "session-exists")]
    scenario: Scenario,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// How long to measure, e.g. `10s` (default 10s unless --requests).
    #[arg(long, value_parser = humantime::parse_duration)]
    duration: Option<Duration>,
    /// Stop after this many measured requests instead.
    #[arg(long)]
    requests: Option<u64>,
    /// Unmeasured run before measuring.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "2s")]
    warmup: Duration,
    /// Fixed arrival rate in requests per second (open loop).
    #[arg(long)]
    rate: Option<f64>,
    /// Sessions made for the session-exists scenario.
    #[arg(long, default_value_t = 1000)]
    sessions: usize,
    /// Spread requests over this many client IP addresses (10.0.0.0/8), so
    /// per-IP rate limits see many users.
    #[arg(long, default_value_t = 1)]
    client_ips: u32,
    /// Write the results as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// What setup made for the scenarios.
struct Fixture {
    tokens: Vec<String>,
    email: String,
    password: String,
}

const PASSWORD: &str = "Orchid=5521/basalt+lantern";
/// Datetimes as authnzerver's frontends send them: naive UTC ISO 8601.
const NAIVE_UTC: &str = "%Y-%m-%dT%H:%M:%S%.6f";

type Failure = String;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("authnzd-loadgen: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let key = match (&args.key, &args.key_file) {
        (Some(k), _) => k.clone(),
        (None, Some(path)) => std::fs::read_to_string(path)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned(),
        (None, None) => return Err("give --key or --key-file".into()),
    };
    if args.concurrency == 0 {
        return Err("--concurrency must be at least 1".into());
    }
    let client = Client::new(args.url.clone(), key.trim()).map_err(|e| e.to_string())?;
    eprintln!("setting up {:?}…", args.scenario);
    let fixture = Arc::new(setup(&client, &args).await?);
    let args = Arc::new(args);

    if !args.warmup.is_zero() {
        eprintln!(
            "warming up for {}…",
            humantime::format_duration(args.warmup)
        );
        measure(&client, &args, &fixture, Stop::After(args.warmup), false).await?;
    }
    let stop = match (args.requests, args.duration) {
        (Some(n), _) => Stop::Count(n),
        (None, Some(d)) => Stop::After(d),
        (None, None) => Stop::After(Duration::from_secs(10)),
    };
    let result = measure(&client, &args, &fixture, stop, true).await?;
    let report = report(&args, &result);
    println!("{}", markdown(&report));
    if let Some(path) = &args.json {
        std::fs::write(
            path,
            serde_json::to_string_pretty(&report).unwrap_or_default(),
        )
        .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// Users and sessions the scenarios need, made before anything is measured.
async fn setup(client: &Client, args: &Args) -> Result<Fixture, String> {
    let needs_sessions = matches!(args.scenario, Scenario::SessionExists | Scenario::Mix);
    let needs_user = matches!(args.scenario, Scenario::UserLogin | Scenario::Mix);
    let mut tokens = Vec::new();
    if needs_sessions {
        for _ in 0..args.sessions.max(1) {
            tokens.push(new_session(client).await?);
        }
    }
    let email = format!(
        "loadgen-{}@example.org",
        chrono::Utc::now().timestamp_micros()
    );
    if needs_user {
        let made = call(
            client,
            "user-new",
            json!({"full_name": "Load Generator", "email": email, "password": PASSWORD}),
        )
        .await?;
        if !made.success {
            return Err(format!("user-new: {:?}", made.failure_reason));
        }
        let verified = call(client, "user-set-emailverified", json!({"email": email})).await?;
        if !verified.success {
            return Err(format!(
                "user-set-emailverified: {:?}",
                verified.failure_reason
            ));
        }
    }
    Ok(Fixture {
        tokens,
        email,
        password: PASSWORD.into(),
    })
}

async fn call(client: &Client, name: &str, body: Value) -> Result<Reply, String> {
    client
        .request(name, body)
        .await
        .map_err(|e| format!("{name}: {e}"))
}

async fn new_session(client: &Client) -> Result<String, String> {
    let expires = (chrono::Utc::now() + chrono::Duration::hours(12)).naive_utc();
    let r = call(
        client,
        "session-new",
        json!({"ip_address": "10.0.0.1", "user_agent": "authnzd-loadgen", "user_id": null,
               "expires": expires.format(NAIVE_UTC).to_string(), "extra_info_json": null}),
    )
    .await?;
    r.response["session_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| {
            format!(
                "session-new failed: {:?} (HTTP {})",
                r.failure_reason, r.status
            )
        })
}

#[derive(Clone, Copy)]
enum Stop {
    After(Duration),
    Count(u64),
}

struct Measured {
    histogram: Histogram<u64>,
    errors: BTreeMap<String, u64>,
    requests: u64,
    elapsed: Duration,
}

/// Runs the scenario until `stop`; returns latencies (µs) and errors.
async fn measure(
    client: &Client,
    args: &Arc<Args>,
    fixture: &Arc<Fixture>,
    stop: Stop,
    show: bool,
) -> Result<Measured, String> {
    let shared = Arc::new(Shared {
        histogram: Mutex::new(new_histogram()?),
        errors: Mutex::new(BTreeMap::new()),
        issued: AtomicU64::new(0),
        done: AtomicU64::new(0),
    });
    let bar = if show {
        progress(stop)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let started = Instant::now();
    let deadline = match stop {
        Stop::After(d) => Some(started + d),
        Stop::Count(_) => None,
    };
    let limit = match stop {
        Stop::Count(n) => n,
        Stop::After(_) => u64::MAX,
    };
    let ticker = {
        let (shared, bar) = (shared.clone(), bar.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                bar.set_position(shared.done.load(Ordering::Relaxed));
            }
        })
    };
    match args.rate {
        None => {
            let mut workers = Vec::new();
            for w in 0..args.concurrency {
                let (client, args, fixture, shared) = (
                    client.clone(),
                    args.clone(),
                    fixture.clone(),
                    shared.clone(),
                );
                workers.push(tokio::spawn(async move {
                    let mut i = w as u64;
                    while shared.issued.fetch_add(1, Ordering::Relaxed) < limit
                        && deadline.is_none_or(|d| Instant::now() < d)
                    {
                        let due = Instant::now();
                        let outcome = one(&client, &args, &fixture, i).await;
                        shared.record(due, outcome).await;
                        i = i.wrapping_add(args.concurrency as u64);
                    }
                }));
            }
            for w in workers {
                let _ = w.await;
            }
        }
        Some(rate) => {
            let gap = Duration::from_secs_f64(1.0 / rate.max(0.001));
            let slots = Arc::new(Semaphore::new(args.concurrency));
            let mut tasks = tokio::task::JoinSet::new();
            let mut i = 0u64;
            let mut due = Instant::now();
            while i < limit && deadline.is_none_or(|d| due < d) {
                tokio::time::sleep_until(due.into()).await;
                // Measured from when it was due, even if it waits for a slot.
                let permit = slots.clone().acquire_owned().await;
                let (client, args, fixture, shared) = (
                    client.clone(),
                    args.clone(),
                    fixture.clone(),
                    shared.clone(),
                );
                let this = i;
                tasks.spawn(async move {
                    let _permit = permit;
                    let outcome = one(&client, &args, &fixture, this).await;
                    shared.record(due, outcome).await;
                });
                i += 1;
                due += gap;
                while tasks.try_join_next().is_some() {}
            }
            while tasks.join_next().await.is_some() {}
        }
    }
    let elapsed = started.elapsed();
    ticker.abort();
    bar.finish_and_clear();
    let histogram = shared.histogram.lock().await.clone();
    let errors = shared.errors.lock().await.clone();
    Ok(Measured {
        requests: histogram.len(),
        histogram,
        errors,
        elapsed,
    })
}

struct Shared {
    histogram: Mutex<Histogram<u64>>,
    errors: Mutex<BTreeMap<String, u64>>,
    issued: AtomicU64,
    done: AtomicU64,
}

impl Shared {
    async fn record(&self, due: Instant, outcome: Result<(), Failure>) {
        let micros = due.elapsed().as_micros().min(u128::from(u64::MAX)) as u64;
        let _ = self.histogram.lock().await.record(micros.max(1));
        if let Err(kind) = outcome {
            *self.errors.lock().await.entry(kind).or_default() += 1;
        }
        self.done.fetch_add(1, Ordering::Relaxed);
    }
}

/// Latencies in µs, 1 µs to 60 s, 3 significant digits.
fn new_histogram() -> Result<Histogram<u64>, String> {
    Histogram::new_with_bounds(1, 60_000_000, 3).map_err(|e| e.to_string())
}

fn progress(stop: Stop) -> indicatif::ProgressBar {
    let bar = match stop {
        Stop::Count(n) => indicatif::ProgressBar::new(n),
        Stop::After(_) => indicatif::ProgressBar::new_spinner(),
    };
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} {elapsed} {pos} requests ({per_sec})")
    {
        bar.set_style(style);
    }
    bar
}

/// One request of the scenario (the `i`-th overall).
async fn one(client: &Client, args: &Args, fixture: &Fixture, i: u64) -> Result<(), Failure> {
    let scenario = match args.scenario {
        Scenario::Mix => match i % 20 {
            0 | 1 => Scenario::SessionNew,
            2 => Scenario::UserLogin,
            3 => Scenario::UserCheckAccess,
            _ => Scenario::SessionExists,
        },
        s => s,
    };
    let ip = client_ip(i, args.client_ips);
    let (name, body) = match scenario {
        Scenario::SessionExists | Scenario::Mix => {
            let token = &fixture.tokens[(i as usize) % fixture.tokens.len()];
            ("session-exists", json!({"session_token": token}))
        }
        Scenario::SessionNew => {
            let expires = (chrono::Utc::now() + chrono::Duration::hours(1)).naive_utc();
            (
                "session-new",
                json!({"ip_address": ip, "user_agent": "authnzd-loadgen", "user_id": null,
                       "expires": expires.format(NAIVE_UTC).to_string(), "extra_info_json": null}),
            )
        }
        Scenario::UserLogin => {
            let token = new_session(client)
                .await
                .map_err(|_| "setup: session-new".to_owned())?;
            (
                "user-login",
                json!({"session_token": token, "email": fixture.email, "password": fixture.password}),
            )
        }
        Scenario::UserCheckAccess => (
            "user-check-access",
            json!({"user_id": 2, "user_role": "anonymous", "action": "view", "target_name": "collection",
                   "target_owner": 1, "target_visibility": "public", "target_sharedwith": ""}),
        ),
    };
    let mut body = body;
    body["client_ipaddr"] = Value::from(ip);
    match client.request(name, body).await {
        Err(e) => Err(format!("transport: {}", short(&e.to_string()))),
        Ok(r) if r.status != 200 => Err(format!("http {}", r.status)),
        Ok(r) if !r.success => Err(format!("{name}: {}", r.failure_reason.unwrap_or_default())),
        Ok(_) => Ok(()),
    }
}

fn short(s: &str) -> String {
    s.chars().take(60).collect()
}

fn client_ip(i: u64, spread: u32) -> String {
    let n = (i % u64::from(spread.max(1))) as u32 + 1;
    format!("10.{}.{}.{}", (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff)
}

fn report(args: &Args, m: &Measured) -> Value {
    let ms = |q: f64| m.histogram.value_at_quantile(q) as f64 / 1000.0;
    let errors: u64 = m.errors.values().sum();
    json!({
        "scenario": format!("{:?}", args.scenario),
        "url": args.url,
        "concurrency": args.concurrency,
        "rate": args.rate,
        "requests": m.requests,
        "errors_total": errors,
        "duration_s": m.elapsed.as_secs_f64(),
        "throughput_rps": m.requests as f64 / m.elapsed.as_secs_f64().max(1e-9),
        "latency_ms": {
            "p50": ms(0.50), "p90": ms(0.90), "p99": ms(0.99), "p999": ms(0.999),
            "max": m.histogram.max() as f64 / 1000.0,
        },
        "errors": m.errors,
    })
}

fn markdown(r: &Value) -> String {
    let l = &r["latency_ms"];
    let f = |v: &Value| v.as_f64().map_or_else(|| "-".into(), |x| format!("{x:.2}"));
    format!(
        "| scenario | concurrency | requests | errors | throughput (req/s) | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |\n\
         |---|---|---|---|---|---|---|---|---|---|\n\
         | {} | {} | {} | {} | {:.0} | {} | {} | {} | {} | {} |{}",
        r["scenario"].as_str().unwrap_or_default(),
        r["concurrency"],
        r["requests"],
        r["errors_total"],
        r["throughput_rps"].as_f64().unwrap_or(0.0),
        f(&l["p50"]),
        f(&l["p90"]),
        f(&l["p99"]),
        f(&l["p999"]),
        f(&l["max"]),
        match r["errors"].as_object() {
            Some(e) if !e.is_empty() => format!("\n\nerrors: {}", Value::Object(e.clone())),
            _ => String::new(),
        }
    )
}
