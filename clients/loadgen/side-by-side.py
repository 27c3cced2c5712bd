#!/usr/bin/env python3
"""Side-by-side benchmark of authnzd (and optionally authnzerver) in one run.

Builds release authnzd and authnzd-loadgen, starts authnzd on a fresh SQLite
file in a temporary directory (generated key, no rate limits, log level
warn), optionally starts authnzerver (4 workers, rate limits raised) and a
PostgreSQL-backed authnzd, runs the same scenarios against each, and writes
a markdown table into BENCHMARKS.md between marker comments (reruns replace
it). Python 3.11 standard library only.

    clients/loadgen/side-by-side.py                       # authnzd only
    clients/loadgen/side-by-side.py --floor --authnzerver /path/to/venv --postgres --million

--floor first runs nginx `return 200` (one worker, no access log) under the
load generator's plain `health` scenario: the cost of a bare HTTP exchange,
which the summary compares each server's CPU per request with.

--authnzerver takes a virtualenv with authnzerver installed (its bin/python
makes the database and key, its bin/authnzrv serves). --million seeds
1,000,000 sessions through session-new (minutes, and SQLite's WAL grows by
gigabytes meanwhile: watch the disk). --skip-suite with --million reruns
only that step.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BEGIN = "<!-- side-by-side:begin -->"
END = "<!-- side-by-side:end -->"
SCENARIOS = ["health", "session-exists", "user-check-access", "session-new", "user-login", "mix"]
CONCURRENCY = [16, 32]
# The open-loop rate of the million-session comparison: well under either
# case's ceiling, so its latencies are service times, not queueing.
RATE = 4000
PREBUILD = {"session-exists": 400_000, "user-check-access": 400_000, "session-new": 80_000}
# authnzerver's rate limits raised out of the way (requests per minute).
# Not "none": at 9a038e3 its /health then fails (ratelimit.py tests
# `request_type in self.ratelimits` on False). Its AGGRESSIVE_RATE_LIMITS
# (user-login 10/min per IP and per email…) apply whatever the config says,
# so its user-login and mix runs count 429s and are not compared.
AZ_LIMITS = "ipaddr:10000000;user:10000000;session:10000000;apikey:10000000;burst:10000000"


def log(*a: object) -> None:
    print("side-by-side:", *a, file=sys.stderr, flush=True)


def target_dir() -> Path:
    return Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))


def build() -> tuple[Path, Path]:
    log("building release authnzd and authnzd-loadgen…")
    subprocess.run(
        ["cargo", "build", "--release", "-p", "authnzd", "-p", "authnzd-loadgen"],
        cwd=REPO,
        check=True,
    )
    rel = target_dir() / "release"
    return rel / "authnzd", rel / "authnzd-loadgen"


def wait_health(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{url} did not answer within {timeout:.0f} s")


def rss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def clean_env() -> dict[str, str]:
    # authnzd also reads authnzerver's variable names (drop-in); keep each
    # server's settings to itself.
    return {k: v for k, v in os.environ.items() if not k.startswith(("AUTHNZD_", "AUTHNZERVER_"))}


def answering(server: "Server", timeout: float = 60.0) -> "Server":
    """`server` once its /health answers; stopped if it never does."""
    try:
        wait_health(server.url + "health", server.proc, timeout)
    except BaseException:
        server.stop()
        raise
    return server


class Server:
    def __init__(self, label: str, backend: str, proc: subprocess.Popen, url: str, key_file: Path):
        self.label, self.backend, self.proc, self.url, self.key_file = label, backend, proc, url, key_file
        self.pids = [proc.pid]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_authnzd(binary: Path, workdir: Path, port: int, database_url: str, backend: str) -> Server:
    workdir.mkdir(parents=True, exist_ok=True)
    env = clean_env() | {
        "AUTHNZD_DATABASE_URL": database_url,
        "AUTHNZD_KEY_FILE": str(workdir / "authnzd.key"),
        "AUTHNZD_RATE_LIMITS": "none",
        "AUTHNZD_LOG_LEVEL": "warn",
        "AUTHNZD_PORT": str(port),
    }
    logf = open(workdir / "server.log", "w")
    proc = subprocess.Popen([str(binary), "serve"], cwd=workdir, env=env, stdout=logf, stderr=logf)
    url = f"http://127.0.0.1:{port}/"
    return answering(Server("authnzd", backend, proc, url, workdir / "authnzd.key"))


def start_authnzerver(spec: str, workdir: Path, port: int) -> Server:
    venv = Path(spec)
    if not (venv / "bin" / "python").exists():
        raise SystemExit(f"--authnzerver {spec}: expected a virtualenv with authnzerver installed")
    workdir.mkdir(parents=True, exist_ok=True)
    home = workdir / "home"
    # authnzerver downloads the public suffix list at start; there is no
    # network here, so give it a cached copy (Debian's, or a stub).
    cache = home / ".cache" / "authnzerver"
    cache.mkdir(parents=True, exist_ok=True)
    psl = Path("/usr/share/publicsuffix/public_suffix_list.dat")
    suffixes = [
        f".{line.strip()}"
        for line in (psl.read_text().splitlines() if psl.exists() else ["com", "org", "net"])
        if line.strip() and not line.startswith("//")
    ]
    (cache / "public-suffixes.txt").write_text("\n".join(suffixes) + "\n")
    db = workdir / "authdb.sqlite"
    setup = (
        "import os, sys, authnzerver\n"
        "from authnzerver.authdb import create_sqlite_authdb, initial_authdb_inserts\n"
        "from cryptography.fernet import Fernet\n"
        "db, key = sys.argv[1], sys.argv[2]\n"
        "create_sqlite_authdb(db, echo=False, returnconn=False)\n"
        "perm = os.path.join(os.path.dirname(authnzerver.__file__), 'default-permissions-model.json')\n"
        "initial_authdb_inserts('sqlite:///' + db, permissions_json=perm,\n"
        "                       superuser_email='admin@localhost', superuser_pass=None)\n"
        "fd = os.open(key, os.O_WRONLY | os.O_CREAT, 0o600)\n"
        "os.write(fd, Fernet.generate_key() + b'\\n')\n"
    )
    key_file = workdir / "authnzerver.key"
    subprocess.run([str(venv / "bin" / "python"), "-c", setup, str(db), str(key_file)], check=True,
                   env=clean_env() | {"HOME": str(home)}, capture_output=True)
    env = clean_env() | {
        "HOME": str(home),
        "AUTHNZERVER_SECRET": key_file.read_text().strip(),
        "AUTHNZERVER_PIISALT": os.urandom(16).hex(),
        "AUTHNZERVER_AUTHDB": f"sqlite:///{db}",
        "AUTHNZERVER_BASEDIR": str(workdir),
        "AUTHNZERVER_LISTEN": "127.0.0.1",
        "AUTHNZERVER_PORT": str(port),
        "AUTHNZERVER_WORKERS": "4",
        "AUTHNZERVER_RATELIMITS": AZ_LIMITS,
    }
    logf = open(workdir / "server.log", "w")
    proc = subprocess.Popen([str(venv / "bin" / "authnzrv"), f"--basedir={workdir}"], cwd=workdir,
                            env=env, stdout=logf, stderr=logf)
    url = f"http://127.0.0.1:{port}/"
    server = answering(Server("authnzerver", "SQLite", proc, url, key_file), timeout=120)
    # The main process and its worker processes share the work.
    server.pids = [proc.pid] + children(proc.pid)
    return server


def start_floor(workdir: Path, port: int) -> Server:
    """nginx answering `return 200` to everything: the floor."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        raise SystemExit("--floor needs nginx (apt-get install nginx-light)")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "nginx.conf").write_text(
        f"daemon off; master_process off; worker_processes 1;\n"
        f"pid {workdir}/nginx.pid; error_log {workdir}/error.log warn;\n"
        "events { worker_connections 1024; }\n"
        "http { access_log off; keepalive_requests 1000000;\n"
        f"  server {{ listen 127.0.0.1:{port}; location / {{ return 200 \"ok\"; }} }} }}\n")
    # The plain `health` scenario sends no envelope; any key will do.
    key_file = workdir / "any.key"
    key_file.write_text(base64.urlsafe_b64encode(os.urandom(32)).decode() + "\n")
    logf = open(workdir / "nginx.out", "w")
    proc = subprocess.Popen([nginx, "-p", str(workdir), "-c", str(workdir / "nginx.conf"),
                             "-e", str(workdir / "error.log")], stdout=logf, stderr=logf)
    url = f"http://127.0.0.1:{port}/"
    return answering(Server("nginx floor", "-", proc, url, key_file))


