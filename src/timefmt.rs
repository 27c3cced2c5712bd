//! Datetimes on the wire: ISO 8601 in, ISO 8601 UTC out. The database holds
//! naive UTC.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};

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

/// `2026-11-22T10:00:00.123456+00:00`: Python's `datetime.fromisoformat`
/// reads it on every version authnzerver's frontends run.
pub fn format(dt: NaiveDateTime) -> String {
    dt.and_utc().to_rfc3339_opts(SecondsFormat::Micros, false)
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
            "2030-01-02 03:04:05",
        ] {
            assert_eq!(parse(s), Some(want), "{s}");
        }
        assert_eq!(parse("yesterday"), None);
        assert_eq!(parse("2030-13-02T03:04:05"), None);
    }

    #[test]
    fn formats_utc_with_offset() {
        let dt = parse("2030-01-02T03:04:05.5Z").unwrap();
        assert_eq!(format(dt), "2030-01-02T03:04:05.500000+00:00");
    }
}
