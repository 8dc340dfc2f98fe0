//! `spate topic`: create, list, describe, delete topics and alter their
//! configs, against any Kafka-compatible broker; elect their leaders
//! (`super::elect`) and move their replicas (`super::reassign`).

use std::process::ExitCode;

use anyhow::bail;
use bytestring::ByteString;
use clap::{Args, Subcommand};
use serde_json::json;
use spate_core::protocol::messages::create_topics_request::{
    CreatableTopic, CreatableTopicConfig, CreateTopicsRequest,
};
use spate_core::protocol::messages::delete_topics_request::{
    DeleteTopicState, DeleteTopicsRequest,
};
use spate_core::protocol::messages::describe_configs_request::{
    DescribeConfigsRequest, DescribeConfigsResource,
};
use spate_core::protocol::{ApiKey, RequestBody, ResponseBody};

use super::configs::{incremental_alter, source_name, TOPIC_RESOURCE};
use super::table;
use crate::client::{check, key_value, Client, ConnArgs};

/// How long the broker may take to create or delete a topic.
const ADMIN_TIMEOUT_MS: i32 = 30_000;

/// Manage topics.
#[derive(Debug, Args)]
pub(crate) struct TopicArgs {
    /// Where the brokers are.
    #[command(flatten)]
    conn: ConnArgs,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    /// What to do.
    #[command(subcommand)]
    action: Action,
}

/// The `topic` actions.
#[derive(Debug, Subcommand)]
enum Action {
    /// Create a topic.
    Create {
        /// The topic's name.
        name: String,
        /// Number of partitions (the broker's default when absent).
        #[arg(long)]
        partitions: Option<i32>,
        /// Replication factor (the broker's default when absent).
        #[arg(long)]
        replication_factor: Option<i16>,
        /// A topic config, `KEY=VALUE`; repeatable.
        #[arg(long = "config", value_name = "KEY=VALUE", value_parser = key_value)]
        configs: Vec<(String, String)>,
    },
    /// List the topics.
    List,
    /// Show a topic's partitions, leaders, replicas and configs.
    Describe {
        /// The topic's name.
        name: String,
    },
    /// Delete a topic.
    Delete {
        /// The topic's name.
        name: String,
    },
    /// Set or delete topic configs (IncrementalAlterConfigs).
    AlterConfig {
        /// The topic's name.
        name: String,
        /// Set a config, `KEY=VALUE`; repeatable.
        #[arg(long = "set", value_name = "KEY=VALUE", value_parser = key_value)]
        set: Vec<(String, String)>,
        /// Delete a config (back to its default); repeatable.
        #[arg(long = "delete", value_name = "KEY")]
        delete: Vec<String>,
    },
    /// Elect the preferred replica of partitions as their leader
    /// (ElectLeaders, to the controller; a ZooKeeper cluster).
    ElectLeaders {
        /// The topic (every partition of the cluster when absent).
        topic: Option<String>,
        /// A partition of the topic (all of them when absent); repeatable.
        #[arg(long = "partition", requires = "topic")]
        partitions: Vec<i32>,
        /// An unclean election instead (only partitions without a leader).
        #[arg(long)]
        unclean: bool,
    },
    /// Move partitions' replicas to other brokers, cancel a move, or
    /// list the moves in progress (AlterPartitionReassignments and
    /// ListPartitionReassignments, to the controller; a ZooKeeper
    /// cluster).
    Reassign {
        /// The topic (or give --reassignment-json-file).
        topic: Option<String>,
        /// A partition of the topic (all of them when absent); repeatable.
        #[arg(long = "partition", requires = "topic")]
        partitions: Vec<i32>,
        /// The new replicas, preferred leader first: `2,3,1`.
        #[arg(long, value_delimiter = ',')]
        replicas: Vec<i32>,
        /// Kafka's reassignment JSON file (`kafka-reassign-partitions.sh`).
        #[arg(long, conflicts_with_all = ["topic", "replicas"])]
        reassignment_json_file: Option<std::path::PathBuf>,
        /// Cancel the moves in progress instead.
        #[arg(long, conflicts_with = "replicas")]
        cancel: bool,
        /// List the moves in progress (of the topic, when named).
        #[arg(long, conflicts_with_all = ["replicas", "cancel", "reassignment_json_file"])]
        list: bool,
        /// Wait until the moves are complete, at most this many seconds.
        #[arg(long, value_name = "SECONDS")]
        wait: Option<u64>,
    },
}

