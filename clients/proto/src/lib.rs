//! The wire types of authnzd, shared by the server and the Rust client: one
//! definition per request type (name, parameter struct, answer struct,
//! rate-limit group, one-line doc). The server's dispatch table and
//! parameter checks and the client's typed calls all come from here.

pub mod answers;
mod method;
mod refusal;
pub mod requests;
mod role;
mod secret;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use method::{Amr, Method};
pub use refusal::Refusal;
pub use requests::*;
pub use role::Role;
pub use secret::Secret;

/// A JSON type a parameter accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Ty {
    Str,
    /// An integer; unlike authnzerver, `true`/`false` are not integers.
    Int,
    /// Any JSON number.
    Float,
    Bool,
    Dict,
    List,
    /// JSON `null` (authnzerver accepted anything where `None` was listed).
    Null,
    /// Anything but `null`.
    Any,
}

impl Ty {
    /// authnzerver's name of the type, as `problems` report it.
    pub fn name(self) -> &'static str {
        match self {
            Ty::Str => "str",
            Ty::Int => "int",
            Ty::Float => "float",
            Ty::Bool => "bool",
            Ty::Dict => "dict",
            Ty::List => "list",
            Ty::Null => "None",
            Ty::Any => "Any",
        }
    }

    /// Whether `v` has this type.
    pub fn accepts(self, v: &serde_json::Value) -> bool {
        match self {
            Ty::Str => v.is_string(),
            Ty::Int => v.is_i64() || v.is_u64(),
            Ty::Float => v.is_number(),
            Ty::Bool => v.is_boolean(),
            Ty::Dict => v.is_object(),
            Ty::List => v.is_array(),
            Ty::Null => v.is_null(),
            Ty::Any => !v.is_null(),
        }
    }
}

/// One parameter of a request.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Param {
    pub name: &'static str,
    pub types: &'static [Ty],
    pub required: bool,
}

/// The rate-limit group a request counts against (authnzerver's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Group {
    Ipaddr,
    User,
    Session,
    Apikey,
    Internal,
    /// Public-key (device key) registration and login.
    Pubkey,
    /// Access and refresh tokens.
    Token,
}

impl Group {
    pub const ALL: [Group; 7] = [
        Group::Ipaddr,
        Group::User,
        Group::Session,
        Group::Apikey,
        Group::Internal,
        Group::Pubkey,
        Group::Token,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Group::Ipaddr => "ipaddr",
            Group::User => "user",
            Group::Session => "session",
            Group::Apikey => "apikey",
            Group::Internal => "internal",
            Group::Pubkey => "pubkey",
            Group::Token => "token",
        }
    }
}

/// A request type, as the catalogue lists it.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Spec {
    pub name: &'static str,
    pub group: Group,
    /// One line (as written after `///`, so with a leading space).
    #[serde(serialize_with = "trimmed")]
    pub doc: &'static str,
    pub params: &'static [Param],
}

fn trimmed<S: serde::Serializer>(s: &&'static str, out: S) -> Result<S::Ok, S::Error> {
    out.serialize_str(s.trim())
}

/// A request's parameter struct, tied to its name and answer.
pub trait Request: Serialize + DeserializeOwned + Send + 'static {
    const SPEC: Spec;
    /// What a successful answer holds.
    type Answer: DeserializeOwned;
}

/// Every request type, in catalogue order.
pub fn catalogue() -> &'static [Spec] {
    requests::CATALOGUE
}

/// The request named `name`.
pub fn spec(name: &str) -> Option<&'static Spec> {
    requests::CATALOGUE.iter().find(|s| s.name == name)
}

