//! A typed method for every request type without a hand-written one, made
//! from the catalogue (`authnzd_proto::for_each_request!`): adding a request
//! type to `clients/proto` adds its method here. Each sends the request's
//! parameter struct and answers its answer struct, as [`Client::send`] does.
//!
//! The hand-written methods (the other modules of `api`) keep their names,
//! docs and examples, and some answer an unwrapped value (`Vec<UserInfo>`,
//! `bool`, `u64`, `()`); they are skipped here by name.

use authnzd_proto::answers::*;
use authnzd_proto::*;

use crate::{Client, Error};

/// One request's method, unless it is hand-written.
macro_rules! typed_method {
    // Hand-written, in the module named.
    (SessionNew $($_:tt)*) => {}; // sessions
    (SessionExists $($_:tt)*) => {};
    (SessionDelete $($_:tt)*) => {};
    (SessionDeleteUserid $($_:tt)*) => {};
    (UserLogin $($_:tt)*) => {}; // login
    (UserLogout $($_:tt)*) => {};
    (UserPasscheck $($_:tt)*) => {};
    (UserPasscheckNosession $($_:tt)*) => {};
    (UserNew $($_:tt)*) => {}; // users
    (UserChangepass $($_:tt)*) => {};
    (UserChangepassNosession $($_:tt)*) => {};
    (UserDelete $($_:tt)*) => {};
    (UserList $($_:tt)*) => {};
    (UserLookupEmail $($_:tt)*) => {};
    (UserLookupMatch $($_:tt)*) => {};
    (UserEdit $($_:tt)*) => {};
    (UserResetpass $($_:tt)*) => {};
    (UserResetpassNosession $($_:tt)*) => {};
    (UserLock $($_:tt)*) => {};
    (UserValidatepass $($_:tt)*) => {};
    (UserSendemailSignup $($_:tt)*) => {}; // email
    (UserSendemailForgotpass $($_:tt)*) => {};
    (UserSetEmailverified $($_:tt)*) => {};
    (UserSetEmailsent $($_:tt)*) => {};
    (ApikeyNew $($_:tt)*) => {}; // apikeys
    (ApikeyVerify $($_:tt)*) => {};
    (ApikeyRevoke $($_:tt)*) => {};
    (ApikeyNewNosession $($_:tt)*) => {};
    (ApikeyVerifyNosession $($_:tt)*) => {};
    (ApikeyRevokeNosession $($_:tt)*) => {};
    (ApikeyRevokeallNosession $($_:tt)*) => {};
    (ApikeyRefreshNosession $($_:tt)*) => {};
    (UserCheckAccess $($_:tt)*) => {}; // access
    (UserCheckLimit $($_:tt)*) => {};
    (InternalUserLock $($_:tt)*) => {}; // internal
    (InternalUserDelete $($_:tt)*) => {};
    (InternalUserEdit $($_:tt)*) => {};
    (InternalSessionEdit $($_:tt)*) => {};
    (PasswordlessStart $($_:tt)*) => {}; // passwordless
    (PasswordlessFinish $($_:tt)*) => {};
    ($name:ident $wire:literal $doc:literal $answer:ty) => {
        pastey::paste! {
            impl Client {
                #[doc = concat!("`", $wire, "`:", $doc)]
                pub async fn [<$name:snake>](&self, p: &$name) -> Result<$answer, Error> {
                    self.send(p).await
                }
            }
        }
    };
}

/// The callback of `for_each_request!`: a method per request, and the
/// checks that every request has one by the name of its wire name.
macro_rules! typed_methods {
    ($( [$doc:literal] $name:ident = $wire:literal, $group:ident, $answer:ty; )*) => {
        $( typed_method!($name $wire $doc $answer); )*

        // Fails to compile while a request has no method
        // `client.<snake_name>(&params::X)`: one skipped above as hand-written
        // that nobody wrote, or one that takes other parameters.
        #[allow(dead_code)]
        async fn every_request_has_a_typed_method(c: &Client) {
            $( pastey::paste! { let _ = c.[<$name:snake>](&$name::default()).await; } )*
        }

        // The method names are the wire names with `_` for `-`.
        $( pastey::paste! {
            const _: () = assert!(same_name(stringify!([<$name:snake>]), $wire));
        } )*
    };
}

/// Whether `method` is `wire` with `_` for `-`.
const fn same_name(method: &str, wire: &str) -> bool {
    let (m, w) = (method.as_bytes(), wire.as_bytes());
    if m.len() != w.len() {
        return false;
    }
    let mut i = 0;
    while i < m.len() {
        let want = if w[i] == b'-' { b'_' } else { w[i] };
        if m[i] != want {
            return false;
        }
        i += 1;
    }
    true
}

authnzd_proto::for_each_request!(typed_methods);