/// Runs `spate topic`.
pub(crate) fn run(args: TopicArgs) -> anyhow::Result<ExitCode> {
    let mut client = Client::connect(&args.conn)?;
    let json = args.json;
    match args.action {
        Action::Create {
            name,
            partitions,
            replication_factor,
            configs,
        } => create(
            &mut client,
            json,
            name,
            partitions,
            replication_factor,
            configs,
        ),
        Action::List => list(&mut client, json),
        Action::Describe { name } => describe(&mut client, json, &name),
        Action::Delete { name } => delete(&mut client, json, &name),
        Action::AlterConfig { name, set, delete } => {
            alter_config(&mut client, json, &name, set, delete)
        }
        Action::ElectLeaders {
            topic,
            partitions,
            unclean,
        } => super::elect::run(&mut client, json, topic, partitions, unclean),
        Action::Reassign {
            topic,
            partitions,
            replicas,
            reassignment_json_file,
            cancel,
            list,
            wait,
        } => super::reassign::run(
            &mut client,
            json,
            super::reassign::Ask {
                topic,
                partitions,
                replicas,
                file: reassignment_json_file,
                cancel,
                list,
                wait: wait.map(std::time::Duration::from_secs),
            },
        ),
    }?;
    Ok(ExitCode::SUCCESS)
}

