//! The CLI behind `vertex-cancel`: argument parsing, name handling, client setup, one module per
//! command, and the output and exit-code conventions they share.
//!
//! It uses only the library's public API, like any other application would.

mod app;
mod args;
mod commands;
mod connect;
mod escape;
pub(crate) mod exit;
mod names;
mod output;
mod report;

pub(crate) use app::run;
