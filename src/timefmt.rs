//! Datetimes on the wire: ISO 8601 in (naive, `Z` or an offset), and out in
//! authnzerver's form by default — naive UTC as Python's
//! `datetime.isoformat()` writes it (`2026-12-01T11:37:03.123456`, the
//! fraction left out when it is zero) — or RFC 3339 with `+00:00` when
//! `datetime_format = "rfc3339"`. The database holds naive UTC. This is the
//! only place datetimes are formatted for answers.

use std::future::Future;

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Timelike, Utc};
use serde::{Deserialize, Serialize};

/// How answers spell datetimes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatetimeFormat {
    /// authnzerver's: naive UTC, `datetime.isoformat()`.
    #[default]
    Naive,
    /// RFC 3339 with an explicit `+00:00`.
    Rfc3339,
}

tokio::task_local! {
    static FORMAT: DatetimeFormat;
}

/// Runs `fut` with answers' datetimes spelt as `format` (the dispatcher
/// wraps each action in it; outside one, the default applies).
pub async fn scope<F: Future>(format: DatetimeFormat, fut: F) -> F::Output {
    FORMAT.scope(format, fut).await
}

fn current() -> DatetimeFormat {
    FORMAT.try_with(|f| *f).unwrap_or_default()
}

/// Parses ISO 8601 with or without fractional seconds, with `Z`, an offset,
/// or nothing (taken as UTC, as authnzerver's clients send it).
pub fn parse(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.with_timezone(&Utc).naive_utc());
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
}

/// A datetime for an answer, in the format in force.
pub fn format(dt: NaiveDateTime) -> String {
    format_as(current(), dt)
}

/// A datetime in the given format; microsecond precision, as Python's.
pub fn format_as(format: DatetimeFormat, dt: NaiveDateTime) -> String {
    let dt = dt
        .with_nanosecond(dt.nanosecond() / 1000 * 1000)
        .unwrap_or(dt);
    match format {
        DatetimeFormat::Naive if dt.nanosecond() == 0 => dt.format("%Y-%m-%dT%H:%M:%S").to_string(),
        DatetimeFormat::Naive => dt.format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
        DatetimeFormat::Rfc3339 => dt.and_utc().to_rfc3339_opts(SecondsFormat::Micros, false),
    }
}

pub fn format_opt(dt: Option<NaiveDateTime>) -> serde_json::Value {
    dt.map(format)
        .map_or(serde_json::Value::Null, serde_json::Value::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_iso_shapes_clients_send() {
        let want = parse("2030-01-02T03:04:05").unwrap();
        for s in [
            "2030-01-02T03:04:05",
            "2030-01-02T03:04:05.000",
            "2030-01-02T03:04:05Z",
            "2030-01-02T03:04:05.000000Z",
            "2030-01-02T04:04:05+01:00",
            "2030-01-02T03:04:05+00:00",
            "2030-01-02 03:04:05",
        ] {
            assert_eq!(parse(s), Some(want), "{s}");
        }
        assert_eq!(parse("yesterday"), None);
        assert_eq!(parse("2030-13-02T03:04:05"), None);
    }

    #[test]
    fn formats_naive_utc_as_python_isoformat_by_default() {
        let dt = parse("2030-01-02T03:04:05.5Z").unwrap();
        assert_eq!(format(dt), "2030-01-02T03:04:05.500000");
        let whole = parse("2030-01-02T03:04:05Z").unwrap();
        assert_eq!(format(whole), "2030-01-02T03:04:05");
        let fine = parse("2030-01-02T03:04:05.123456789").unwrap();
        assert_eq!(format(fine), "2030-01-02T03:04:05.123456");
        assert_eq!(parse(&format(fine)), parse("2030-01-02T03:04:05.123456"));
    }

    #[tokio::test]
    async fn formats_rfc3339_inside_its_scope_only() {
        let dt = parse("2030-01-02T03:04:05.5Z").unwrap();
        let inside = scope(DatetimeFormat::Rfc3339, async { format(dt) }).await;
        assert_eq!(inside, "2030-01-02T03:04:05.500000+00:00");
        assert_eq!(format(dt), "2030-01-02T03:04:05.500000");
    }
}