/// `topic create`.
fn create(
    client: &mut Client,
    json: bool,
    name: String,
    partitions: Option<i32>,
    replication_factor: Option<i16>,
    configs: Vec<(String, String)>,
) -> anyhow::Result<()> {
    let req = CreateTopicsRequest {
        topics: vec![CreatableTopic {
            name: ByteString::from(name.as_str()),
            num_partitions: partitions.unwrap_or(-1),
            replication_factor: replication_factor.unwrap_or(-1),
            configs: configs
                .into_iter()
                .map(|(k, v)| CreatableTopicConfig {
                    name: k.into(),
                    value: Some(v.into()),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        timeout_ms: ADMIN_TIMEOUT_MS,
        ..Default::default()
    };
    let ResponseBody::CreateTopics(resp) =
        client.controller()?.send(RequestBody::CreateTopics(req))?
    else {
        bail!("CreateTopics answered with another API");
    };
    let Some(t) = resp.topics.first() else {
        bail!("CreateTopics answered without the topic");
    };
    check(
        &format!("creating topic `{name}`"),
        t.error_code,
        t.error_message.as_ref(),
    )?;
    if json {
        let out = json!({
            "created": name,
            "partitions": t.num_partitions,
            "replication_factor": t.replication_factor,
        });
        outln!("{out}")?;
    } else {
        // Before CreateTopics v5 the broker does not say what it chose.
        let n = if t.num_partitions > 0 {
            t.num_partitions.to_string()
        } else {
            partitions.map_or("default".into(), |p| p.to_string())
        };
        outln!("created topic {name} ({n} partitions)")?;
    }
    Ok(())
}

/// `topic list`.
fn list(client: &mut Client, json: bool) -> anyhow::Result<()> {
    let resp = client.metadata(None)?;
    let mut topics: Vec<_> = resp
        .topics
        .iter()
        .filter_map(|t| {
            let name = t.name.as_ref()?.to_string();
            let rf = t.partitions.first().map_or(0, |p| p.replica_nodes.len());
            Some((name, t.partitions.len(), rf, t.is_internal))
        })
        .collect();
    topics.sort();
    if json {
        let out: Vec<_> = topics
            .iter()
            .map(|(n, p, rf, internal)| {
                json!({"name": n, "partitions": p, "replication_factor": rf, "internal": internal})
            })
            .collect();
        outln!("{}", serde_json::Value::Array(out))?;
        return Ok(());
    }
    let rows: Vec<Vec<String>> = topics
        .iter()
        .map(|(n, p, rf, internal)| {
            vec![
                n.clone(),
                p.to_string(),
                rf.to_string(),
                internal.to_string(),
            ]
        })
        .collect();
    out!(
        "{}",
        table::render(&["TOPIC", "PARTITIONS", "REPLICATION", "INTERNAL"], &rows)
    )?;
    Ok(())
}

/// `topic describe`.
fn describe(client: &mut Client, json: bool, name: &str) -> anyhow::Result<()> {
    let topic = client.topic(name)?;
    let mut partitions: Vec<_> = topic.partitions.iter().collect();
    partitions.sort_by_key(|p| p.partition_index);
    let mut configs = Vec::new();
    if client.bootstrap().supports(ApiKey::DescribeConfigs) {
        let req = DescribeConfigsRequest {
            resources: vec![DescribeConfigsResource {
                resource_type: TOPIC_RESOURCE,
                resource_name: name.into(),
                configuration_keys: None,
                ..Default::default()
            }],
            ..Default::default()
        };
        let ResponseBody::DescribeConfigs(resp) = client.send(RequestBody::DescribeConfigs(req))?
        else {
            bail!("DescribeConfigs answered with another API");
        };
        for r in &resp.results {
            check(
                &format!("describing the configs of `{name}`"),
                r.error_code,
                r.error_message.as_ref(),
            )?;
            for c in &r.configs {
                let value = if c.is_sensitive {
                    "(sensitive)".to_string()
                } else {
                    c.value.as_deref().unwrap_or("(null)").to_string()
                };
                configs.push((c.name.to_string(), value, source_name(c.config_source)));
            }
        }
        configs.sort();
    }
    if json {
        let parts: Vec<_> = partitions
            .iter()
            .map(|p| {
                json!({
                    "partition": p.partition_index,
                    "leader": p.leader_id,
                    "replicas": p.replica_nodes.to_vec(),
                    "isr": p.isr_nodes.to_vec(),
                    "error": (p.error_code != 0).then(|| spate_core::protocol::ErrorCode(p.error_code).name()),
                })
            })
            .collect();
        let confs: Vec<_> = configs
            .iter()
            .map(|(n, v, s)| json!({"name": n, "value": v, "source": s}))
            .collect();
        let out = json!({
            "name": name,
            "topic_id": topic.topic_id.to_string(),
            "internal": topic.is_internal,
            "partitions": parts,
            "configs": confs,
        });
        outln!("{out}")?;
        return Ok(());
    }
    outln!(
        "Topic: {name}  Id: {}  Partitions: {}",
        topic.topic_id,
        partitions.len()
    )?;
    outln!()?;
    let join = |v: Vec<i32>| v.iter().map(i32::to_string).collect::<Vec<_>>().join(",");
    let rows: Vec<Vec<String>> = partitions
        .iter()
        .map(|p| {
            vec![
                p.partition_index.to_string(),
                p.leader_id.to_string(),
                join(p.replica_nodes.to_vec()),
                join(p.isr_nodes.to_vec()),
            ]
        })
        .collect();
    out!(
        "{}",
        table::render(&["PARTITION", "LEADER", "REPLICAS", "ISR"], &rows)
    )?;
    if !configs.is_empty() {
        outln!()?;
        let rows: Vec<Vec<String>> = configs
            .into_iter()
            .map(|(n, v, s)| vec![n, v, s.to_string()])
            .collect();
        out!("{}", table::render(&["CONFIG", "VALUE", "SOURCE"], &rows))?;
    }
    Ok(())
}

/// `topic delete`.
fn delete(client: &mut Client, json: bool, name: &str) -> anyhow::Result<()> {
    let version = client.bootstrap().version(ApiKey::DeleteTopics)?;
    let mut req = DeleteTopicsRequest {
        timeout_ms: ADMIN_TIMEOUT_MS,
        ..Default::default()
    };
    if version >= 6 {
        req.topics = vec![DeleteTopicState {
            name: Some(name.into()),
            ..Default::default()
        }];
    } else {
        req.topic_names = vec![name.into()];
    }
    // To the controller, as Kafka's admin client sends it (in a cluster
    // only the controller deletes topics).
    let ResponseBody::DeleteTopics(resp) =
        client.controller()?.send(RequestBody::DeleteTopics(req))?
    else {
        bail!("DeleteTopics answered with another API");
    };
    let Some(r) = resp.responses.first() else {
        bail!("DeleteTopics answered without the topic");
    };
    check(
        &format!("deleting topic `{name}`"),
        r.error_code,
        r.error_message.as_ref(),
    )?;
    if json {
        outln!("{}", json!({ "deleted": name }))?;
    } else {
        outln!("deleted topic {name}")?;
    }
    Ok(())
}

/// `topic alter-config`.
fn alter_config(
    client: &mut Client,
    json: bool,
    name: &str,
    set: Vec<(String, String)>,
    delete: Vec<String>,
) -> anyhow::Result<()> {
    if set.is_empty() && delete.is_empty() {
        bail!("nothing to change: give --set KEY=VALUE or --delete KEY");
    }
    let what = format!("altering the configs of `{name}`");
    incremental_alter(
        |r| client.send(r),
        &what,
        TOPIC_RESOURCE,
        name,
        &set,
        &delete,
    )?;
    if json {
        let set: serde_json::Map<_, _> = set.into_iter().map(|(k, v)| (k, v.into())).collect();
        outln!(
            "{}",
            json!({ "topic": name, "set": set, "deleted": delete })
        )?;
    } else {
        outln!(
            "altered topic {name}: {} set, {} deleted",
            set.len(),
            delete.len()
        )?;
    }
    Ok(())
}
