//! The subcommands, one module each: its clap `Args` struct and its `run`.

pub(crate) mod cluster;
pub(crate) mod consume;
pub(crate) mod decode;
pub(crate) mod group;
pub(crate) mod produce;
pub(crate) mod table;
pub(crate) mod topic;
