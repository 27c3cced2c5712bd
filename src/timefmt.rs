//! Datetimes on the wire: ISO 8601 in (naive, `Z` or an offset), and out in
//! authnzerver's form by default — naive UTC as Python's
//! `datetime.isoformat()` writes it (`2026-12-01T11:37:03.123456`, the
//! fraction left out when it is zero) — or RFC 3339 with `+00:00` when
//! `datetime_format = "rfc3339"`. The database holds naive UTC. This is the
//! only place datetimes are formatted for answers.

use std::future::Future;

use chrono::{DateTime, Datelike, NaiveDateTime, SecondsFormat, Timelike, Utc};
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
    stamp(dt).to_string()
}

/// A datetime in the given format; microsecond precision, as Python's.
pub fn format_as(format: DatetimeFormat, dt: NaiveDateTime) -> String {
    Stamp { dt, format }.to_string()
}

pub fn format_opt(dt: Option<NaiveDateTime>) -> serde_json::Value {
    dt.map(format)
        .map_or(serde_json::Value::Null, serde_json::Value::from)
}

/// A datetime for an answer in the format in force, written (and serialised
/// as a JSON string) without an intermediate `String`: typed answers on hot
/// paths hold these.
pub fn stamp(dt: NaiveDateTime) -> Stamp {
    Stamp {
        dt,
        format: current(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    dt: NaiveDateTime,
    format: DatetimeFormat,
}

impl std::fmt::Display for Stamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dt = self.dt;
        let micros = dt.nanosecond() / 1000;
        // Years outside 0–9999 (chrono writes them with a sign) and leap
        // seconds (Python has neither) go through chrono as before; the rest
        // is written digit by digit, as strftime's parsing of its format
        // string showed in profiles.
        if !(0..=9999).contains(&dt.year()) || dt.nanosecond() >= 1_000_000_000 {
            let dt = dt.with_nanosecond(micros * 1000).unwrap_or(dt);
            return match self.format {
                DatetimeFormat::Naive if micros == 0 => {
                    write!(f, "{}", dt.format("%Y-%m-%dT%H:%M:%S"))
                }
                DatetimeFormat::Naive => write!(f, "{}", dt.format("%Y-%m-%dT%H:%M:%S%.6f")),
                DatetimeFormat::Rfc3339 => {
                    f.write_str(&dt.and_utc().to_rfc3339_opts(SecondsFormat::Micros, false))
                }
            };
        }
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            dt.year(),
            dt.month(),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second()
        )?;
        match self.format {
            DatetimeFormat::Naive if micros == 0 => Ok(()),
            DatetimeFormat::Naive => write!(f, ".{micros:06}"),
            DatetimeFormat::Rfc3339 => write!(f, ".{micros:06}+00:00"),
        }
    }
}

impl Serialize for Stamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Written whole into a buffer on the stack, then as one string
        // (`collect_str` escapes each formatted piece on its own).
        let mut buf = StackText::default();
        if std::fmt::Write::write_fmt(&mut buf, format_args!("{self}")).is_ok()
            && let Ok(text) = std::str::from_utf8(&buf.bytes[..buf.len])
        {
            return s.serialize_str(text);
        }
        s.collect_str(self)
    }
}

/// Room for any datetime `Stamp` writes in its fast path (32 bytes);
/// longer text (chrono's signed years) fails the write and takes
/// `collect_str` instead.
#[derive(Default)]
struct StackText {
    bytes: [u8; 32],
    len: usize,
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let room = self.bytes.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        room.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
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

    /// What answers wrote before `Stamp`: chrono's formatting.
    fn chrono_format(format: DatetimeFormat, dt: NaiveDateTime) -> String {
        let dt = dt
            .with_nanosecond(dt.nanosecond() / 1000 * 1000)
            .unwrap_or(dt);
        match format {
            DatetimeFormat::Naive if dt.nanosecond() == 0 => {
                dt.format("%Y-%m-%dT%H:%M:%S").to_string()
            }
            DatetimeFormat::Naive => dt.format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
            DatetimeFormat::Rfc3339 => dt.and_utc().to_rfc3339_opts(SecondsFormat::Micros, false),
        }
    }

    proptest::proptest! {
        #[test]
        fn stamps_spell_datetimes_as_chrono_did(
            secs in -400_000_000_000i64..400_000_000_000i64,
            nanos in 0u32..2_000_000_000,
            whole in proptest::bool::ANY,
        ) {
            let nanos = if whole { 0 } else { nanos };
            let Some(dt) = DateTime::from_timestamp(secs, nanos % 1_000_000_000) else {
                return Ok(());
            };
            // A leap second, where chrono allows one.
            let dt = dt.naive_utc();
            let dt = if nanos >= 1_000_000_000 {
                dt.with_nanosecond(nanos).unwrap_or(dt)
            } else {
                dt
            };
            for format in [DatetimeFormat::Naive, DatetimeFormat::Rfc3339] {
                let ours = format_as(format, dt);
                proptest::prop_assert_eq!(&ours, &chrono_format(format, dt));
                let json = serde_json::to_string(&Stamp { dt, format }).unwrap();
                proptest::prop_assert_eq!(json, format!("\"{ours}\""));
            }
        }
    }
}
