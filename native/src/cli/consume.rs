//! `spate consume`: print a topic's records, long-polling with Fetch.
//!
//! With `--group` the consumer is a member of a classic consumer group
//! ([`GroupMember`]): it reads the partitions the group assigns it, from the
//! group's committed offsets (`--from-beginning` picks the earliest offset
//! where none is committed, otherwise the latest, as Kafka's
//! `auto.offset.reset`), commits after the records it fetched are printed,
//! follows rebalances, and on exit (`-n`, `-e`, Ctrl-C, SIGTERM) commits and
//! leaves the group.

use std::collections::BTreeMap;
use std::io::{self, Write as _};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::thread::sleep;
use std::time::Duration;

use anyhow::{anyhow, bail};
use clap::Args;
use serde_json::json;
use spate_core::protocol::messages::fetch_request::{FetchPartition, FetchRequest, FetchTopic};
use spate_core::protocol::messages::list_offsets_request::{
    ListOffsetsPartition, ListOffsetsRequest, ListOffsetsTopic,
};
use spate_core::protocol::{ApiKey, ErrorCode, RequestBody, ResponseBody};

use crate::client::member::{GroupMember, MemberConfig, Status};
use crate::client::offsets;
use crate::client::records::{read_set, Fetched};
use crate::client::{check, Client, ConnArgs};

/// How long a Fetch may wait for data.
const MAX_WAIT_MS: i32 = 500;

/// Bytes asked for per partition per Fetch.
const PARTITION_MAX_BYTES: i32 = 1 << 20;

/// Consume records and print them, one per line.
///
/// Starts at the end of each partition unless `--from-beginning` or
/// `--offset` says otherwise; runs until `-n` records were printed, the end
/// of the log is reached with `-e`, or Ctrl-C.
#[derive(Debug, Args)]
#[command(
    after_help = "Format placeholders: %k key, %v value, %p partition, %o offset,
%t timestamp (ms), %h headers (k=v,k=v), %T topic, %% a percent sign;
\\n and \\t are a newline and a tab. Default: %v"
)]
pub(crate) struct ConsumeArgs {
    /// Where the brokers are.
    #[command(flatten)]
    conn: ConnArgs,
    /// The topic.
    topic: String,
    /// Start at the first offset of each partition.
    #[arg(long, conflicts_with = "offset")]
    from_beginning: bool,
    /// Start at this offset in every partition read.
    #[arg(long, conflicts_with = "group")]
    offset: Option<i64>,
    /// Stop after this many records.
    #[arg(short = 'n', long = "count", value_name = "COUNT")]
    count: Option<u64>,
    /// Read only this partition.
    #[arg(long, conflicts_with = "group")]
    partition: Option<i32>,
    /// How to print each record (see below).
    #[arg(long, value_name = "TEMPLATE", default_value = "%v")]
    format: String,
    /// Stop at the end of the log (the high watermark of every partition).
    #[arg(short = 'e', long)]
    exit_at_end: bool,
    /// Consume as a member of this consumer group: read the partitions it
    /// assigns, from its committed offsets, and commit what was printed.
    #[arg(short = 'g', long)]
    group: Option<String>,
    /// With --group: how long the coordinator waits for a heartbeat before
    /// it drops this member (`session.timeout.ms`).
    #[arg(long, value_name = "MS", default_value_t = 45_000)]
    session_timeout_ms: i32,
    /// With --group: how often to heartbeat (`heartbeat.interval.ms`).
    #[arg(long, value_name = "MS", default_value_t = 3_000)]
    heartbeat_interval_ms: u64,
    /// With --group: how long a rebalance waits for members to rejoin
    /// (`max.poll.interval.ms`).
    #[arg(long, value_name = "MS", default_value_t = 300_000)]
    max_poll_interval_ms: i32,
    /// With --group: a static member id (`group.instance.id`); a static
    /// member that restarts within the session timeout keeps its partitions.
    #[arg(long, value_name = "ID", requires = "group")]
    group_instance_id: Option<String>,
    /// Print each record as a JSON object per line instead of the template.
    #[arg(long)]
    json: bool,
}

/// Where one partition is read from.
#[derive(Debug, Clone, Copy)]
struct Position {
    /// The leader's node id.
    leader: i32,
    /// The next offset to fetch.
    offset: i64,
    /// Whether the end of the log was seen (for `-e`).
    at_end: bool,
}

