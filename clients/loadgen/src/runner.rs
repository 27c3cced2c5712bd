//! The measured loop. Closed loop: each connection sends back to back.
//! Open loop (`--rate`): arrivals on a fixed schedule split over the
//! connections (as wrk2 does), each timed from when it was due, so a slow
//! server cannot hide its queueing (coordinated omission).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::anyhow;
use hdrhistogram::Histogram;

use crate::args::{Scenario, Stop};
use crate::conn::Conn;
use crate::cpu;
use crate::fixture::Fixture;
use crate::scenarios::{Worker, pick};

/// A connection and the worker state that uses it, kept across runs.
pub struct Slot {
    pub conn: Conn,
    pub worker: Worker,
}

/// How a run is driven.
#[derive(Clone)]
pub struct Plan {
    pub scenario: Scenario,
    pub stop: Stop,
    pub rate: Option<f64>,
    pub client_ips: u32,
    pub server_pid: Vec<u32>,
}

pub struct Measured {
    pub histogram: Histogram<u64>,
    pub errors: BTreeMap<String, u64>,
    pub requests: u64,
    pub elapsed: Duration,
    pub cpu: cpu::Spent,
}

/// What one worker measured.
struct Tally {
    histogram: Histogram<u64>,
    errors: BTreeMap<String, u64>,
}

/// Latencies in µs, 1 µs to 60 s, 3 significant digits.
pub fn new_histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, 60_000_000, 3).map_err(|e| anyhow!("histogram: {e}"))
}

/// Runs `plan` over `slots` (one task each); gives the slots back for the
/// next run.
pub async fn measure(
    slots: Vec<Slot>,
    fixture: &Arc<Fixture>,
    plan: Plan,
    show: bool,
) -> anyhow::Result<(Vec<Slot>, Measured)> {
    let issued = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let bar = if show {
        progress(plan.stop)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let ticker = {
        let (done, bar) = (done.clone(), bar.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                bar.set_position(done.load(Ordering::Relaxed));
            }
        })
    };
    let limit = match plan.stop {
        Stop::Count(n) => n,
        Stop::After(_) => u64::MAX,
    };
    let width = slots.len() as u64;
    let gap = plan.rate.map(|r| Duration::from_secs_f64(1.0 / r));
    let before = cpu::sample(&plan.server_pid)?;
    let started = Instant::now();
    let deadline = match plan.stop {
        Stop::After(d) => Some(started + d),
        Stop::Count(_) => None,
    };
    let (kind, client_ips) = (plan.scenario, plan.client_ips);
    let mut tasks = Vec::with_capacity(slots.len());
    for (w, mut slot) in slots.into_iter().enumerate() {
        let (fixture, issued, done) = (fixture.clone(), issued.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally {
                histogram: new_histogram()?,
                errors: BTreeMap::new(),
            };
            let mut j = w as u64;
            loop {
                let (i, due) = match gap {
                    None => {
                        let i = issued.fetch_add(1, Ordering::Relaxed);
                        let now = Instant::now();
                        if i >= limit || deadline.is_some_and(|d| now >= d) {
                            break;
                        }
                        (i, now)
                    }
                    // The j-th arrival is due at j × gap, whether or not
                    // this connection is free by then.
                    Some(gap) => {
                        let due = started + gap.mul_f64(j as f64);
                        if j >= limit || deadline.is_some_and(|d| due >= d) {
                            break;
                        }
                        tokio::time::sleep_until(due.into()).await;
                        j += width;
                        (j - width, due)
                    }
                };
                let scenario = pick(kind, i);
                let (timed_from, outcome) = slot
                    .worker
                    .one(&mut slot.conn, &fixture, scenario, i, client_ips)
                    .await;
                let start = timed_from.unwrap_or(due);
                let micros = start.elapsed().as_micros().min(u128::from(u64::MAX)) as u64;
                let _ = tally.histogram.record(micros.max(1));
                if let Err(f) = outcome {
                    *tally.errors.entry(f.kind(scenario.name())).or_default() += 1;
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
            anyhow::Ok((slot, tally))
        }));
    }
    let mut slots = Vec::with_capacity(tasks.len());
    let mut histogram = new_histogram()?;
    let mut errors = BTreeMap::new();
    for t in tasks {
        let (slot, tally) = t.await??;
        slots.push(slot);
        histogram
            .add(&tally.histogram)
            .map_err(|e| anyhow!("histogram: {e}"))?;
        for (k, n) in tally.errors {
            *errors.entry(k).or_default() += n;
        }
    }
    let elapsed = started.elapsed();
    let cpu = cpu::sample(&plan.server_pid)?.since(before);
    ticker.abort();
    bar.finish_and_clear();
    Ok((
        slots,
        Measured {
            requests: histogram.len(),
            histogram,
            errors,
            elapsed,
            cpu,
        },
    ))
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
