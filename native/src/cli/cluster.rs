//! `spate cluster info`: the brokers, cluster id, controller and the API
//! versions the bootstrap broker supports; `spate cluster config`: dynamic
//! broker configs ([`super::broker_config`]).

use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::json;
use spate_core::protocol::ApiKey;

use super::table;
use crate::client::conn::client_range;
use crate::client::{key_value, Client, ConnArgs};

/// Look at the cluster.
#[derive(Debug, Args)]
pub(crate) struct ClusterArgs {
    /// Where the brokers are.
    #[command(flatten)]
    conn: ConnArgs,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    /// What to show.
    #[command(subcommand)]
    action: Action,
}

/// The `cluster` actions.
#[derive(Debug, Subcommand)]
enum Action {
    /// Brokers, cluster id, controller and supported API versions.
    Info,
    /// Show or change dynamic broker configs (DescribeConfigs and
    /// IncrementalAlterConfigs on a BROKER resource).
    Config {
        /// This broker's own configs (the request goes to it).
        #[arg(long, required_unless_present = "default")]
        broker: Option<i32>,
        /// The cluster-wide defaults (the empty resource name).
        #[arg(long, conflicts_with = "broker")]
        default: bool,
        /// Set a config, `KEY=VALUE`; repeatable.
        #[arg(long = "set", value_name = "KEY=VALUE", value_parser = key_value)]
        set: Vec<(String, String)>,
        /// Delete a config (back to the next level); repeatable.
        #[arg(long = "delete", value_name = "KEY")]
        delete: Vec<String>,
        /// Show every config, Kafka's defaults too.
        #[arg(long)]
        all: bool,
    },
}

/// Runs `spate cluster`.
pub(crate) fn run(args: ClusterArgs) -> anyhow::Result<ExitCode> {
    let mut client = Client::connect(&args.conn)?;
    match args.action {
        Action::Info => info(&mut client, args.json)?,
        Action::Config {
            broker,
            default: _,
            set,
            delete,
            all,
        } => {
            let ask = super::broker_config::Ask {
                broker,
                set,
                delete,
                all,
            };
            super::broker_config::run(&mut client, args.json, ask)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `cluster info`.
fn info(client: &mut Client, json: bool) -> anyhow::Result<()> {
    let meta = client.metadata(Some(&[]))?;
    let mut brokers: Vec<_> = meta.brokers.iter().collect();
    brokers.sort_by_key(|b| b.node_id);
    let conn = client.bootstrap();
    let addr = conn.addr().to_string();
    let apis: Vec<_> = conn
        .broker_apis()
        .map(|a| {
            let key = ApiKey::from_i16(a.key);
            let used = key.and_then(|k| conn.version(k).ok());
            (a, key.map_or("(unknown)", ApiKey::name), used)
        })
        .collect();
    if json {
        let out = json!({
            "bootstrap": addr,
            "cluster_id": meta.cluster_id.as_deref(),
            "controller_id": meta.controller_id,
            "brokers": brokers.iter().map(|b| json!({
                "node_id": b.node_id,
                "host": b.host.to_string(),
                "port": b.port,
                "rack": b.rack.as_deref(),
            })).collect::<Vec<_>>(),
            "api_versions": apis.iter().map(|(a, name, used)| json!({
                "api_key": a.key,
                "name": name,
                "min_version": a.min,
                "max_version": a.max,
                "client_version": used,
            })).collect::<Vec<_>>(),
        });
        outln!("{out}")?;
        return Ok(());
    }
    outln!(
        "Cluster id: {}",
        meta.cluster_id.as_deref().unwrap_or("(none)")
    )?;
    outln!("Controller: {}", meta.controller_id)?;
    outln!("Bootstrap:  {addr}")?;
    outln!()?;
    let rows: Vec<Vec<String>> = brokers
        .iter()
        .map(|b| {
            vec![
                b.node_id.to_string(),
                format!("{}:{}", b.host, b.port),
                b.rack.as_deref().unwrap_or("").to_string(),
            ]
        })
        .collect();
    out!("{}", table::render(&["BROKER", "ADDRESS", "RACK"], &rows))?;
    outln!()?;
    let rows: Vec<Vec<String>> = apis
        .iter()
        .map(|(a, name, used)| {
            let uses = match (used, ApiKey::from_i16(a.key).and_then(client_range)) {
                (Some(v), _) => format!("v{v}"),
                (None, Some(_)) => "unusable".to_string(),
                (None, None) => String::new(),
            };
            vec![
                a.key.to_string(),
                (*name).to_string(),
                a.min.to_string(),
                a.max.to_string(),
                uses,
            ]
        })
        .collect();
    out!(
        "{}",
        table::render(&["KEY", "API", "MIN", "MAX", "CLIENT USES"], &rows)
    )?;
    Ok(())
}