/// Runs `spate consume`.
pub(crate) fn run(args: ConsumeArgs) -> anyhow::Result<ExitCode> {
    let mut client = Client::connect(&args.conn)?;
    if let Some(group) = &args.group {
        if !client.bootstrap().supports(ApiKey::JoinGroup) {
            bail!(
                "the broker at {} does not support consumer groups (no JoinGroup)",
                client.bootstrap().addr()
            );
        }
        return run_group(&args, group, client);
    }
    let topic = client.topic(&args.topic)?;
    let mut positions: BTreeMap<i32, Position> = topic
        .partitions
        .iter()
        .filter(|p| args.partition.is_none_or(|want| want == p.partition_index))
        .map(|p| {
            let pos = Position {
                leader: p.leader_id,
                offset: args.offset.unwrap_or(0),
                at_end: false,
            };
            (p.partition_index, pos)
        })
        .collect();
    if positions.is_empty() {
        bail!(
            "topic `{}` has no partition {}",
            args.topic,
            args.partition.unwrap_or(0)
        );
    }
    if args.offset.is_none() {
        let timestamp = if args.from_beginning { -2 } else { -1 };
        list_offsets(&mut client, &args.topic, timestamp, &mut positions)?;
    }
    let mut printed = 0u64;
    let mut out = io::BufWriter::new(io::stdout().lock());
    loop {
        let leaders: Vec<i32> = positions.values().map(|p| p.leader).collect();
        let mut leaders = leaders;
        leaders.sort_unstable();
        leaders.dedup();
        for leader in leaders {
            let records = fetch(&mut client, &args.topic, leader, &mut positions)?;
            for (partition, f) in records {
                if args.count.is_some_and(|n| printed >= n) {
                    break;
                }
                write_record(&mut out, &args, partition, &f)?;
                printed += 1;
            }
            out.flush()?;
        }
        if args.count.is_some_and(|n| printed >= n) {
            break;
        }
        if args.exit_at_end && positions.values().all(|p| p.at_end) {
            break;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `spate consume --group`: the member's loop. Each pass fetches once,
/// prints, commits what was printed, and heartbeats when due; a rebalance
/// (seen by a heartbeat or a commit) rejoins and starts again from the
/// committed offsets of the new assignment.
fn run_group(args: &ConsumeArgs, group: &str, mut client: Client) -> anyhow::Result<ExitCode> {
    client.topic(&args.topic)?;
    let stop = crate::cli::stop_on_signal();
    let config = MemberConfig {
        group: group.to_string(),
        topics: vec![args.topic.clone()],
        session_timeout_ms: args.session_timeout_ms,
        rebalance_timeout_ms: args.max_poll_interval_ms,
        heartbeat_interval: Duration::from_millis(args.heartbeat_interval_ms),
        instance_id: args.group_instance_id.clone(),
    };
    let idle = config.heartbeat_interval.min(Duration::from_millis(200));
    let mut member = GroupMember::join(&mut client, config)?;
    let mut positions = group_positions(&mut client, &mut member, args)?;
    // The next offset after the last printed record, by partition, not yet
    // committed.
    let mut done: BTreeMap<(String, i32), i64> = BTreeMap::new();
    let mut printed = 0u64;
    let mut out = io::BufWriter::new(io::stdout().lock());
    loop {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if positions.is_empty() {
            sleep(idle);
        }
        let mut leaders: Vec<i32> = positions.values().map(|p| p.leader).collect();
        leaders.sort_unstable();
        leaders.dedup();
        for leader in leaders {
            let records = fetch(&mut client, &args.topic, leader, &mut positions)?;
            for (partition, f) in records {
                if args.count.is_some_and(|n| printed >= n) {
                    break;
                }
                write_record(&mut out, args, partition, &f)?;
                done.insert((args.topic.clone(), partition), f.offset + 1);
                printed += 1;
            }
            out.flush()?;
        }
        let mut status = member.commit(&mut client, &done)?;
        done.clear();
        if args.count.is_some_and(|n| printed >= n)
            || (args.exit_at_end && positions.values().all(|p| p.at_end))
        {
            break;
        }
        if status == Status::Stable {
            status = member.heartbeat_if_due(&mut client)?;
        }
        if status == Status::Rejoin {
            member.rejoin(&mut client)?;
            positions = group_positions(&mut client, &mut member, args)?;
        }
    }
    let committed = member.commit(&mut client, &done);
    let left = member.leave(&mut client);
    // A rebalance at exit changes nothing: the member is leaving.
    let _status = committed?;
    left?;
    Ok(ExitCode::SUCCESS)
}

/// Where to read the member's assigned partitions of the topic from: the
/// committed offset, or (none committed) the earliest offset with
/// `--from-beginning` and the latest otherwise. Says on stderr what the
/// group assigned.
fn group_positions(
    client: &mut Client,
    member: &mut GroupMember,
    args: &ConsumeArgs,
) -> anyhow::Result<BTreeMap<i32, Position>> {
    let assigned: Vec<i32> = member
        .assignment()
        .get(&args.topic)
        .cloned()
        .unwrap_or_default();
    eprintln!(
        "group {}: generation {}, member {}{}, assigned partitions [{}] of {}",
        args.group.as_deref().unwrap_or_default(),
        member.generation(),
        member.member_id(),
        if member.is_leader() { " (leader)" } else { "" },
        assigned
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(","),
        args.topic
    );
    if assigned.is_empty() {
        return Ok(BTreeMap::new());
    }
    let topic = client.topic(&args.topic)?;
    let committed = member.committed(client, &args.topic, &assigned)?;
    let mut positions = BTreeMap::new();
    let mut unset = BTreeMap::new();
    for p in topic
        .partitions
        .iter()
        .filter(|p| assigned.contains(&p.partition_index))
    {
        let pos = Position {
            leader: p.leader_id,
            offset: committed.get(&p.partition_index).copied().unwrap_or(-1),
            at_end: false,
        };
        if pos.offset < 0 {
            unset.insert(p.partition_index, pos);
        } else {
            positions.insert(p.partition_index, pos);
        }
    }
    if !unset.is_empty() {
        let timestamp = if args.from_beginning {
            offsets::EARLIEST
        } else {
            offsets::LATEST
        };
        list_offsets(client, &args.topic, timestamp, &mut unset)?;
        positions.extend(unset);
    }
    Ok(positions)
}

/// Prints one record per `--json` or `--format`.
fn write_record(
    out: &mut impl io::Write,
    args: &ConsumeArgs,
    partition: i32,
    f: &Fetched,
) -> anyhow::Result<()> {
    let line = if args.json {
        to_json(&args.topic, partition, f).to_string()
    } else {
        render(&args.format, &args.topic, partition, f)
    };
    out.write_all(line.as_bytes())?;
    out.write_all(b"\n")?;
    Ok(())
}

/// Sets each position to the offset ListOffsets gives for `timestamp`
/// (-2 earliest, -1 latest).
fn list_offsets(
    client: &mut Client,
    topic: &str,
    timestamp: i64,
    positions: &mut BTreeMap<i32, Position>,
) -> anyhow::Result<()> {
    let req = ListOffsetsRequest {
        replica_id: -1,
        topics: vec![ListOffsetsTopic {
            name: topic.into(),
            partitions: positions
                .keys()
                .map(|&p| ListOffsetsPartition {
                    partition_index: p,
                    timestamp,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    };
    // Every partition's leader answers for its own partitions; with one
    // leader (the usual case) a single request does.
    let leader = positions.values().map(|p| p.leader).next().unwrap_or(-1);
    let ResponseBody::ListOffsets(resp) =
        client.leader(leader)?.send(RequestBody::ListOffsets(req))?
    else {
        bail!("ListOffsets answered with another API");
    };
    for p in resp.topics.iter().flat_map(|t| &t.partitions) {
        check(
            &format!("listing offsets of {topic}-{}", p.partition_index),
            p.error_code,
            None,
        )?;
        if let Some(pos) = positions.get_mut(&p.partition_index) {
            pos.offset = p.offset;
        }
    }
    Ok(())
}

/// One Fetch to `leader` for its partitions; returns the new records (by
/// partition, in offset order) and moves the positions past them.
fn fetch(
    client: &mut Client,
    topic: &str,
    leader: i32,
    positions: &mut BTreeMap<i32, Position>,
) -> anyhow::Result<Vec<(i32, Fetched)>> {
    let req = FetchRequest {
        replica_id: -1,
        max_wait_ms: MAX_WAIT_MS,
        min_bytes: 1,
        topics: vec![FetchTopic {
            topic: topic.into(),
            partitions: positions
                .iter()
                .filter(|(_, p)| p.leader == leader)
                .map(|(&partition, p)| FetchPartition {
                    partition,
                    fetch_offset: p.offset,
                    partition_max_bytes: PARTITION_MAX_BYTES,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let ResponseBody::Fetch(resp) = client.leader(leader)?.send(RequestBody::Fetch(req))? else {
        bail!("Fetch answered with another API");
    };
    check("fetching", resp.error_code, None)?;
    let mut out = Vec::new();
    for data in resp.responses.iter().flat_map(|t| &t.partitions) {
        let index = data.partition_index;
        let pos = positions
            .get_mut(&index)
            .ok_or_else(|| anyhow!("Fetch answered for partition {index}, not asked for"))?;
        match ErrorCode(data.error_code) {
            ErrorCode::NONE => {}
            ErrorCode::OFFSET_OUT_OF_RANGE => bail!(
                "offset {} is out of range for {topic}-{index} (log start {})",
                pos.offset,
                data.log_start_offset
            ),
            e => bail!("fetching {topic}-{index}: {e}"),
        }
        if let Some(set) = &data.records {
            for f in read_set(&set.to_bytes())? {
                if f.offset >= pos.offset {
                    pos.offset = f.offset + 1;
                    out.push((index, f));
                }
            }
        }
        pos.at_end = pos.offset >= data.high_watermark;
    }
    Ok(out)
}

/// Bytes as text, invalid UTF-8 replaced.
fn text(b: Option<&[u8]>) -> String {
    b.map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default()
}

/// `k=v,k=v`.
fn headers(f: &Fetched) -> String {
    f.record
        .headers
        .iter()
        .map(|h| format!("{}={}", text(Some(&h.key)), text(h.value.as_deref())))
        .collect::<Vec<_>>()
        .join(",")
}

/// A record through the `--format` template.
fn render(template: &str, topic: &str, partition: i32, f: &Fetched) -> String {
    let mut s = String::new();
    let mut chars = template.chars();
    while let Some(c) = chars.next() {
        match (c, chars.clone().next()) {
            ('%' | '\\', Some(n)) => {
                chars.next();
                match (c, n) {
                    ('%', 'k') => s.push_str(&text(f.record.key.as_deref())),
                    ('%', 'v') => s.push_str(&text(f.record.value.as_deref())),
                    ('%', 'p') => s.push_str(&partition.to_string()),
                    ('%', 'o') => s.push_str(&f.offset.to_string()),
                    ('%', 't') => s.push_str(&f.timestamp.to_string()),
                    ('%', 'h') => s.push_str(&headers(f)),
                    ('%', 'T') => s.push_str(topic),
                    ('%', '%') => s.push('%'),
                    ('\\', 'n') => s.push('\n'),
                    ('\\', 't') => s.push('\t'),
                    ('\\', '\\') => s.push('\\'),
                    (c, n) => {
                        s.push(c);
                        s.push(n);
                    }
                }
            }
            (c, _) => s.push(c),
        }
    }
    s
}

/// A record as a JSON object.
fn to_json(topic: &str, partition: i32, f: &Fetched) -> serde_json::Value {
    let hs: Vec<_> = f
        .record
        .headers
        .iter()
        .map(|h| json!({"key": text(Some(&h.key)), "value": h.value.as_deref().map(|v| text(Some(v)))}))
        .collect();
    json!({
        "topic": topic,
        "partition": partition,
        "offset": f.offset,
        "timestamp": f.timestamp,
        "key": f.record.key.as_deref().map(|k| text(Some(k))),
        "value": f.record.value.as_deref().map(|v| text(Some(v))),
        "headers": hs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use spate_core::records::Record;

    #[test]
    fn template_placeholders() {
        let f = Fetched {
            offset: 7,
            timestamp: 99,
            record: Record::new(
                0,
                0,
                Some(Bytes::from_static(b"k")),
                Some(Bytes::from_static(b"v")),
            )
            .with_header("a", Some(Bytes::from_static(b"1"))),
        };
        let s = render("%T %p %o %t %k=%v [%h] 100%% %x\\t.", "t", 3, &f);
        assert_eq!(s, "t 3 7 99 k=v [a=1] 100% %x\t.");
    }
}