/// Declares the request types: for each, the parameter struct, its
/// `Request` impl and its catalogue entry.
///
/// ```text
/// /// One-line doc.
/// StructName = "wire-name", Group, AnswerType {
///     /// Field doc.
///     field: Type = req[Str, Null],
///     field_that_is_a_keyword as "match": Type = opt[Any],
/// }
/// ```
#[macro_export]
macro_rules! requests {
    ($(
        #[doc = $doc:literal]
        $name:ident = $wire:literal, $group:ident, $answer:ty {
            $(
                $(#[$fmeta:meta])*
                $field:ident $(as $fwire:literal)? : $fty:ty = $kind:ident [$($t:ident),*]
            ),* $(,)?
        }
    )*) => {
        $(
            $crate::__request_struct!(
                [$doc] $name {}
                $( [$(#[$fmeta])*] $field [$($fwire)?] : $fty = $kind ; )*
            );

            impl $crate::Request for $name {
                const SPEC: $crate::Spec = $crate::Spec {
                    name: $wire,
                    group: $crate::Group::$group,
                    doc: $doc,
                    params: &[$(
                        $crate::Param {
                            name: $crate::__wire_name!($field $($fwire)?),
                            types: &[$($crate::Ty::$t),*],
                            required: $crate::__required!($kind),
                        },
                    )*],
                };
                type Answer = $answer;
            }
        )*

        /// Every request type, in catalogue order.
        pub static CATALOGUE: &[$crate::Spec] = &[$(<$name as $crate::Request>::SPEC),*];

        $crate::__for_each_request! { ($) $( [$doc] $name = $wire, $group, $answer; )* }

        /// Deserialises `body` into the parameter struct of request `name`
        /// (`None`: no such request), as the server does once `body` has
        /// passed the type checks; for fuzzing and tests.
        pub fn decode(name: &str, body: serde_json::Value) -> Option<Result<(), serde_json::Error>> {
            match name {
                $( $wire => Some(serde_json::from_value::<$name>(body).map(|_| ())), )*
                _ => None,
            }
        }
    };
}

/// Defines `for_each_request!` over the catalogue; `$d` is a `$`, which a
/// macro cannot write into the macro it defines any other way.
#[doc(hidden)]
#[macro_export]
macro_rules! __for_each_request {
    (($d:tt) $($list:tt)*) => {
        /// Calls the macro `callback` (a name in scope) with every request
        /// type, in catalogue order, so that code elsewhere (the Rust
        /// client's typed methods) follows the one definition:
        ///
        /// ```text
        /// callback! {
        ///     [" One-line doc."] StructName = "wire-name", Group, AnswerType;
        ///     …
        /// }
        /// ```
        #[macro_export]
        macro_rules! for_each_request {
            ($d callback:ident) => {
                $d callback! { $($list)* }
            };
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __request_struct {
    ([$doc:literal] $name:ident { $($out:tt)* }) => {
        #[doc = $doc]
        #[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct $name { $($out)* }
    };
    ([$doc:literal] $name:ident { $($out:tt)* }
        [$(#[$fmeta:meta])*] $field:ident [$($fwire:literal)?] : $fty:ty = opt ; $($rest:tt)*) => {
        $crate::__request_struct!([$doc] $name {
            $($out)*
            $(#[$fmeta])*
            #[serde(default, skip_serializing_if = "Option::is_none")]
            $(#[serde(rename = $fwire)])?
            pub $field: $fty,
        } $($rest)*);
    };
    ([$doc:literal] $name:ident { $($out:tt)* }
        [$(#[$fmeta:meta])*] $field:ident [$($fwire:literal)?] : $fty:ty = req ; $($rest:tt)*) => {
        $crate::__request_struct!([$doc] $name {
            $($out)*
            $(#[$fmeta])*
            $(#[serde(rename = $fwire)])?
            pub $field: $fty,
        } $($rest)*);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __wire_name {
    ($field:ident) => {
        stringify!($field)
    };
    ($field:ident $wire:literal) => {
        $wire
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __required {
    (req) => {
        true
    };
    (opt) => {
        false
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_fields_match_their_params() {
        let mut names: Vec<_> = catalogue().iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), catalogue().len());
        // Serialising a default struct names exactly its required params
        // (optional ones are `None` and left out).
        let body = serde_json::to_value(UserNew::default()).unwrap();
        let keys: Vec<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let required: Vec<&str> = UserNew::SPEC
            .params
            .iter()
            .filter(|p| p.required)
            .map(|p| p.name)
            .collect();
        assert_eq!(keys.len(), required.len());
        assert!(required.iter().all(|r| keys.contains(r)));
        assert_eq!(spec("user-lookup-match").unwrap().params[1].name, "match");
    }

    // The macro takes one `///` line per request, so a doc wrapped onto a
    // second line loses its end; `authnzd catalogue` and the clients print it.
    #[test]
    fn docs_are_whole_sentences() {
        for s in catalogue() {
            let doc = s.doc.trim();
            let starts_upper = doc.chars().next().is_some_and(char::is_uppercase);
            assert!(starts_upper && doc.ends_with('.'), "{}: {doc:?}", s.name);
        }
    }
}
