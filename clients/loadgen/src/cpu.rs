//! CPU time of the load generator (getrusage) and of the server
//! (/proc/PID/stat), sampled around the measured window, so the report can
//! say which of the two was the limit.

use std::time::Duration;

use anyhow::{Context, anyhow, bail};

/// User + system CPU of this process, all threads.
pub fn own() -> anyhow::Result<Duration> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage only writes the struct it is given.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    if rc != 0 {
        bail!("getrusage: {}", std::io::Error::last_os_error());
    }
    // SAFETY: rc == 0, so the kernel filled it in.
    let usage = unsafe { usage.assume_init() };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    Ok(tv(usage.ru_utime) + tv(usage.ru_stime))
}

/// User + system CPU of process `pid` (utime + stime from /proc/PID/stat).
pub fn of(pid: u32) -> anyhow::Result<Duration> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).with_context(|| path.clone())?;
    let ticks = stat_ticks(&stat).ok_or_else(|| anyhow!("{path}: unexpected format"))?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz <= 0 {
        bail!("sysconf(_SC_CLK_TCK) failed");
    }
    Ok(Duration::from_secs_f64(ticks as f64 / hz as f64))
}

/// utime + stime in clock ticks. Fields 14 and 15 of stat(5), counted
/// after the command name, which is in parentheses and may hold spaces.
fn stat_ticks(stat: &str) -> Option<u64> {
    let after = &stat[stat.rfind(')')? + 1..];
    let mut fields = after.split_ascii_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Resident set size of `pid` in KiB (VmRSS from /proc/PID/status).
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| path.clone())?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow!("{path}: no VmRSS"))
}

/// One reading of both processes.
#[derive(Clone, Copy)]
pub struct Sample {
    own: Duration,
    server: Option<Duration>,
}

/// `server` is empty when no server process is watched; its processes'
/// CPU is summed.
pub fn sample(server: &[u32]) -> anyhow::Result<Sample> {
    let mut total = Duration::ZERO;
    for &pid in server {
        total += of(pid)?;
    }
    Ok(Sample {
        own: own()?,
        server: (!server.is_empty()).then_some(total),
    })
}

/// Summed RSS of the server's processes (KiB), None when none is watched.
pub fn total_rss_kib(server: &[u32]) -> anyhow::Result<Option<u64>> {
    if server.is_empty() {
        return Ok(None);
    }
    server
        .iter()
        .map(|&p| rss_kib(p))
        .sum::<anyhow::Result<u64>>()
        .map(Some)
}

/// CPU spent between two samples.
pub struct Spent {
    pub own: Duration,
    pub server: Option<Duration>,
}

impl Sample {
    pub fn since(self, before: Sample) -> Spent {
        Spent {
            own: self.own.saturating_sub(before.own),
            server: self
                .server
                .zip(before.server)
                .map(|(a, b)| a.saturating_sub(b)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_with_odd_command_names_parse() {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt
        // majflt cmajflt utime stime …
        let line = "42 (a b) c) S 1 42 42 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 3 0";
        assert_eq!(stat_ticks(line), Some(325));
        assert_eq!(stat_ticks("garbage"), None);
    }

    #[test]
    fn this_process_is_readable_both_ways() {
        let spin = std::time::Instant::now();
        while spin.elapsed() < Duration::from_millis(30) {
            std::hint::black_box(spin.elapsed());
        }
        assert!(own().unwrap() > Duration::ZERO);
        assert!(of(std::process::id()).is_ok());
        assert!(rss_kib(std::process::id()).unwrap() > 0);
    }
}
