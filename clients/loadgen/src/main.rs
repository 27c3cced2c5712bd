//! `authnzd-loadgen`: drives authnzd (or authnzerver) over its encrypted
//! RPC protocol and reports throughput, latency percentiles, and the CPU
//! each request cost the load generator and (with `--server-pid`) the server.
//!
//! Every request is freshly encrypted, so replay protection stays on. Each
//! worker keeps one HTTP/1.1 connection alive and reuses its buffers; by
//! default all workers share one thread, leaving the other cores to the
//! server on a shared machine.

mod args;
mod conn;
mod cpu;
mod fixture;
mod report;
mod rpc;
mod runner;
mod scenarios;

use std::sync::Arc;

use anyhow::Context;
use authnzd_client::Client;
use clap::Parser;

use args::{Args, Stop};
use conn::{Conn, Target};
use rpc::Rpc;
use runner::{Plan, Slot};
use scenarios::Worker;

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let runtime = if args.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()
    };
    let outcome = runtime
        .context("tokio runtime")
        .and_then(|rt| rt.block_on(run(args)));
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("authnzd-loadgen: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    args.check()?;
    let client = Client::new(args.url.clone(), &args.key()?)?;
    let target = Target::parse(&args.url)?;
    eprintln!("setting up {}…", args.scenario.name());
    let fixture = Arc::new(fixture::setup(&client, &target, &args).await?);

    let mut slots = Vec::with_capacity(args.concurrency);
    for w in 0..args.concurrency {
        slots.push(Slot {
            conn: Conn::connect(&target).await?,
            worker: Worker::new(Rpc::new(client.clone(), w as u64)),
        });
    }
    let plan = |stop| Plan {
        scenario: args.scenario,
        stop,
        rate: args.rate,
        client_ips: args.client_ips,
        server_pid: args.server_pid.clone(),
    };
    if !args.warmup.is_zero() {
        eprintln!(
            "warming up for {}…",
            humantime::format_duration(args.warmup)
        );
        slots = runner::measure(slots, &fixture, plan(Stop::After(args.warmup)), false)
            .await?
            .0;
    }
    let prebuilt = prebuild(&mut slots, &fixture, &args)?;
    let rss_before = cpu::total_rss_kib(&args.server_pid)?;
    let (_, measured) = runner::measure(slots, &fixture, plan(args.stop()), true).await?;
    let rss = report::Rss {
        before: rss_before,
        after: cpu::total_rss_kib(&args.server_pid)?,
    };
    let report = report::report(&args, &measured, rss, prebuilt);
    println!("{}", report::markdown(&report));
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| path.display().to_string())?;
    }
    Ok(())
}

/// Seals `--prebuild` envelopes for the measured window; returns how many
/// and the CPU it took (reported apart from the window's).
fn prebuild(
    slots: &mut [Slot],
    fixture: &fixture::Fixture,
    args: &Args,
) -> anyhow::Result<Option<report::Prebuilt>> {
    use args::Scenario::{SessionExists, SessionNew, UserCheckAccess};
    if args.prebuild == 0 {
        return Ok(None);
    }
    if !matches!(args.scenario, SessionExists | SessionNew | UserCheckAccess) {
        anyhow::bail!("--prebuild is for session-exists, session-new and user-check-access");
    }
    let fresh_for = std::time::Duration::from_secs(args.request_ttl.saturating_sub(10));
    let width = slots.len() as u64;
    let before = cpu::own()?;
    for (w, slot) in slots.iter_mut().enumerate() {
        // Exactly --prebuild in all: the first few take one more.
        let w = w as u64;
        let each = args.prebuild / width + u64::from(w < args.prebuild % width);
        slot.worker
            .prebuild(
                fixture,
                args.scenario,
                (w, width, each),
                args.client_ips,
                fresh_for,
            )
            .map_err(|e| anyhow::anyhow!("prebuild: {}", e.kind(args.scenario.name())))?;
    }
    Ok(Some(report::Prebuilt {
        bodies: args.prebuild,
        cpu: cpu::own()?.saturating_sub(before),
    }))
}