def loadgen(lg: Path, server: Server, scenario: str, c: int, out: Path, duration: str,
            extra: list[str] | None = None) -> dict:
    cmd = [str(lg), "--url", server.url, "--key-file", str(server.key_file), "--scenario", scenario,
           "--concurrency", str(c), "--duration", duration, "--warmup", "2s",
           "--server-pid", ",".join(map(str, server.pids)), "--json", str(out)] + (extra or [])
    if scenario in PREBUILD:
        # Sealed before the window (each used once, while fresh): more than
        # any run here sends, so encrypting costs the window nothing.
        cmd += ["--prebuild", str(PREBUILD[scenario])]
    log(f"{server.label} ({server.backend}) {scenario} c={c}")
    started = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        log(f"  failed: {done.stderr.strip()[-400:]}")
        return {"scenario": scenario, "concurrency": c, "failed": done.stderr.strip()[-200:]}
    report = json.loads(out.read_text())
    report["wall_s"] = time.monotonic() - started
    report["server"], report["backend"] = server.label, server.backend
    for line in done.stderr.splitlines():
        if line.startswith("seeded "):
            report["seeded"] = line
    log(f"  {report['throughput_rps']:.0f} req/s, p99 {report['latency_ms']['p99']:.2f} ms, "
        f"errors {report['errors_total']}")
    return report


