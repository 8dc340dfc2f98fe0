//! Produce and Fetch over a plain socket, encoded and decoded with
//! spate-core's message types: for tests that need a client to misbehave
//! (send slowly, never read) or to hold many connections at once.

use std::io::{self, Read};

use bytes::Bytes;
use spate_core::protocol::header::{decode_response, encode_request};
use spate_core::protocol::messages::fetch_request::{FetchPartition, FetchRequest, FetchTopic};
use spate_core::protocol::messages::produce_request::{
    PartitionProduceData, ProduceRequest, TopicProduceData,
};
use spate_core::protocol::messages::request_header::RequestHeader;
use spate_core::protocol::{ApiKey, RequestBody, ResponseBody};
use spate_core::records::{batches, AnyBatch, Record, RecordBatchBuilder, SetEntry};

/// The Produce version these helpers speak.
pub const PRODUCE_VERSION: i16 = 8;
/// The Fetch version these helpers speak (topic names, no sessions needed).
pub const FETCH_VERSION: i16 = 11;

fn frame(body: RequestBody, version: i16, correlation: i32) -> Bytes {
    let header = RequestHeader {
        request_api_key: body.api_key() as i16,
        request_api_version: version,
        correlation_id: correlation,
        client_id: Some("raw-test".into()),
        ..Default::default()
    };
    encode_request(&header, &body).expect("the request encodes")
}

/// A Produce request (size prefix included) of one batch of `values` to
/// `topic` partition `partition`, with `acks`.
pub fn produce(
    topic: &str,
    partition: i32,
    values: &[Bytes],
    acks: i16,
    correlation: i32,
) -> Bytes {
    let mut b = RecordBatchBuilder::new(0, 0);
    for (i, v) in values.iter().enumerate() {
        b = b.record(Record::new(i as i32, 0, None, Some(v.clone())));
    }
    let batch = b.build().expect("a batch");
    let body = RequestBody::Produce(ProduceRequest {
        acks,
        timeout_ms: 30_000,
        topic_data: vec![TopicProduceData {
            name: topic.into(),
            partition_data: vec![PartitionProduceData {
                index: partition,
                records: Some(batch.into()),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    });
    frame(body, PRODUCE_VERSION, correlation)
}

/// A Fetch request (size prefix included) from `offset` of one partition,
/// answered at once (max wait 0).
pub fn fetch(topic: &str, partition: i32, offset: i64, max_bytes: i32, correlation: i32) -> Bytes {
    let body = RequestBody::Fetch(FetchRequest {
        replica_id: -1,
        max_wait_ms: 0,
        min_bytes: 1,
        max_bytes,
        session_id: 0,
        session_epoch: -1,
        topics: vec![FetchTopic {
            topic: topic.into(),
            partitions: vec![FetchPartition {
                partition,
                current_leader_epoch: -1,
                fetch_offset: offset,
                last_fetched_epoch: -1,
                log_start_offset: -1,
                partition_max_bytes: max_bytes,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    });
    frame(body, FETCH_VERSION, correlation)
}

/// Reads one response frame (without its size prefix).
pub fn read_frame(r: &mut impl Read) -> io::Result<Bytes> {
    let mut size = [0u8; 4];
    r.read_exact(&mut size)?;
    let n = i32::from_be_bytes(size);
    let n = usize::try_from(n).map_err(|_| io::Error::other("negative frame size"))?;
    let mut buf = vec![0u8; n];
    r.read_exact(&mut buf)?;
    Ok(Bytes::from(buf))
}

/// The correlation id of a response frame.
pub fn correlation(frame: &Bytes) -> i32 {
    i32::from_be_bytes(frame[..4].try_into().expect("a response header"))
}

/// A Produce answer's (error code, base offset) for its one partition.
pub fn produced(frame: &Bytes) -> (i16, i64) {
    match decode_response(frame, ApiKey::Produce, PRODUCE_VERSION)
        .expect("a Produce response")
        .1
    {
        ResponseBody::Produce(r) => {
            let p = &r.responses[0].partition_responses[0];
            (p.error_code, p.base_offset)
        }
        other => panic!("not a Produce response: {other:?}"),
    }
}

/// A Fetch answer's error code, high watermark and (offset, value) records
/// for its one partition.
pub fn fetched(frame: &Bytes) -> (i16, i64, Vec<(i64, Bytes)>) {
    let body = match decode_response(frame, ApiKey::Fetch, FETCH_VERSION)
        .expect("a Fetch response")
        .1
    {
        ResponseBody::Fetch(r) => r,
        other => panic!("not a Fetch response: {other:?}"),
    };
    let p = &body.responses[0].partitions[0];
    let mut out = Vec::new();
    let set = p.records.as_ref().map(|r| r.to_bytes()).unwrap_or_default();
    for entry in batches(&set) {
        let SetEntry::Batch(raw) = entry.expect("a record set") else {
            break;
        };
        let AnyBatch::V2(b) = raw.decode().expect("a batch") else {
            panic!("a legacy batch in a v{FETCH_VERSION} fetch");
        };
        for r in b.records().unwrap_or_default() {
            let value = r.value.clone().unwrap_or_default();
            out.push((b.header.base_offset + i64::from(r.offset_delta), value));
        }
    }
    (p.error_code, p.high_watermark, out)
}

/// Resident memory (`VmRSS`, KiB) and open file descriptors of process `pid`.
pub fn rss_and_fds(pid: u32) -> (u64, usize) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count());
    (rss, fds)
}

/// Has the broker at `addr` auto-create `topic` (a Metadata request for
/// it, through `kcat -L`: Produce alone does not create topics).
pub fn create_topic(addr: &str, topic: &str) {
    let out = crate::kcat(&["-b", addr, "-L", "-t", topic], b"");
    assert!(out.status.success(), "kcat -L -t {topic}: {out:?}");
}
