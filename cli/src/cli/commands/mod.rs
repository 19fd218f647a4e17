//! One module per subcommand; `bulk` holds the cancel loop `cancel`, `cancel-matching` and
//! `demo` share.

pub(crate) mod bulk;
pub(crate) mod cancel;
pub(crate) mod cancel_matching;
pub(crate) mod completions;
pub(crate) mod demo;
pub(crate) mod fake;
pub(crate) mod list;
pub(crate) mod status;
pub(crate) mod sweep;
