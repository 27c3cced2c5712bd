//! Everything the server keeps secret rests on the key ring: the ring and
//! the secrets derived from it (`ring`), one sealer for secrets at rest
//! (`sealer`: TOTP secrets, the server's signing keys), and keyed digests
//! (`keyed`: codes, client addresses, personal data in logs).

mod keyed;
mod ring;
mod sealer;

pub use keyed::{Keyed, KeyedRing, Salted};
pub use ring::{KeyError, KeyRing, Label};
pub use sealer::{Opened, Sealer};