def run_suite(lg: Path, server: Server, results: Path, duration: str, scenarios: list[str],
              concurrency: list[int]) -> list[dict]:
    rows = []
    for scenario in scenarios:
        for c in concurrency:
            out = results / f"{server.label}-{server.backend}-{scenario}-{c}.json"
            rows.append(loadgen(lg, server, scenario, c, out, duration))
    return rows


def fmt(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{x:,.{digits}f}"


def table(rows: list[dict]) -> str:
    head = ("| server | database | scenario | c | req/s | p50 ms | p99 ms | errors "
            "| loadgen µs/req | server µs/req | server RSS after MiB |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|\n")
    lines = []
    for r in rows:
        if "failed" in r:
            why = r["failed"].strip().splitlines()[-1][:80].replace("|", "/")
            lines.append(f"| {r.get('server', '?')} | {r.get('backend', '?')} | {r['scenario']} "
                         f"| {r['concurrency']} | failed: {why} |||||||")
            continue
        cpu, lat = r["cpu"], r["latency_ms"]
        rss = r["server_rss_kib"]["after"]
        lines.append(
            f"| {r['server']} | {r['backend']} | {r['scenario']} | {r['concurrency']} "
            f"| {fmt(r['throughput_rps'], 0)} | {fmt(lat['p50'], 2)} | {fmt(lat['p99'], 2)} "
            f"| {r['errors_total']} | {fmt(cpu['loadgen_us_per_request'])} "
            f"| {fmt(cpu['server_us_per_request'])} | {fmt(rss / 1024 if rss else None)} |")
    return head + "\n".join(lines) + "\n"


def find(rows: list[dict], server: str, backend: str, scenario: str, c: int) -> dict | None:
    for r in rows:
        if (r.get("server"), r.get("backend"), r["scenario"], r["concurrency"]) == (server, backend, scenario, c) \
                and "failed" not in r:
            return r
    return None


def summary(rows: list[dict], notes: list[str]) -> str:
    out = []
    out.append("Ratios only between runs without errors.")
    for c in CONCURRENCY:
        h, s = find(rows, "authnzd", "SQLite", "health", c), find(rows, "authnzd", "SQLite", "session-exists", c)
        if h and s:
            out.append(f"- authnzd session-exists at c={c}: {s['throughput_rps']:,.0f} req/s = "
                       f"{100 * s['throughput_rps'] / h['throughput_rps']:.0f} % of its /health rate "
                       f"({h['throughput_rps']:,.0f} req/s); p99 {s['latency_ms']['p99']:.2f} ms; "
                       f"load generator {s['cpu']['loadgen_us_per_request']:.1f} µs/req, server "
                       f"{fmt(s['cpu']['server_us_per_request'])} µs/req.")
    floor = {c: find(rows, "nginx floor", "-", "health", c) for c in CONCURRENCY}
    for c, f in floor.items():
        if not f:
            continue
        fus = f["cpu"]["server_us_per_request"]
        parts = []
        for scenario in ["health", "session-exists", "user-check-access"]:
            a = find(rows, "authnzd", "SQLite", scenario, c)
            if a and a["cpu"]["server_us_per_request"]:
                aus = a["cpu"]["server_us_per_request"]
                parts.append(f"{scenario} {aus:.1f} µs = {aus / fus:.1f}×")
        out.append(f"- Against the floor at c={c} (nginx `return 200`, {fus:.1f} µs of server CPU per "
                   f"request, {f['throughput_rps']:,.0f} req/s): authnzd " + "; ".join(parts) + ".")
    for scenario in ["session-exists", "user-check-access", "session-new"]:
        a = find(rows, "authnzd", "SQLite", scenario, 16)
        z = find(rows, "authnzerver", "SQLite", scenario, 16)
        if a and z and a["cpu"]["server_us_per_request"] and z["cpu"]["server_us_per_request"]:
            aus, zus = a["cpu"]["server_us_per_request"], z["cpu"]["server_us_per_request"]
            out.append(f"- {scenario} at c=16, server CPU per request: authnzd {aus:.1f} µs, authnzerver "
                       f"{zus:,.0f} µs = {zus / aus:.0f}× less.")
    for scenario in SCENARIOS:
        a = find(rows, "authnzd", "SQLite", scenario, 16)
        z = find(rows, "authnzerver", "SQLite", scenario, 16)
        if a and z and z["throughput_rps"] > 0:
            if a["errors_total"] or z["errors_total"]:
                out.append(f"- {scenario} at c=16: not compared (errors: authnzd {a['errors_total']}, "
                           f"authnzerver {z['errors_total']}).")
                continue
            out.append(f"- {scenario} at c=16: authnzd {a['throughput_rps']:,.0f} req/s vs authnzerver "
                       f"{z['throughput_rps']:,.0f} req/s = {a['throughput_rps'] / z['throughput_rps']:.3g}×.")
    return "\n".join(out + notes) + "\n"


def write_benchmarks(text: str) -> None:
    path = REPO / "BENCHMARKS.md"
    doc = path.read_text()
    block = f"{BEGIN}\n{text}{END}"
    if BEGIN in doc and END in doc:
        doc = doc[: doc.index(BEGIN)] + block + doc[doc.index(END) + len(END):]
    else:
        doc = doc.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(doc)
    log(f"wrote {path}")


def psql(*sql: str) -> None:
    for s in sql:
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c", s], check=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--authnzerver", help="authnzerver virtualenv to compare with")
    p.add_argument("--floor", action="store_true",
                   help="first run nginx `return 200` (the floor) under the same load generator")
    p.add_argument("--postgres", action="store_true",
                   help="also run authnzd on PostgreSQL at 127.0.0.1:5432 (user postgres, scratch database)")
    p.add_argument("--million", action="store_true",
                   help="also compare session-exists p50 with 1,000 and 1,000,000 live sessions")
    p.add_argument("--skip-suite", action="store_true",
                   help="skip authnzd's SQLite scenario runs (e.g. to rerun only --million)")
    p.add_argument("--duration", default="10s", help="measured time per run (default 10s)")
    p.add_argument("--no-build", action="store_true", help="use the release binaries already built")
    p.add_argument("--no-write", action="store_true", help="print the table, leave BENCHMARKS.md alone")
    a = p.parse_args()

    if a.no_build:
        rel = target_dir() / "release"
        authnzd, lg = rel / "authnzd", rel / "authnzd-loadgen"
    else:
        authnzd, lg = build()
    tmp = Path(tempfile.mkdtemp(prefix="side-by-side-"))
    results = tmp / "results"
    results.mkdir()
    rows: list[dict] = []
    notes: list[str] = []
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = os.getloadavg()
    servers: list[Server] = []
    try:
        if a.floor:
            f = start_floor(tmp / "floor", 13559)
            servers.append(f)
            rows += run_suite(lg, f, results, a.duration, ["health"], CONCURRENCY)
            f.stop()
        az = start_authnzd(authnzd, tmp / "authnzd", 13560, f"sqlite:///{tmp}/authnzd/authnzd.sqlite",
                           "SQLite")
        servers.append(az)
        time.sleep(1)
        notes.append(f"- authnzd idle RSS: {rss_kib(az.pids) / 1024:.1f} MiB.")
        if not a.skip_suite:
            rows += run_suite(lg, az, results, a.duration, SCENARIOS, CONCURRENCY)
            notes.append(f"- authnzd RSS after the SQLite runs: {rss_kib(az.pids) / 1024:.1f} MiB.")
        if a.million:
            rows += million(lg, az, results, tmp, notes)
        az.stop()

        if a.authnzerver:
            z = start_authnzerver(a.authnzerver, tmp / "authnzerver", 13561)
            servers.append(z)
            notes.append(f"- authnzerver idle RSS (main + {len(z.pids) - 1} workers): "
                         f"{rss_kib(z.pids) / 1024:.1f} MiB.")
            rows += run_suite(lg, z, results, a.duration, SCENARIOS, [16])
            z.stop()

        if a.postgres:
            db = f"authnzd_bench_{os.getpid()}"
            psql(f"CREATE DATABASE {db}")
            try:
                pg = start_authnzd(authnzd, tmp / "authnzd-pg", 13562,
                                   f"postgres://postgres@127.0.0.1:5432/{db}", "PostgreSQL")
                servers.append(pg)
                rows += run_suite(lg, pg, results, a.duration,
                                  ["health", "session-exists", "user-check-access", "session-new", "mix"], [32])
                pg.stop()
            finally:
                psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    finally:
        for s in servers:
            s.stop()

    load_after = os.getloadavg()
    header = (f"Run {started} by `clients/loadgen/side-by-side.py "
              f"{' '.join(sys.argv[1:])}`, {a.duration} per run after 2 s warm-up; load average "
              f"{load[0]:.2f} before, {load_after[0]:.2f} after. CPU per request from getrusage "
              f"(load generator) and /proc/PID/stat (server; authnzerver's main process and workers "
              f"summed).\n\n")
    text = header + table(rows) + "\n" + summary(rows, notes)
    (results / "rows.json").write_text(json.dumps(rows, indent=1))
    print(text)
    if not a.no_write:
        write_benchmarks(text)
    shutil.rmtree(tmp, ignore_errors=True)


