//! Spate: a broker that speaks Apache Kafka's wire protocol, as a library.
//!
//! [`Broker`] runs a broker inside a tokio runtime, for tests that want a
//! real Kafka broker in process, with faults to inject (module docs of
//! [`Broker`]'s home, `embed`). The `spate` binary is this library's
//! [`cli_main`]: each subcommand lives in its own module under `cli`, with
//! a clap `Args` struct and a `run(args) -> anyhow::Result<ExitCode>`;
//! [`cli_main`] only parses and dispatches.

#![forbid(unsafe_code)]

mod cli;
mod client;
mod clock;
mod cluster;
mod connect;
mod embed;
mod logging;
mod serve;
mod storage;
mod tree;

pub use embed::{
    ApiKey, Broker, BrokerConfig, Cluster, ClusterConfig, Data, Error, ErrorCode, ErrorFault,
    Named, Topic,
};

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Spate: a broker that speaks Apache Kafka's wire protocol.
#[derive(Debug, Parser)]
#[command(name = "spate", version, about)]
struct Cli {
    /// What to do.
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Explain every byte of a Kafka request or response frame.
    Decode(cli::decode::DecodeArgs),
    /// Run the broker.
    Serve(serve::ServeArgs),
    /// Create, list, describe, delete topics and alter their configs.
    Topic(cli::topic::TopicArgs),
    /// Produce records, one per input line.
    Produce(cli::produce::ProduceArgs),
    /// Consume records and print them.
    Consume(cli::consume::ConsumeArgs),
    /// List, describe and delete consumer groups and their offsets.
    Group(cli::group::GroupArgs),
    /// Show the cluster: brokers, controller, API versions.
    Cluster(cli::cluster::ClusterArgs),
    /// A live table of topics' throughput and consumer groups' lag.
    Top(cli::top::TopArgs),
    /// List and describe transactions, their producers, and find and abort
    /// hanging ones (as kafka-transactions.sh).
    Transactions(cli::transactions::TransactionsArgs),
    /// Add, list and remove ACLs (as kafka-acls.sh).
    Acl(cli::acl::AclArgs),
    /// Set, list and delete users' SCRAM credentials.
    User(cli::user::UserArgs),
    /// Kafka Connect: run connectors (`spate connect standalone WORKER.properties
    /// CONNECTOR.properties...`).
    Connect(connect::worker::ConnectArgs),
}

/// The `spate` command line: parses the arguments and runs the subcommand.
pub fn cli_main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Decode(args) => cli::decode::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Topic(args) => cli::topic::run(args),
        Command::Produce(args) => cli::produce::run(args),
        Command::Consume(args) => cli::consume::run(args),
        Command::Group(args) => cli::group::run(args),
        Command::Cluster(args) => cli::cluster::run(args),
        Command::Top(args) => cli::top::run(args),
        Command::Transactions(args) => cli::transactions::run(args),
        Command::Acl(args) => cli::acl::run(args),
        Command::User(args) => cli::user::run(args),
        Command::Connect(args) => connect::worker::run(args),
    };
    result.unwrap_or_else(|e| {
        // A reader that stopped reading (`spate topic list | head -1`) is
        // not a failure: the output it wanted has been written.
        if cli::is_broken_pipe(&e) {
            return ExitCode::SUCCESS;
        }
        eprintln!("error: {e:#}");
        ExitCode::FAILURE
    })
}
