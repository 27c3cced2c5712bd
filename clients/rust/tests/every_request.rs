//! Every request of the catalogue has its public typed method,
//! `client.<snake_name>(&params::X)`, as a user of the crate sees it: a
//! missing (or private) one fails to compile this test.

use authnzd_client::Client;
use authnzd_client::params::*;

macro_rules! check {
    ($( [$doc:literal] $name:ident = $wire:literal, $group:ident, $answer:ty; )*) => {
        #[allow(dead_code)]
        async fn every_request_has_a_public_method(c: &Client) {
            $( pastey::paste! { let _ = c.[<$name:snake>](&$name::default()).await; } )*
        }

        #[test]
        fn the_methods_cover_the_catalogue() {
            let names = [$($wire),*];
            assert_eq!(names.len(), catalogue().len());
            assert!(names.iter().zip(catalogue()).all(|(n, s)| *n == s.name));
        }
    };
}

authnzd_proto::for_each_request!(check);
