//! `spate group`: list, describe and delete consumer groups and their
//! committed offsets, against any Kafka-compatible broker.
//!
//! `list` asks every broker (ListGroups); the other actions find the
//! group's coordinator (FindCoordinator) and ask it. `describe` is
//! `kafka-consumer-groups.sh --describe`: DescribeGroups for the members of
//! a classic group, whose "consumer" metadata is decoded into subscriptions
//! and assignments, or ConsumerGroupDescribe when the group is a KIP-848
//! one (DescribeGroups does not know those); OffsetFetch for every
//! committed offset; and ListOffsets at the partitions' leaders for the log
//! end offsets and so the lag.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::bail;
use bytestring::ByteString;
use clap::{Args, Subcommand};
use serde_json::json;
use spate_core::protocol::messages::consumer_group_describe_request::ConsumerGroupDescribeRequest;
use spate_core::protocol::messages::delete_groups_request::DeleteGroupsRequest;
use spate_core::protocol::messages::describe_groups_request::DescribeGroupsRequest;
use spate_core::protocol::messages::describe_groups_response::DescribedGroup;
use spate_core::protocol::messages::list_groups_request::ListGroupsRequest;
use spate_core::protocol::messages::offset_delete_request::{
    OffsetDeleteRequest, OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use spate_core::protocol::{ApiKey, ErrorCode, RequestBody, ResponseBody};

use super::table;
use crate::client::assignor::{self, Partitions, PROTOCOL_TYPE};
use crate::client::coordinator::{self, Coordinator};
use crate::client::offsets::{self, CommittedOffsets};
use crate::client::{check, Client, ConnArgs, Connection};

/// Manage consumer groups.
#[derive(Debug, Args)]
pub(crate) struct GroupArgs {
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

/// The `group` actions.
#[derive(Debug, Subcommand)]
enum Action {
    /// List the groups of every broker.
    List {
        /// Only groups in this state (Empty, Stable, PreparingRebalance,
        /// CompletingRebalance, Dead); repeatable.
        #[arg(long = "state", value_name = "STATE")]
        states: Vec<String>,
    },
    /// Show groups' state, members, and per partition the committed
    /// offset, the log end offset and the lag.
    Describe {
        /// The groups.
        #[arg(required = true)]
        groups: Vec<String>,
    },
    /// Delete groups (only groups without members can be deleted).
    Delete {
        /// The groups.
        #[arg(required = true)]
        groups: Vec<String>,
    },
    /// Delete a group's committed offsets of a topic (OffsetDelete); the
    /// group must not be subscribed to the topic.
    DeleteOffsets {
        /// The group.
        group: String,
        /// The topic.
        topic: String,
        /// Only this partition; repeatable (all of the topic's when absent).
        #[arg(long = "partition", value_name = "N")]
        partitions: Vec<i32>,
    },
}

/// Runs `spate group`.
pub(crate) fn run(args: GroupArgs) -> anyhow::Result<ExitCode> {
    let mut client = Client::connect(&args.conn)?;
    let json = args.json;
    match args.action {
        Action::List { states } => list(&mut client, json, &states),
        Action::Describe { groups } => describe(&mut client, json, &groups),
        Action::Delete { groups } => delete(&mut client, json, &groups),
        Action::DeleteOffsets {
            group,
            topic,
            partitions,
        } => delete_offsets(&mut client, json, &group, &topic, partitions),
    }
}

/// `group list`.
fn list(client: &mut Client, json: bool, states: &[String]) -> anyhow::Result<ExitCode> {
    let meta = client.metadata(Some(&[]))?;
    let mut nodes: Vec<i32> = meta.brokers.iter().map(|b| b.node_id).collect();
    nodes.sort_unstable();
    // (group, protocol type, state, type, coordinator node)
    let mut rows = Vec::new();
    for node in nodes {
        let conn = client.leader(node)?;
        if !states.is_empty() && conn.version(ApiKey::ListGroups)? < 4 {
            bail!(
                "the broker at {} cannot filter groups by state (ListGroups v4)",
                conn.addr()
            );
        }
        let req = ListGroupsRequest {
            states_filter: states
                .iter()
                .map(|s| ByteString::from(s.as_str()))
                .collect(),
            ..Default::default()
        };
        let ResponseBody::ListGroups(resp) = conn.send(RequestBody::ListGroups(req))? else {
            bail!("ListGroups answered with another API");
        };
        check("listing groups", resp.error_code, None)?;
        for g in resp.groups {
            rows.push((
                g.group_id.to_string(),
                g.protocol_type.to_string(),
                g.group_state.to_string(),
                g.group_type.to_string(),
                node,
            ));
        }
    }
    rows.sort();
    if json {
        let out: Vec<_> = rows
            .iter()
            .map(|(g, p, s, t, n)| {
                json!({"group": g, "protocol_type": p, "state": s, "type": t, "coordinator": n})
            })
            .collect();
        outln!("{}", json!(out))?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|(g, p, s, t, n)| vec![g, p, s, t, n.to_string()])
        .collect();
    out!(
        "{}",
        table::render(
            &["GROUP", "PROTOCOL-TYPE", "STATE", "TYPE", "COORDINATOR"],
            &rows
        )
    )?;
    Ok(ExitCode::SUCCESS)
}

/// A group member as `describe` shows it.
#[derive(Debug, serde::Serialize)]
struct Member {
    /// The member id.
    member_id: String,
    /// `group.instance.id`, for static members.
    group_instance_id: Option<String>,
    /// The client id it connected with.
    client_id: String,
    /// The host it connected from.
    client_host: String,
    /// Subscribed topics (consumer groups only).
    subscription: Vec<String>,
    /// Assigned partitions (consumer groups only).
    assignment: Partitions,
}

/// One partition row of `describe`.
#[derive(Debug, serde::Serialize)]
struct OffsetRow {
    /// Topic.
    topic: String,
    /// Partition.
    partition: i32,
    /// The committed offset, if any.
    committed: Option<i64>,
    /// The metadata committed with it.
    metadata: Option<String>,
    /// The partition's log end offset.
    log_end_offset: Option<i64>,
    /// `log_end_offset - committed`.
    lag: Option<i64>,
    /// The member the partition is assigned to.
    member_id: Option<String>,
}

/// `group describe`.
fn describe(client: &mut Client, json: bool, groups: &[String]) -> anyhow::Result<ExitCode> {
    let mut out = Vec::new();
    for (i, group) in groups.iter().enumerate() {
        let coord = coordinator::find(client, group)?;
        let mut conn = client.open(&coord.addr)?;
        let mut view = describe_one(&mut conn, group)?;
        if view.state == "Dead" && conn.supports(ApiKey::ConsumerGroupDescribe) {
            // A KIP-848 group is not a classic group: DescribeGroups does not
            // know it, ConsumerGroupDescribe does.
            if let Some(v) = describe_consumer_group(&mut conn, group)? {
                view = v;
            }
        }
        let committed = match offsets::committed(&mut conn, group, None, false)? {
            Ok(c) => c,
            Err(e) => bail!("fetching the offsets of group `{group}`: {e}"),
        };
        let rows = offset_rows(client, &view.members, committed)?;
        if json {
            out.push(json!({
                "group": group,
                "type": view.group_type,
                "state": view.state,
                "protocol_type": view.protocol_type,
                "protocol": view.protocol,
                "coordinator": {"node_id": coord.node_id, "addr": coord.addr},
                "members": view.members,
                "offsets": rows,
            }));
            continue;
        }
        if i > 0 {
            outln!()?;
        }
        print_group(group, &view, &coord, &rows)?;
    }
    if json {
        outln!("{}", json!(out))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// A group as `describe` shows it, from DescribeGroups (classic groups)
/// or ConsumerGroupDescribe (KIP-848 groups).
#[derive(Debug)]
struct View {
    /// `classic` or `consumer`.
    group_type: &'static str,
    /// The group's state as the broker names it.
    state: String,
    /// The protocol type (`consumer` for consumer groups).
    protocol_type: String,
    /// The chosen protocol (the assignor).
    protocol: String,
    /// The members.
    members: Vec<Member>,
}

/// DescribeGroups for one group; a group the coordinator does not know is
/// reported as state Dead (as Kafka does before v6) rather than an error.
fn describe_one(conn: &mut Connection, group: &str) -> anyhow::Result<View> {
    let req = DescribeGroupsRequest {
        groups: vec![ByteString::from(group)],
        ..Default::default()
    };
    let ResponseBody::DescribeGroups(resp) = conn.send(RequestBody::DescribeGroups(req))? else {
        bail!("DescribeGroups answered with another API");
    };
    let Some(mut g) = resp.groups.into_iter().find(|g| g.group_id == group) else {
        bail!("DescribeGroups did not answer for group `{group}`");
    };
    match ErrorCode(g.error_code) {
        ErrorCode::NONE => {}
        ErrorCode::GROUP_ID_NOT_FOUND => g.group_state = ByteString::from_static("Dead"),
        _ => check(
            &format!("describing group `{group}`"),
            g.error_code,
            g.error_message.as_ref(),
        )?,
    }
    Ok(View {
        group_type: "classic",
        state: g.group_state.to_string(),
        protocol_type: g.protocol_type.to_string(),
        protocol: g.protocol_data.to_string(),
        members: members(&g),
    })
}

/// ConsumerGroupDescribe for one group; `None` when the coordinator has no
/// such KIP-848 group.
fn describe_consumer_group(conn: &mut Connection, group: &str) -> anyhow::Result<Option<View>> {
    let req = ConsumerGroupDescribeRequest {
        group_ids: vec![ByteString::from(group)],
        ..Default::default()
    };
    let ResponseBody::ConsumerGroupDescribe(resp) =
        conn.send(RequestBody::ConsumerGroupDescribe(req))?
    else {
        bail!("ConsumerGroupDescribe answered with another API");
    };
    let Some(g) = resp.groups.into_iter().find(|g| g.group_id == group) else {
        bail!("ConsumerGroupDescribe did not answer for group `{group}`");
    };
    match ErrorCode(g.error_code) {
        ErrorCode::NONE => {}
        ErrorCode::GROUP_ID_NOT_FOUND => return Ok(None),
        _ => check(
            &format!("describing group `{group}`"),
            g.error_code,
            g.error_message.as_ref(),
        )?,
    }
    let members = g
        .members
        .iter()
        .map(|m| {
            let mut assignment = Partitions::new();
            for tp in &m.assignment.topic_partitions {
                let ps = assignment.entry(tp.topic_name.to_string()).or_default();
                ps.extend(tp.partitions.iter());
                ps.sort_unstable();
            }
            Member {
                member_id: m.member_id.to_string(),
                group_instance_id: m.instance_id.as_deref().map(str::to_string),
                client_id: m.client_id.to_string(),
                client_host: m.client_host.to_string(),
                subscription: m
                    .subscribed_topic_names
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                assignment,
            }
        })
        .collect();
    Ok(Some(View {
        group_type: "consumer",
        state: g.group_state.to_string(),
        protocol_type: PROTOCOL_TYPE.to_string(),
        protocol: g.assignor_name.to_string(),
        members,
    }))
}

/// The members, with subscriptions and assignments decoded when the group
/// speaks the consumer protocol (undecodable metadata is shown as none).
fn members(g: &DescribedGroup) -> Vec<Member> {
    let consumer = g.protocol_type == PROTOCOL_TYPE;
    g.members
        .iter()
        .map(|m| Member {
            member_id: m.member_id.to_string(),
            group_instance_id: m.group_instance_id.as_deref().map(str::to_string),
            client_id: m.client_id.to_string(),
            client_host: m.client_host.to_string(),
            subscription: consumer
                .then(|| assignor::decode_subscription(&m.member_metadata).ok())
                .flatten()
                .map(|s| s.topics.iter().map(ToString::to_string).collect())
                .unwrap_or_default(),
            assignment: consumer
                .then(|| assignor::decode_assignment(&m.member_assignment).ok())
                .flatten()
                .unwrap_or_default(),
        })
        .collect()
}

/// Rows for every partition that is assigned or has a committed offset.
fn offset_rows(
    client: &mut Client,
    members: &[Member],
    committed: CommittedOffsets,
) -> anyhow::Result<Vec<OffsetRow>> {
    let mut owner: BTreeMap<(String, i32), String> = BTreeMap::new();
    for m in members {
        for (t, ps) in &m.assignment {
            for &p in ps {
                owner.insert((t.clone(), p), m.member_id.clone());
            }
        }
    }
    let mut all = Partitions::new();
    for (t, p) in owner.keys().chain(committed.keys()) {
        let ps = all.entry(t.clone()).or_default();
        if !ps.contains(p) {
            ps.push(*p);
        }
    }
    let ends = offsets::list(client, &all, offsets::LATEST)?;
    let mut rows = Vec::new();
    for (t, ps) in all {
        let mut ps = ps;
        ps.sort_unstable();
        for p in ps {
            let key = (t.clone(), p);
            let c = committed.get(&key);
            let end = ends.get(&key).copied();
            rows.push(OffsetRow {
                topic: t.clone(),
                partition: p,
                committed: c.map(|c| c.offset),
                metadata: c.and_then(|c| c.metadata.clone()),
                log_end_offset: end,
                lag: c.zip(end).map(|(c, e)| (e - c.offset).max(0)),
                member_id: owner.get(&key).cloned(),
            });
        }
    }
    Ok(rows)
}

/// The human form of `describe` for one group.
fn print_group(
    group: &str,
    g: &View,
    coord: &Coordinator,
    rows: &[OffsetRow],
) -> std::io::Result<()> {
    let members = &g.members;
    let protocol = match (g.protocol_type.is_empty(), g.protocol.is_empty()) {
        (true, _) => "(none)".to_string(),
        (false, true) => g.protocol_type.clone(),
        (false, false) => format!("{}/{}", g.protocol_type, g.protocol),
    };
    outln!(
        "Group {group} ({}): state {}, protocol {protocol}, {} member(s), coordinator {} ({})",
        g.group_type,
        g.state,
        members.len(),
        coord.node_id,
        coord.addr
    )?;
    outln!()?;
    let dash = || "-".to_string();
    let opt = |v: Option<i64>| v.map_or_else(dash, |v| v.to_string());
    let by_id: BTreeMap<&str, &Member> =
        members.iter().map(|m| (m.member_id.as_str(), m)).collect();
    let table_rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let m = r.member_id.as_deref().and_then(|id| by_id.get(id));
            vec![
                r.topic.clone(),
                r.partition.to_string(),
                opt(r.committed),
                opt(r.log_end_offset),
                opt(r.lag),
                r.member_id.clone().unwrap_or_else(dash),
                m.map_or_else(dash, |m| m.client_host.clone()),
                m.map_or_else(dash, |m| m.client_id.clone()),
            ]
        })
        .collect();
    out!(
        "{}",
        table::render(
            &[
                "TOPIC",
                "PARTITION",
                "CURRENT-OFFSET",
                "LOG-END-OFFSET",
                "LAG",
                "CONSUMER-ID",
                "HOST",
                "CLIENT-ID"
            ],
            &table_rows
        )
    )?;
    if members.is_empty() {
        return Ok(());
    }
    outln!()?;
    let member_rows: Vec<Vec<String>> = members
        .iter()
        .map(|m| {
            vec![
                m.member_id.clone(),
                m.group_instance_id.clone().unwrap_or_else(dash),
                m.client_id.clone(),
                m.client_host.clone(),
                m.subscription.join(","),
                assignment_text(&m.assignment),
            ]
        })
        .collect();
    out!(
        "{}",
        table::render(
            &[
                "MEMBER-ID",
                "INSTANCE-ID",
                "CLIENT-ID",
                "HOST",
                "SUBSCRIPTION",
                "ASSIGNMENT"
            ],
            &member_rows
        )
    )?;
    Ok(())
}

/// `t:0,1 u:3`.
fn assignment_text(a: &Partitions) -> String {
    a.iter()
        .map(|(t, ps)| {
            let ps: Vec<String> = ps.iter().map(ToString::to_string).collect();
            format!("{t}:{}", ps.join(","))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `group delete`.
fn delete(client: &mut Client, json: bool, groups: &[String]) -> anyhow::Result<ExitCode> {
    let mut results = Vec::new();
    for group in groups {
        let mut conn = coordinator::connect(client, group)?;
        let req = DeleteGroupsRequest {
            groups_names: vec![ByteString::from(group.as_str())],
            ..Default::default()
        };
        let ResponseBody::DeleteGroups(resp) = conn.send(RequestBody::DeleteGroups(req))? else {
            bail!("DeleteGroups answered with another API");
        };
        let code = resp
            .results
            .iter()
            .find(|r| r.group_id == group.as_str())
            .map(|r| r.error_code)
            .ok_or_else(|| anyhow::anyhow!("DeleteGroups did not answer for group `{group}`"))?;
        results.push((group.clone(), code));
    }
    let failed = results.iter().any(|(_, c)| *c != 0);
    if json {
        let out: Vec<_> = results
            .iter()
            .map(|(g, c)| json!({"group": g, "error": error_name(*c), "error_code": c}))
            .collect();
        outln!("{}", json!(out))?;
    } else {
        let rows: Vec<Vec<String>> = results
            .iter()
            .map(|(g, c)| vec![g.clone(), result_text(*c)])
            .collect();
        out!("{}", table::render(&["GROUP", "RESULT"], &rows))?;
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The name of a Kafka error code, `None` for no error.
fn error_name(code: i16) -> Option<&'static str> {
    (code != 0).then(|| ErrorCode(code).name())
}

/// "deleted" or the error's name.
fn result_text(code: i16) -> String {
    if code == 0 {
        "deleted".to_string()
    } else {
        ErrorCode(code).to_string()
    }
}

/// `group delete-offsets`.
fn delete_offsets(
    client: &mut Client,
    json: bool,
    group: &str,
    topic: &str,
    partitions: Vec<i32>,
) -> anyhow::Result<ExitCode> {
    let partitions = if partitions.is_empty() {
        let t = client.topic(topic)?;
        t.partitions.iter().map(|p| p.partition_index).collect()
    } else {
        partitions
    };
    let mut conn = coordinator::connect(client, group)?;
    let req = OffsetDeleteRequest {
        group_id: ByteString::from(group),
        topics: vec![OffsetDeleteRequestTopic {
            name: ByteString::from(topic),
            partitions: partitions
                .iter()
                .map(|&p| OffsetDeleteRequestPartition {
                    partition_index: p,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let ResponseBody::OffsetDelete(resp) = conn.send(RequestBody::OffsetDelete(req))? else {
        bail!("OffsetDelete answered with another API");
    };
    check(
        &format!("deleting offsets of group `{group}`"),
        resp.error_code,
        None,
    )?;
    let results: Vec<(String, i32, i16)> = resp
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(|p| (t.name.to_string(), p.partition_index, p.error_code))
        })
        .collect();
    let failed = results.iter().any(|(_, _, c)| *c != 0);
    if json {
        let out: Vec<_> = results
            .iter()
            .map(|(t, p, c)| {
                json!({"topic": t, "partition": p, "error": error_name(*c), "error_code": c})
            })
            .collect();
        outln!("{}", json!(out))?;
    } else {
        let rows: Vec<Vec<String>> = results
            .iter()
            .map(|(t, p, c)| vec![t.clone(), p.to_string(), result_text(*c)])
            .collect();
        out!(
            "{}",
            table::render(&["TOPIC", "PARTITION", "RESULT"], &rows)
        )?;
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use spate_core::protocol::messages::describe_groups_response::DescribedGroupMember;

    use super::*;

    #[test]
    fn members_show_decoded_subscriptions_and_assignments() {
        let assigned =
            Partitions::from([("t".to_string(), vec![0, 1]), ("u".to_string(), vec![4])]);
        let mut g = DescribedGroup {
            group_id: "g".into(),
            group_state: "Stable".into(),
            protocol_type: "consumer".into(),
            protocol_data: "range".into(),
            members: vec![
                DescribedGroupMember {
                    member_id: "m-1".into(),
                    client_id: "c".into(),
                    client_host: "/127.0.0.1".into(),
                    member_metadata: assignor::encode_subscription(
                        &["t".to_string(), "u".to_string()],
                        &Partitions::new(),
                        -1,
                    ),
                    member_assignment: assignor::encode_assignment(&assigned),
                    ..Default::default()
                },
                // Metadata that does not decode shows as nothing, not an error.
                DescribedGroupMember {
                    member_id: "m-2".into(),
                    member_metadata: Bytes::from_static(&[0xff]),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let ms = members(&g);
        assert_eq!(ms[0].subscription, vec!["t", "u"]);
        assert_eq!(ms[0].assignment, assigned);
        assert_eq!(assignment_text(&ms[0].assignment), "t:0,1 u:4");
        assert!(ms[1].subscription.is_empty() && ms[1].assignment.is_empty());
        // Another protocol type's metadata is not read as the consumer's.
        g.protocol_type = "connect".into();
        assert!(members(&g)[0].subscription.is_empty());
    }
}