def million(lg: Path, server: Server, results: Path, tmp: Path, notes: list[str]) -> list[dict]:
    """session-exists over 1 k, then 1 M live sessions, on the same server:
    closed loop at c=32 (throughput-bound) and open loop at a fixed rate
    (latency), and 1 k sessions looked up among the million (a hot set in
    a big table)."""
    rows: dict[str, dict] = {}

    def run(key: str, n: int, pool: Path, label: str, extra: list[str]) -> None:
        out = results / f"million-{key}.json"
        started = time.monotonic()
        r = loadgen(lg, server, "session-exists", 32, out, "10s",
                    ["--sessions", str(n), "--sessions-file", str(pool)] + extra)
        r["scenario"] = f"session-exists, {label}"
        if "seeded" in r:
            notes.append(f"- {n:,} sessions {r['seeded'].removeprefix('seeded ').split(' sessions ')[1]} "
                         f"(session-new at c=32, total run {time.monotonic() - started:.0f} s).")
        rows[key] = r

    small, big = tmp / "sessions-1000.txt", tmp / "sessions-1000000.txt"
    rate = ["--rate", str(RATE)]
    run("1k", 1000, small, "1,000 sessions", [])
    # Open loop: latency counted from each request's due time, which tokio's
    # 1 ms timer makes late by up to a millisecond, the same in both cases.
    run("1k-rate", 1000, small, f"1,000 sessions, open loop {RATE:,}/s (timer slack included)", rate)
    run("1m", 1_000_000, big, "1,000,000 sessions, each looked up once", [])
    run("1m-rate", 1_000_000, big, f"1,000,000 sessions, open loop {RATE:,}/s (timer slack included)", rate)
    # The first 1,000 of the million: a hot set the cache holds, in a big table.
    run("1k-of-1m", 1000, big, "1,000 of the 1,000,000 sessions", [])
    wal = tmp / "authnzd" / "authnzd.sqlite-wal"
    if wal.exists():
        notes.append(f"- SQLite WAL after the million-session runs: {wal.stat().st_size / 2**20:.0f} MiB.")

    def ratio(a: str, b: str, what: str) -> None:
        x, y = rows[a], rows[b]
        if "failed" in x or "failed" in y:
            return
        notes.append(f"- session-exists p50, {what}: {y['latency_ms']['p50']:.2f} ms vs "
                     f"{x['latency_ms']['p50']:.2f} ms with 1,000 sessions "
                     f"({y['latency_ms']['p50'] / x['latency_ms']['p50']:.2f}×); server "
                     f"{fmt(y['cpu']['server_us_per_request'])} vs {fmt(x['cpu']['server_us_per_request'])} "
                     f"µs/req, RSS after {fmt(y['server_rss_kib']['after'] / 1024)} MiB.")

    ratio("1k", "1m", "1,000,000 sessions each looked up once (every lookup misses the cache), c=32")
    ratio("1k-rate", "1m-rate", f"1,000,000 sessions each looked up once, open loop {RATE:,}/s "
          "(up to 1 ms of timer slack in both)")
    ratio("1k", "1k-of-1m", "1,000 sessions among 1,000,000, c=32")
    return list(rows.values())


if __name__ == "__main__":
    main()
