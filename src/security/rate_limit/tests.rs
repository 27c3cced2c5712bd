use super::*;
use crate::clock::ManualClock;

fn limits(spec: &str) -> Limits {
    Limits::parse(spec, |n| {
        n.starts_with("user-") || n.starts_with("session-")
    })
    .unwrap()
    .unwrap()
}

#[test]
fn parses_authnzerver_strings() {
    let l = limits("ipaddr:720; user:480; session:600; apikey:720; burst:150; user-login:3");
    assert_eq!(l.groups["user"], 480);
    assert_eq!(l.actions["user-login"], 3);
    assert!(Limits::parse("none", |_| true).unwrap().is_none());
    assert_eq!(
        Limits::parse("nonsense:3", |_| false).unwrap_err(),
        LimitConfigError::UnknownName("nonsense".into())
    );
    assert!(Limits::parse("user", |_| false).is_err());
    assert!(Limits::parse("user:0", |_| false).is_err());
}

#[test]
fn the_n_plus_first_is_refused_until_the_window_passes() {
    let clock = ManualClock::new();
    let rl = RateLimits::new(&limits("user-login:3"), clock.clone());
    for _ in 0..3 {
        assert!(rl.check("user-login", "203.0.113.9", None).is_ok());
    }
    let refused = rl.check("user-login", "203.0.113.9", None).unwrap_err();
    assert!(refused.retry_after > Duration::ZERO);
    assert!(
        rl.check("user-login", "203.0.113.10", None).is_ok(),
        "other IPs unaffected"
    );
    clock.advance(chrono::Duration::seconds(61));
    assert!(rl.check("user-login", "203.0.113.9", None).is_ok());
}

/// authnzerver's own rate-limit test (test_server_ratelimits.py): 300
/// requests of each kind from one address over a few seconds admit
/// exactly what authnzerver admits.
#[test]
fn authnzerver_ratelimits_admit_what_authnzerver_admits() {
    let clock = ManualClock::new();
    let spec = "ipaddr:300;user:360;session:120;apikey:720;burst:150;user-list:10";
    let rl = RateLimits::new(&limits(spec), clock.clone());
    for (request, admitted) in [("session-new", 150), ("user-list", 10), ("user-new", 5)] {
        let mut passed = 0;
        for _ in 0..300 {
            clock.advance(chrono::Duration::milliseconds(10));
            passed += usize::from(rl.check(request, "1.1.1.1", None).is_ok());
        }
        assert_eq!(passed, admitted, "{request}");
    }
}

#[test]
fn ipv6_clients_share_their_64() {
    assert_eq!(ip_key("2001:db8:1:2::1"), ip_key("2001:db8:1:2:ffff::9"));
    assert_ne!(ip_key("2001:db8:1:2::1"), ip_key("2001:db8:1:3::1"));
    assert_eq!(ip_key("::ffff:192.0.2.1"), ip_key("192.0.2.1"));
}

/// A million distinct client addresses within a minute: with the sweep
/// running every 5 s, the limiter never holds more than the last few
/// seconds' worth of keys.
#[test]
fn a_flood_of_a_million_addresses_stays_bounded() {
    let clock = ManualClock::new();
    let rl = RateLimits::new(&limits("ipaddr:720; burst:150"), clock.clone());
    let mut peak = 0;
    // 1,000,000 addresses over 50 s (20,000/s), swept every 5 s.
    for second in 0..50u32 {
        for i in 0..20_000u32 {
            let ip = std::net::Ipv4Addr::from(0x0b00_0000 + second * 20_000 + i).to_string();
            assert!(rl.check("echo", &ip, None).is_ok());
        }
        clock.advance(chrono::Duration::seconds(1));
        if second % 5 == 4 {
            peak = peak.max(rl.keys());
            rl.sweep();
        }
    }
    eprintln!("peak keys held: {peak}");
    assert!(peak <= 100_000, "peak {peak}");
    rl.sweep();
    assert_eq!(rl.keys(), 0);
}

#[test]
fn sweeping_forgets_replenished_keys() {
    let clock = ManualClock::new();
    let rl = RateLimits::new(&limits("ipaddr:720"), clock.clone());
    for i in 0..10_000u32 {
        let ip = std::net::Ipv4Addr::from(0x0a00_0000 + i).to_string();
        let _ = rl.check("echo", &ip, None);
    }
    assert_eq!(rl.keys(), 10_000);
    clock.advance(chrono::Duration::seconds(1));
    rl.sweep();
    assert_eq!(rl.keys(), 0);
}
