//! The request catalogue: one definition per request type, in
//! `authnzd-proto` (`clients/proto/src/requests.rs`).

pub use authnzd_proto::{Group, Param, Spec, Ty};

/// Every request this server knows, in catalogue order.
pub fn all() -> impl Iterator<Item = &'static Spec> {
    authnzd_proto::catalogue().iter()
}

/// The request named `name`.
pub fn spec(name: &str) -> Option<&'static Spec> {
    authnzd_proto::spec(name)
}
