//! `spate produce`: send lines from stdin or a file as records.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::clock::now_ms;

use anyhow::{anyhow, bail, Context as _};
use bytes::Bytes;
use clap::Args;
use serde_json::json;
use spate_core::protocol::messages::produce_request::{
    PartitionProduceData, ProduceRequest, TopicProduceData,
};
use spate_core::protocol::{RequestBody, ResponseBody};
use spate_core::records::{Compression, Record};

use crate::client::records::{build_batch, partition_for_key};
use crate::client::{check, key_value, Client, ConnArgs};

/// Produce records, one per input line.
///
/// Partitions: `--partition` when given; otherwise the key's murmur2 hash,
/// as Kafka's default partitioner; records without a key go round-robin.
#[derive(Debug, Args)]
pub(crate) struct ProduceArgs {
    /// Where the brokers are.
    #[command(flatten)]
    conn: ConnArgs,
    /// The topic.
    topic: String,
    /// Read lines from this file instead of stdin.
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
    /// Split each line at the first SEP: key before it, value after (a
    /// line without SEP gets a null key).
    #[arg(long, value_name = "SEP")]
    key_separator: Option<String>,
    /// A header added to every record, `KEY=VALUE`; repeatable.
    #[arg(long = "header", value_name = "KEY=VALUE", value_parser = key_value)]
    headers: Vec<(String, String)>,
    /// Send every record to this partition.
    #[arg(long)]
    partition: Option<i32>,
    /// Acknowledgements: 0 (none), 1 (leader) or -1/all (all in-sync replicas).
    #[arg(long, default_value = "-1", value_parser = parse_acks)]
    acks: i16,
    /// Compression codec: none, gzip, snappy, lz4, zstd.
    #[arg(long, default_value = "none", value_parser = parse_codec)]
    compression: Compression,
    /// Bytes per batch (per partition), as Kafka's `batch.size`: records
    /// are gathered until the next would take the batch, uncompressed,
    /// past this many bytes; a record larger than that goes alone.
    #[arg(long, value_name = "BYTES", default_value_t = 16384, value_parser = clap::value_parser!(u32).range(1..))]
    batch_size: u32,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    json: bool,
}

/// Parses `--acks`.
fn parse_acks(s: &str) -> Result<i16, String> {
    match s {
        "0" => Ok(0),
        "1" => Ok(1),
        "-1" | "all" => Ok(-1),
        _ => Err(format!("`{s}` is not 0, 1, -1 or all")),
    }
}

/// Parses `--compression`.
fn parse_codec(s: &str) -> Result<Compression, String> {
    (0..=4)
        .filter_map(Compression::from_id)
        .find(|c| c.name() == s)
        .ok_or_else(|| format!("`{s}` is not none, gzip, snappy, lz4 or zstd"))
}

/// The state of one run: where records go and what was sent.
struct Producer {
    /// The client.
    client: Client,
    /// The options.
    args: ProduceArgs,
    /// Leader node id of each partition, by partition index.
    leaders: Vec<i32>,
    /// Records waiting, per partition, with their timestamps.
    pending: Vec<Vec<(i64, Record)>>,
    /// Estimated encoded size of each partition's waiting batch.
    pending_bytes: Vec<usize>,
    /// Next partition for a record without a key.
    next_rr: usize,
    /// Records sent.
    records: u64,
    /// Key and value bytes sent.
    bytes: u64,
}

