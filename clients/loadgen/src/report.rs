//! The JSON report and its markdown rendering.

use serde_json::{Value, json};

use crate::args::Args;
use crate::runner::Measured;

/// Server memory read around the run (KiB), when `--server-pid` is given.
#[derive(Clone, Copy, Default)]
pub struct Rss {
    pub before: Option<u64>,
    pub after: Option<u64>,
}

/// Envelopes sealed before the window, and the CPU that took.
pub struct Prebuilt {
    pub bodies: u64,
    pub cpu: std::time::Duration,
}

pub fn report(args: &Args, m: &Measured, rss: Rss, prebuilt: Option<Prebuilt>) -> Value {
    let ms = |q: f64| m.histogram.value_at_quantile(q) as f64 / 1000.0;
    let errors: u64 = m.errors.values().sum();
    let secs = m.elapsed.as_secs_f64().max(1e-9);
    let per_request = |cpu: f64| cpu * 1e6 / (m.requests.max(1) as f64);
    let own = m.cpu.own.as_secs_f64();
    let server = m.cpu.server.map(|d| d.as_secs_f64());
    // With both known, the costlier side per request is what bounds the
    // throughput when they share the machine's cores.
    let limit = server.map(|s| if s >= own { "server" } else { "load generator" });
    json!({
        "scenario": args.scenario.name(),
        "url": args.url,
        "concurrency": args.concurrency,
        "rate": args.rate,
        "threads": args.threads,
        "requests": m.requests,
        "errors_total": errors,
        "duration_s": secs,
        "throughput_rps": m.requests as f64 / secs,
        "latency_ms": {
            "p50": ms(0.50), "p90": ms(0.90), "p99": ms(0.99), "p999": ms(0.999),
            "max": m.histogram.max() as f64 / 1000.0,
        },
        "errors": m.errors,
        "cpu": {
            "loadgen_s": own,
            "loadgen_us_per_request": per_request(own),
            "loadgen_cores": own / secs,
            "server_pids": args.server_pid,
            "server_s": server,
            "server_us_per_request": server.map(per_request),
            "server_cores": server.map(|s| s / secs),
            "limit": limit,
        },
        "server_rss_kib": {"before": rss.before, "after": rss.after},
        "prebuilt": prebuilt.map(|p| json!({
            "bodies": p.bodies,
            "cpu_s": p.cpu.as_secs_f64(),
            "us_per_body": p.cpu.as_secs_f64() * 1e6 / (p.bodies.max(1) as f64),
        })),
    })
}

pub fn markdown(r: &Value) -> String {
    let l = &r["latency_ms"];
    let f = |v: &Value| v.as_f64().map_or_else(|| "-".into(), |x| format!("{x:.2}"));
    let c = &r["cpu"];
    let mut cpu = format!(
        "\n\nCPU per request: load generator {:.1} µs ({:.2} cores)",
        c["loadgen_us_per_request"].as_f64().unwrap_or(0.0),
        c["loadgen_cores"].as_f64().unwrap_or(0.0),
    );
    if let (Some(us), Some(cores)) = (
        c["server_us_per_request"].as_f64(),
        c["server_cores"].as_f64(),
    ) {
        cpu += &format!(
            ", server {us:.1} µs ({cores:.2} cores); costlier per request: {}",
            c["limit"].as_str().unwrap_or("-")
        );
    }
    if let Some(p) = r["prebuilt"].as_object() {
        cpu += &format!(
            "\nPre-sealed before the window: {} envelopes, {:.1} µs CPU each (not in the window's figure)",
            p["bodies"],
            p["us_per_body"].as_f64().unwrap_or(0.0)
        );
    }
    let rss = &r["server_rss_kib"];
    if let (Some(b), Some(a)) = (rss["before"].as_u64(), rss["after"].as_u64()) {
        cpu += &format!(
            "\nServer RSS: {:.1} MiB before, {:.1} MiB after",
            b as f64 / 1024.0,
            a as f64 / 1024.0
        );
    }
    format!(
        "| scenario | concurrency | requests | errors | throughput (req/s) | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |\n\
         |---|---|---|---|---|---|---|---|---|---|\n\
         | {} | {} | {} | {} | {:.0} | {} | {} | {} | {} | {} |{cpu}{}",
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
