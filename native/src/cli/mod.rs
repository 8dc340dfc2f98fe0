//! The subcommands, one module each: its clap `Args` struct and its `run`.

pub(crate) mod decode;
