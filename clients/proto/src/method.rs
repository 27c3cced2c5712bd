//! How a user proved who they are: the `amr` values (RFC 8176 names where
//! one exists) that sessions record and that `session-exists`, the
//! forward-auth gateway and access tokens expose.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// A password.
    Pwd,
    /// A TOTP code from an authenticator app.
    Otp,
    /// A recovery code (in place of a TOTP code).
    Recovery,
    /// A one-time code or link sent by email.
    Email,
    /// A one-time code sent by SMS.
    Sms,
    /// An Ed25519 device key (authnzd's app).
    DeviceKey,
    /// A WebAuthn passkey.
    Passkey,
    /// Several factors at once (RFC 8176 `mfa`): a passkey that verified
    /// its user (a PIN, a biometric), or one after a first factor.
    Mfa,
}

impl Method {
    pub const ALL: [Method; 8] = [
        Method::Pwd,
        Method::Otp,
        Method::Recovery,
        Method::Email,
        Method::Sms,
        Method::DeviceKey,
        Method::Passkey,
        Method::Mfa,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Pwd => "pwd",
            Method::Otp => "otp",
            Method::Recovery => "recovery",
            Method::Email => "email",
            Method::Sms => "sms",
            Method::DeviceKey => "device_key",
            Method::Passkey => "passkey",
            Method::Mfa => "mfa",
        }
    }

    pub fn parse(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.as_str() == name)
    }

    /// Whether this method is a second factor on top of a first one.
    pub const fn is_second_factor(self) -> bool {
        matches!(self, Method::Otp | Method::Recovery | Method::Mfa)
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Method {
    fn serialize<S: Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        out.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Method {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Method, D::Error> {
        let s = String::deserialize(d)?;
        Method::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown method {s:?}")))
    }
}

/// The methods of one sign-in, in the order they were used, as sessions
/// store them: space-separated (`"pwd otp"`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Amr(Vec<Method>);

impl Amr {
    pub fn new(methods: impl IntoIterator<Item = Method>) -> Amr {
        let mut v: Vec<Method> = Vec::new();
        for m in methods {
            if !v.contains(&m) {
                v.push(m);
            }
        }
        Amr(v)
    }

    pub fn methods(&self) -> &[Method] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The stored form; unknown names (from a newer server) are dropped.
    pub fn parse(stored: &str) -> Amr {
        Amr::new(stored.split_whitespace().filter_map(Method::parse))
    }

    /// The stored form: names separated by one space.
    pub fn stored(&self) -> String {
        let names: Vec<&str> = self.0.iter().map(|m| m.as_str()).collect();
        names.join(" ")
    }

    /// With one more method.
    pub fn and(mut self, m: Method) -> Amr {
        if !self.0.contains(&m) {
            self.0.push(m);
        }
        self
    }
}

impl Serialize for Amr {
    fn serialize<S: Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(out)
    }
}

impl<'de> Deserialize<'de> for Amr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Amr, D::Error> {
        Ok(Amr::new(Vec::<Method>::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_form_round_trips_and_drops_unknown_names() {
        let a = Amr::new([Method::Pwd, Method::Otp, Method::Pwd]);
        assert_eq!(a.stored(), "pwd otp");
        assert_eq!(Amr::parse("pwd  otp future_thing"), a);
        assert_eq!(Amr::parse(""), Amr::default());
        assert_eq!(serde_json::to_string(&a).unwrap(), r#"["pwd","otp"]"#);
        for m in Method::ALL {
            assert_eq!(Method::parse(m.as_str()), Some(m));
        }
    }
}