/// Runs `spate produce`.
pub(crate) fn run(args: ProduceArgs) -> anyhow::Result<ExitCode> {
    let mut client = Client::connect(&args.conn)?;
    let topic = client.topic(&args.topic)?;
    let mut parts: Vec<_> = topic
        .partitions
        .iter()
        .map(|p| (p.partition_index, p.leader_id))
        .collect();
    parts.sort_unstable();
    let leaders: Vec<i32> = parts.iter().map(|&(_, l)| l).collect();
    if leaders.is_empty() {
        bail!("topic `{}` has no partitions", args.topic);
    }
    if let Some(p) = args.partition {
        if usize::try_from(p).map_or(true, |p| p >= leaders.len()) {
            bail!(
                "topic `{}` has no partition {p} (it has {})",
                args.topic,
                leaders.len()
            );
        }
    }
    let input: Box<dyn BufRead> = match &args.file {
        Some(path) => Box::new(BufReader::new(
            File::open(path).with_context(|| format!("opening {}", path.display()))?,
        )),
        None => Box::new(BufReader::new(io::stdin())),
    };
    let show_progress = args.file.is_some();
    let mut p = Producer {
        client,
        pending: vec![Vec::new(); leaders.len()],
        pending_bytes: vec![0; leaders.len()],
        leaders,
        args,
        next_rr: 0,
        records: 0,
        bytes: 0,
    };
    let started = Instant::now();
    let mut last_progress = started;
    for line in split_lines(input) {
        let line = line.context("reading input")?;
        p.push(&line)?;
        if show_progress && last_progress.elapsed() >= Duration::from_secs(1) {
            last_progress = Instant::now();
            eprintln!("{} records, {} bytes sent", p.records, p.bytes);
        }
    }
    for partition in 0..p.pending.len() {
        p.flush(partition)?;
    }
    let secs = started.elapsed().as_secs_f64();
    if p.args.json {
        let out =
            json!({"topic": p.args.topic, "records": p.records, "bytes": p.bytes, "seconds": secs});
        outln!("{out}")?;
    } else {
        let rate = if secs > 0.0 {
            p.records as f64 / secs
        } else {
            0.0
        };
        eprintln!(
            "produced {} records ({} bytes) to {} in {secs:.2}s ({rate:.0} records/s)",
            p.records, p.bytes, p.args.topic
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The lines of `input` as bytes, without their `\n` or `\r\n`.
fn split_lines(mut input: Box<dyn BufRead>) -> impl Iterator<Item = io::Result<Vec<u8>>> {
    std::iter::from_fn(move || {
        let mut buf = Vec::new();
        match input.read_until(b'\n', &mut buf) {
            Ok(0) => None,
            Ok(_) => {
                if buf.last() == Some(&b'\n') {
                    buf.pop();
                    if buf.last() == Some(&b'\r') {
                        buf.pop();
                    }
                }
                Some(Ok(buf))
            }
            Err(e) => Some(Err(e)),
        }
    })
}

impl Producer {
    /// Turns a line into a record, queues it, and sends its partition's
    /// batch when full.
    fn push(&mut self, line: &[u8]) -> anyhow::Result<()> {
        let (key, value) = match self.args.key_separator.as_deref().map(str::as_bytes) {
            Some(sep) if !sep.is_empty() => match find(line, sep) {
                Some(i) => (Some(&line[..i]), &line[i + sep.len()..]),
                None => (None, line),
            },
            _ => (None, line),
        };
        let n = self.leaders.len();
        let partition = match (self.args.partition, key) {
            (Some(p), _) => p as usize,
            (None, Some(k)) => partition_for_key(k, n as i32) as usize,
            (None, None) => {
                self.next_rr = (self.next_rr + 1) % n;
                self.next_rr
            }
        };
        let mut record = Record::new(
            0,
            0,
            key.map(Bytes::copy_from_slice),
            Some(Bytes::copy_from_slice(value)),
        );
        for (k, v) in &self.args.headers {
            record = record.with_header(k, Some(Bytes::copy_from_slice(v.as_bytes())));
        }
        self.bytes += (key.map_or(0, <[u8]>::len) + value.len()) as u64;
        let now = now_ms();
        let limit = self.args.batch_size as usize;
        // Its size where it would go, then alone in a new batch if it
        // does not fit.
        let mut size = self.sized(&mut record, partition, now);
        if !self.pending[partition].is_empty() && self.pending_bytes[partition] + size > limit {
            self.flush(partition)?;
            size = self.sized(&mut record, partition, now);
        }
        if self.pending[partition].is_empty() {
            self.pending_bytes[partition] = BATCH_OVERHEAD;
        }
        self.pending[partition].push((now, record));
        self.pending_bytes[partition] += size;
        Ok(())
    }

    /// Gives `record` the deltas it gets as the next record of
    /// `partition`'s batch, and returns its encoded size there.
    fn sized(&mut self, record: &mut Record, partition: usize, now: i64) -> usize {
        let queue = &self.pending[partition];
        record.offset_delta = queue.len() as i32;
        record.timestamp_delta = queue.first().map_or(0, |&(base, _)| now - base);
        record_size(record)
    }

    /// Sends the records waiting for `partition` as one batch to its leader.
    fn flush(&mut self, partition: usize) -> anyhow::Result<()> {
        let queue = std::mem::take(&mut self.pending[partition]);
        let Some(&(base_ts, _)) = queue.first() else {
            return Ok(());
        };
        let count = queue.len() as u64;
        let records: Vec<Record> = queue
            .into_iter()
            .enumerate()
            .map(|(i, (ts, mut r))| {
                r.offset_delta = i as i32;
                r.timestamp_delta = ts - base_ts;
                r
            })
            .collect();
        let batch = build_batch(base_ts, records, self.args.compression)?;
        let req = ProduceRequest {
            acks: self.args.acks,
            timeout_ms: 30_000,
            topic_data: vec![TopicProduceData {
                name: self.args.topic.as_str().into(),
                partition_data: vec![PartitionProduceData {
                    index: partition as i32,
                    records: Some(batch.into()),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let conn = self.client.leader(self.leaders[partition])?;
        if self.args.acks == 0 {
            conn.send_only(RequestBody::Produce(req))?;
            self.records += count;
            return Ok(());
        }
        let ResponseBody::Produce(resp) = conn.send(RequestBody::Produce(req))? else {
            bail!("Produce answered with another API");
        };
        let part = resp
            .responses
            .iter()
            .flat_map(|t| &t.partition_responses)
            .find(|r| r.index == partition as i32)
            .ok_or_else(|| anyhow!("Produce answered without partition {partition}"))?;
        check(
            &format!("producing to {}-{partition}", self.args.topic),
            part.error_code,
            part.error_message.as_ref(),
        )?;
        self.records += count;
        Ok(())
    }
}

/// Bytes of a v2 batch before its first record.
const BATCH_OVERHEAD: usize = 61;

/// A record's encoded size in a v2 batch, with its deltas as set.
fn record_size(r: &Record) -> usize {
    let bytes = |b: &Option<Bytes>| {
        b.as_ref()
            .map_or(varint(-1), |b| varint(b.len() as i64) + b.len())
    };
    let headers: usize = r
        .headers
        .iter()
        .map(|h| varint(h.key.len() as i64) + h.key.len() + bytes(&h.value))
        .sum();
    let body = 1
        + varint(r.timestamp_delta)
        + varint(i64::from(r.offset_delta))
        + bytes(&r.key)
        + bytes(&r.value)
        + varint(r.headers.len() as i64)
        + headers;
    varint(body as i64) + body
}

/// Length of `v` as a zigzag varint.
fn varint(v: i64) -> usize {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    let mut n = 1;
    while z >= 0x80 {
        z >>= 7;
        n += 1;
    }
    n
}

/// The first position of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_size_is_the_encoded_size() {
        for (key, value, headers) in [
            (None, Some(&b"v"[..]), 0),
            (Some(&b"key"[..]), Some(&[7u8; 300][..]), 2),
            (Some(&b""[..]), None, 1),
        ] {
            let mut r = Record::new(
                0,
                1_000,
                key.map(Bytes::copy_from_slice),
                value.map(Bytes::copy_from_slice),
            );
            for i in 0..headers {
                r = r.with_header(&format!("h{i}"), Some(Bytes::from_static(b"hv")));
            }
            let one = build_batch(0, vec![r.clone()], Compression::None).unwrap();
            let encoded = one.len() - BATCH_OVERHEAD;
            assert!(
                record_size(&r) >= encoded,
                "{} < {encoded}",
                record_size(&r)
            );
            assert!(
                record_size(&r) <= encoded + 40,
                "a loose bound wastes batch space"
            );
        }
    }
}
