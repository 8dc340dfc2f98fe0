//! `spate topic reassign`: move partitions' replicas to other brokers
//! (AlterPartitionReassignments, to the controller), cancel a move, or
//! list the moves in progress (ListPartitionReassignments), as Kafka's
//! `kafka-reassign-partitions.sh --execute / --cancel / --list` do. The
//! moves can be named on the command line (`TOPIC --partition P
//! --replicas 1,2,3`) or in Kafka's reassignment JSON file
//! (`{"version":1,"partitions":[{"topic":"t","partition":0,
//! "replicas":[1,2,3]}]}`); `--wait` then waits until the controller no
//! longer lists them (Kafka's `--verify`, run until it says complete).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};
use spate_core::protocol::messages::alter_partition_reassignments_request::{
    AlterPartitionReassignmentsRequest, ReassignablePartition, ReassignableTopic,
};
use spate_core::protocol::messages::list_partition_reassignments_request::{
    ListPartitionReassignmentsRequest, ListPartitionReassignmentsTopics,
};
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody};

use crate::client::Client;

/// How long the controller may take to start the moves.
const TIMEOUT_MS: i32 = 30_000;

/// How often `--wait` asks the controller.
const POLL: Duration = Duration::from_millis(500);

/// What `spate topic reassign` was asked.
#[derive(Debug)]
pub(crate) struct Ask {
    /// The topic named on the command line.
    pub(crate) topic: Option<String>,
    /// Its partitions (all when empty).
    pub(crate) partitions: Vec<i32>,
    /// The target replicas (for every partition named).
    pub(crate) replicas: Vec<i32>,
    /// Kafka's reassignment JSON file instead.
    pub(crate) file: Option<std::path::PathBuf>,
    /// Cancel the moves instead.
    pub(crate) cancel: bool,
    /// List the moves in progress instead.
    pub(crate) list: bool,
    /// Wait until the moves are complete, at most this long.
    pub(crate) wait: Option<Duration>,
}

/// One partition's target (`None`: cancel).
type Move = ((String, i32), Option<Vec<i32>>);

/// One partition's outcome: its error and the controller's message.
type Outcome = ((String, i32), ErrorCode, Option<String>);

/// Runs `spate topic reassign`.
pub(crate) fn run(client: &mut Client, json: bool, ask: Ask) -> anyhow::Result<()> {
    if ask.list {
        let only = match &ask.topic {
            None => None,
            Some(t) => Some(partitions_of(client, t, &ask.partitions)?),
        };
        let listed = list(client, only.as_deref())?;
        return print_list(json, &listed);
    }
    let moves = moves(client, &ask)?;
    if moves.is_empty() {
        bail!("no partition to reassign");
    }
    let results = alter(client, &moves)?;
    let mut failed = 0;
    for ((topic, p), code, message) in &results {
        if *code != ErrorCode::NONE {
            failed += 1;
        }
        if !json {
            match (*code, ask.cancel) {
                (ErrorCode::NONE, false) => outln!("{topic}-{p}: reassignment started")?,
                (ErrorCode::NONE, true) => outln!("{topic}-{p}: reassignment cancelled")?,
                (c, _) => outln!(
                    "{topic}-{p}: {}{}",
                    c.name(),
                    message
                        .as_deref()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                )?,
            }
        }
    }
    if json {
        let list: Vec<_> = results
            .iter()
            .map(|((t, p), c, m)| json!({ "topic": t, "partition": p, "error": c.name(), "message": m }))
            .collect();
        outln!("{}", json!({ "partitions": list }))?;
    }
    if failed > 0 {
        bail!("{failed} partitions could not be reassigned");
    }
    if let Some(limit) = ask.wait.filter(|_| !ask.cancel) {
        let started = Instant::now();
        let named: Vec<(String, i32)> = moves.iter().map(|(tp, _)| tp.clone()).collect();
        loop {
            let left = list(client, Some(&named))?;
            if left.is_empty() {
                break;
            }
            if started.elapsed() > limit {
                print_list(json, &left)?;
                bail!("{} partitions are still being reassigned", left.len());
            }
            std::thread::sleep(POLL);
        }
        if !json {
            for (t, p) in &named {
                outln!("{t}-{p}: reassignment complete")?;
            }
        }
    }
    Ok(())
}

/// The moves asked for, from the file or the command line.
fn moves(client: &mut Client, ask: &Ask) -> anyhow::Result<Vec<Move>> {
    if let Some(path) = &ask.file {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        return parse_file(&text, ask.cancel)
            .with_context(|| format!("{} is not a reassignment JSON file", path.display()));
    }
    let Some(topic) = &ask.topic else {
        bail!("name a topic (with --replicas or --cancel) or give --reassignment-json-file");
    };
    if !ask.cancel && ask.replicas.is_empty() {
        bail!("--replicas is needed to reassign (or --cancel to cancel)");
    }
    let target = (!ask.cancel).then(|| ask.replicas.clone());
    Ok(partitions_of(client, topic, &ask.partitions)?
        .into_iter()
        .map(|tp| (tp, target.clone()))
        .collect())
}

/// `partitions` of `topic`, or all of them when empty.
fn partitions_of(
    client: &mut Client,
    topic: &str,
    partitions: &[i32],
) -> anyhow::Result<Vec<(String, i32)>> {
    let ps = if partitions.is_empty() {
        let meta = client.metadata(Some(&[topic]))?;
        let Some(t) = meta.topics.first() else {
            bail!("no topic `{topic}`");
        };
        if t.error_code != 0 {
            bail!("topic `{topic}`: {}", ErrorCode(t.error_code));
        }
        t.partitions.iter().map(|p| p.partition_index).collect()
    } else {
        partitions.to_vec()
    };
    Ok(ps.into_iter().map(|p| (topic.to_string(), p)).collect())
}

