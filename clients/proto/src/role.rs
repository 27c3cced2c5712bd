//! The five roles of authnzerver's permission model.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Superuser,
    Staff,
    Authenticated,
    Anonymous,
    /// Unverified sign-ups and accounts locked by an admin.
    Locked,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Superuser,
        Role::Staff,
        Role::Authenticated,
        Role::Anonymous,
        Role::Locked,
    ];

    /// The name stored in the users table and sent on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Superuser => "superuser",
            Role::Staff => "staff",
            Role::Authenticated => "authenticated",
            Role::Anonymous => "anonymous",
            Role::Locked => "locked",
        }
    }

    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<Role> for String {
    fn from(r: Role) -> String {
        r.as_str().to_owned()
    }
}

/// `user.user_role == Role::Locked`, for rows that hold the name.
impl PartialEq<Role> for String {
    fn eq(&self, r: &Role) -> bool {
        self == r.as_str()
    }
}

impl PartialEq<Role> for str {
    fn eq(&self, r: &Role) -> bool {
        self == r.as_str()
    }
}

impl Serialize for Role {
    fn serialize<S: Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        out.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Role {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Role, D::Error> {
        let name = String::deserialize(d)?;
        Role::parse(&name).ok_or_else(|| serde::de::Error::custom(format!("unknown role {name:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
            let stored: String = r.into();
            assert!(stored == r);
        }
        assert_eq!(Role::parse("root"), None);
    }
}
