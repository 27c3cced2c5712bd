//! Users and sessions the scenarios need, made before anything is measured.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use authnzd_client::Client;
use serde_json::json;

use crate::args::{Args, Scenario};
use crate::conn::{Conn, Target};
use crate::rpc::Rpc;
use crate::scenarios::{SessionNew, USER_AGENT, expires_in};

pub struct Fixture {
    pub tokens: Vec<String>,
    pub email: String,
    pub password: String,
}

const PASSWORD: &str = "Orchid=5521/basalt+lantern";

pub async fn setup(client: &Client, target: &Target, args: &Args) -> anyhow::Result<Fixture> {
    let needs_sessions = matches!(args.scenario, Scenario::SessionExists | Scenario::Mix);
    let needs_user = matches!(args.scenario, Scenario::UserLogin | Scenario::Mix);
    let tokens = if needs_sessions {
        sessions(client, target, args).await?
    } else {
        Vec::new()
    };
    let email = format!(
        "loadgen-{}@example.org",
        chrono::Utc::now().timestamp_micros()
    );
    if needs_user {
        let body = json!({"full_name": "Load Generator", "email": email, "password": PASSWORD});
        let made = client.request("user-new", body).await?;
        if !made.success {
            bail!("user-new: {:?}", made.failure_reason);
        }
        let verified = client
            .request("user-set-emailverified", json!({"email": email}))
            .await?;
        if !verified.success {
            bail!("user-set-emailverified: {:?}", verified.failure_reason);
        }
    }
    Ok(Fixture {
        tokens,
        email,
        password: PASSWORD.into(),
    })
}

/// The session pool: from `--sessions-file` if it holds enough, else made.
async fn sessions(client: &Client, target: &Target, args: &Args) -> anyhow::Result<Vec<String>> {
    let wanted = args.sessions.max(1);
    if let Some(path) = &args.sessions_file
        && let Ok(text) = std::fs::read_to_string(path)
    {
        let tokens: Vec<String> = text.lines().take(wanted).map(str::to_owned).collect();
        if tokens.len() == wanted {
            eprintln!("{wanted} session tokens from {}", path.display());
            return Ok(tokens);
        }
    }
    let tokens = seed(client, target, wanted, args.concurrency).await?;
    if let Some(path) = &args.sessions_file {
        save(path, &tokens)?;
    }
    Ok(tokens)
}

fn save(path: &Path, tokens: &[String]) -> anyhow::Result<()> {
    let mut text = tokens.join("\n");
    text.push('\n');
    std::fs::write(path, text).with_context(|| path.display().to_string())
}

/// Makes `n` sessions with session-new over `concurrency` connections,
/// reporting the rate: seeding a million takes minutes.
pub async fn seed(
    client: &Client,
    target: &Target,
    n: usize,
    concurrency: usize,
) -> anyhow::Result<Vec<String>> {
    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let n = n as u64;
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..concurrency.min(n as usize).max(1) {
        let (client, target, next) = (client.clone(), target.clone(), next.clone());
        tasks.spawn(async move {
            let mut conn = Conn::connect(&target).await?;
            let mut rpc = Rpc::new(client, w as u64);
            // Long enough for any measurement that follows.
            let expires = expires_in(24);
            let mut mine = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < n {
                let body = SessionNew {
                    ip_address: "10.0.0.1",
                    user_agent: USER_AGENT,
                    user_id: None,
                    expires: &expires,
                    extra_info_json: None,
                };
                let token = rpc
                    .call(&mut conn, "session-new", &body, "10.0.0.1")
                    .await
                    .map_err(|e| anyhow!("seeding: {}", e.kind("session-new")))?
                    .ok_or_else(|| anyhow!("seeding: session-new gave no token"))?;
                mine.push(token);
            }
            anyhow::Ok(mine)
        });
    }
    let ticker = {
        let next = next.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(10)).await;
                let made = next.load(Ordering::Relaxed).min(n);
                eprintln!("  {made}/{n} sessions…");
            }
        })
    };
    let mut tokens = Vec::with_capacity(n as usize);
    while let Some(done) = tasks.join_next().await {
        tokens.extend(done??);
    }
    ticker.abort();
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "seeded {n} sessions in {secs:.1} s ({:.0}/s)",
        n as f64 / secs.max(1e-9)
    );
    Ok(tokens)
}