/// Kafka's reassignment JSON: `{"version":1,"partitions":[{"topic":...,
/// "partition":...,"replicas":[...]}]}` (`log_dirs` is ignored: one log
/// directory per broker here).
fn parse_file(text: &str, cancel: bool) -> anyhow::Result<Vec<Move>> {
    let v: Value = serde_json::from_str(text)?;
    let Some(list) = v.get("partitions").and_then(Value::as_array) else {
        bail!("no \"partitions\" list");
    };
    let mut out = Vec::new();
    for e in list {
        let topic = e
            .get("topic")
            .and_then(Value::as_str)
            .context("an entry has no \"topic\"")?;
        let p = e
            .get("partition")
            .and_then(Value::as_i64)
            .and_then(|p| i32::try_from(p).ok())
            .context("an entry has no \"partition\"")?;
        let replicas = match e.get("replicas").and_then(Value::as_array) {
            Some(r) => r
                .iter()
                .map(|id| id.as_i64().and_then(|id| i32::try_from(id).ok()))
                .collect::<Option<Vec<i32>>>()
                .context("\"replicas\" must be broker ids")?,
            None if cancel => Vec::new(),
            None => bail!("{topic}-{p} has no \"replicas\""),
        };
        out.push(((topic.to_string(), p), (!cancel).then_some(replicas)));
    }
    Ok(out)
}

/// AlterPartitionReassignments at the controller: each partition's outcome.
fn alter(client: &mut Client, moves: &[Move]) -> anyhow::Result<Vec<Outcome>> {
    let mut topics: BTreeMap<&str, Vec<ReassignablePartition>> = BTreeMap::new();
    for ((t, p), target) in moves {
        topics.entry(t).or_default().push(ReassignablePartition {
            partition_index: *p,
            replicas: target.clone().map(Into::into),
            ..Default::default()
        });
    }
    let req = AlterPartitionReassignmentsRequest {
        timeout_ms: TIMEOUT_MS,
        allow_replication_factor_change: true,
        topics: topics
            .into_iter()
            .map(|(name, partitions)| ReassignableTopic {
                name: name.into(),
                partitions,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    let controller = client.controller()?;
    let ResponseBody::AlterPartitionReassignments(resp) =
        controller.send(RequestBody::AlterPartitionReassignments(req))?
    else {
        bail!("AlterPartitionReassignments answered with another API");
    };
    if resp.error_code != 0 {
        bail!("reassigning partitions: {}", ErrorCode(resp.error_code));
    }
    Ok(resp
        .responses
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| {
                (
                    (t.name.to_string(), p.partition_index),
                    ErrorCode(p.error_code),
                    p.error_message.as_ref().map(ToString::to_string),
                )
            })
        })
        .collect())
}

/// One move in progress: partition, replicas, adding, removing.
type Listed = ((String, i32), Vec<i32>, Vec<i32>, Vec<i32>);

/// ListPartitionReassignments at the controller, for `only` (all when
/// `None`).
fn list(client: &mut Client, only: Option<&[(String, i32)]>) -> anyhow::Result<Vec<Listed>> {
    let topics = only.map(|ps| {
        let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for (t, p) in ps {
            by_topic.entry(t).or_default().push(*p);
        }
        by_topic
            .into_iter()
            .map(|(t, ps)| ListPartitionReassignmentsTopics {
                name: t.into(),
                partition_indexes: ps.into(),
                ..Default::default()
            })
            .collect()
    });
    let req = ListPartitionReassignmentsRequest {
        timeout_ms: TIMEOUT_MS,
        topics,
        ..Default::default()
    };
    let controller = client.controller()?;
    let ResponseBody::ListPartitionReassignments(resp) =
        controller.send(RequestBody::ListPartitionReassignments(req))?
    else {
        bail!("ListPartitionReassignments answered with another API");
    };
    if resp.error_code != 0 {
        bail!("listing reassignments: {}", ErrorCode(resp.error_code));
    }
    Ok(resp
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| {
                (
                    (t.name.to_string(), p.partition_index),
                    p.replicas.iter().collect(),
                    p.adding_replicas.iter().collect(),
                    p.removing_replicas.iter().collect(),
                )
            })
        })
        .collect())
}

fn print_list(json: bool, listed: &[Listed]) -> anyhow::Result<()> {
    if json {
        let list: Vec<_> = listed
            .iter()
            .map(|((t, p), r, a, rm)| {
                json!({ "topic": t, "partition": p, "replicas": r, "adding": a, "removing": rm })
            })
            .collect();
        outln!("{}", json!({ "reassignments": list }))?;
        return Ok(());
    }
    if listed.is_empty() {
        outln!("no partition is being reassigned")?;
    }
    let ids = |v: &[i32]| {
        v.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    for ((t, p), r, a, rm) in listed {
        outln!(
            "Topic: {t}\tPartition: {p}\tReplicas: {}\tAdding: {}\tRemoving: {}",
            ids(r),
            ids(a),
            ids(rm)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafkas_reassignment_file_is_read() {
        let text = r#"{"version":1,"partitions":[
            {"topic":"t","partition":0,"replicas":[2,3],"log_dirs":["any","any"]},
            {"topic":"u","partition":1,"replicas":[1]}]}"#;
        assert_eq!(
            parse_file(text, false).unwrap(),
            [
                (("t".to_string(), 0), Some(vec![2, 3])),
                (("u".to_string(), 1), Some(vec![1]))
            ]
        );
        assert_eq!(
            parse_file(text, true).unwrap()[0],
            (("t".to_string(), 0), None)
        );
        assert!(parse_file(r#"{"partitions":[{"topic":"t"}]}"#, false).is_err());
        assert!(parse_file("[]", false).is_err());
    }
}
