//! The broker's log cleaner over FileStorage: segments of several batches,
//! groups of segments rewritten into one, crashes and clean restarts in
//! between, checked against a model of what was written.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;

use spate_core::broker::{Broker, Config, Output, PeerInfo};
use spate_core::protocol::header::encode_request;
use spate_core::protocol::messages::create_topics_request::{
    CreatableTopic, CreatableTopicConfig, CreateTopicsRequest,
};
use spate_core::protocol::messages::produce_request::{
    PartitionProduceData, ProduceRequest, TopicProduceData,
};
use spate_core::protocol::messages::request_header::RequestHeader;
use spate_core::protocol::RequestBody;
use spate_core::records::BatchView;

use super::*;

const T0: i64 = 1_700_000_000_000;
const SEGMENT: u64 = 700;
const BACKOFF: i64 = 1_000;

/// A small deterministic generator.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn config() -> Config {
    Config {
        log_segment_bytes: SEGMENT as i64,
        log_cleaner_backoff_ms: BACKOFF,
        ..Config::default()
    }
}

fn request(b: &mut Broker<FileStorage>, corr: i32, version: i16, body: RequestBody, now: i64) {
    let header = RequestHeader {
        request_api_key: body.api_key() as i16,
        request_api_version: version,
        correlation_id: corr,
        client_id: Some("cleaner-test".into()),
        ..Default::default()
    };
    let frame = encode_request(&header, &body).unwrap().slice(4..);
    b.handle_request(1, frame, now);
    while let Some(out) = b.poll_output() {
        assert!(matches!(out, Output::Response { .. }), "{out:?}");
    }
}

fn start(dir: &TempDir, now: i64) -> Broker<FileStorage> {
    let mut b = Broker::new(config(), open(dir, &opts(SEGMENT)), now).unwrap();
    b.handle_connect(1, PeerInfo::default(), now);
    b
}

/// Fires every timer up to `until`.
fn advance(b: &mut Broker<FileStorage>, now: &mut i64, until: i64) {
    while let Some(at) = b.poll_timeout() {
        if at > until {
            break;
        }
        *now = (*now).max(at);
        b.handle_timeout(*now);
    }
    *now = until;
    b.handle_timeout(until);
}

/// (offset, key, value) of every record, and the base of the last batch.
fn read_log(s: &FileStorage, tp: &TopicPartition) -> (Vec<(i64, String, Option<String>)>, i64) {
    let mut out = Vec::new();
    let mut last_base = 0;
    for chunk in s.read(tp, 0, usize::MAX).unwrap() {
        let mut at = 0;
        while at < chunk.len() {
            let v = BatchView::parse(&chunk[at..], at).unwrap();
            last_base = v.header.base_offset;
            for r in v.records() {
                let r = r.unwrap();
                let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
                out.push((
                    v.header.base_offset + i64::from(r.offset_delta),
                    s(r.key.unwrap()),
                    r.value.map(s),
                ));
            }
            at += v.size;
        }
    }
    (out, last_base)
}

#[test]
fn compaction_on_files_keeps_exactly_the_latest_records_across_crashes() {
    let dir = TempDir::new("cleaner-model");
    let tp = TopicPartition::new("model", 0);
    let mut now = T0;
    let mut b = start(&dir, now);
    let configs = [
        ("cleanup.policy", "compact"),
        ("min.cleanable.dirty.ratio", "0"),
        ("delete.retention.ms", "20000"),
    ];
    let create = CreateTopicsRequest {
        topics: vec![CreatableTopic {
            name: "model".into(),
            num_partitions: 1,
            replication_factor: -1,
            configs: configs
                .iter()
                .map(|(k, v)| CreatableTopicConfig {
                    name: (*k).into(),
                    value: Some((*v).into()),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        timeout_ms: 1000,
        ..Default::default()
    };
    request(&mut b, 1, 7, RequestBody::CreateTopics(create), now);
    assert!(b.topic_names().contains(&"model".to_string()));

    let mut rng = Lcg(42);
    let mut written: BTreeMap<i64, (String, Option<String>)> = BTreeMap::new();
    let mut restarts = 0;
    for step in 0..400 {
        match rng.next(20) {
            0..=13 => {
                let n = 1 + rng.next(4) as i32;
                let mut builder = RecordBatchBuilder::new(0, now);
                for i in 0..n {
                    let k = format!("k{}", rng.next(8));
                    let v = (rng.next(7) != 0).then(|| format!("v{step}-{i}"));
                    builder.push(Record::new(
                        i,
                        0,
                        Some(Bytes::from(k.clone())),
                        v.clone().map(Bytes::from),
                    ));
                    written.insert(written.len() as i64, (k, v));
                }
                let body = RequestBody::Produce(ProduceRequest {
                    acks: -1,
                    timeout_ms: 1000,
                    topic_data: vec![TopicProduceData {
                        name: "model".into(),
                        partition_data: vec![PartitionProduceData {
                            index: 0,
                            records: Some(builder.build().unwrap().into()),
                            ..Default::default()
                        }],
                        ..Default::default()
                    }],
                    ..Default::default()
                });
                request(&mut b, 2, 9, body, now);
                b.storage_mut().flush().unwrap();
                assert_eq!(b.storage().end_offset(&tp), written.len() as i64);
            }
            14..=18 => {
                let until = now + rng.next(4_000) as i64;
                advance(&mut b, &mut now, until);
            }
            _ => {
                // A crash (acknowledged data flushed, no clean shutdown),
                // or now and then a clean one.
                let mut s = b.into_storage();
                s.flush().unwrap();
                if rng.next(2) == 0 {
                    s.close().unwrap();
                } else {
                    drop(s);
                }
                restarts += 1;
                b = start(&dir, now);
            }
        }
    }
    let until = now + 3 * BACKOFF;
    advance(&mut b, &mut now, until);
    assert!(restarts > 5);
    let segments = b.storage().segment_bases(&tp).len();
    println!(
        "{restarts} restarts, {segments} segments, {} records written",
        written.len()
    );
    let (log, active_base) = read_log(b.storage(), &tp);
    assert!(
        log.len() < written.len() / 3,
        "{} of {}",
        log.len(),
        written.len()
    );

    // Everything left was written, at its offset.
    assert!(log.windows(2).all(|w| w[0].0 < w[1].0));
    for (o, k, v) in &log {
        assert_eq!(written.get(o), Some(&(k.clone(), v.clone())), "offset {o}");
    }
    // Below the active segment's last batch each key appears once (the
    // active segment may hold several batches: only its last is certain).
    let active_seg = *b.storage().segment_bases(&tp).last().unwrap();
    let mut seen = BTreeSet::new();
    for (o, k, _) in log.iter().filter(|r| r.0 < active_seg) {
        assert!(
            seen.insert(k.clone()),
            "{k} twice below {active_seg} (at {o})"
        );
    }
    assert!(active_seg <= active_base);
    // The last record of every key is the last one written, or a deleted
    // key is gone.
    let mut last_written = BTreeMap::new();
    for (o, (k, v)) in &written {
        last_written.insert(k.clone(), (*o, v.clone()));
    }
    let mut last_in_log = BTreeMap::new();
    for (o, k, v) in &log {
        last_in_log.insert(k.clone(), (*o, v.clone()));
    }
    for (k, want) in &last_written {
        match last_in_log.get(k) {
            Some(got) => assert_eq!(got, want, "{k}"),
            None => assert!(want.1.is_none(), "{k} lost its value"),
        }
    }
    // And the files read the same after one more restart.
    let s = b.into_storage();
    s.close().unwrap();
    let s = open(&dir, &opts(SEGMENT));
    assert_eq!(read_log(&s, &tp).0, log);
    assert!(segments >= 2);
    let names: Vec<String> = fs::read_dir(dir.path().join("model-0"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| n.ends_with(".swap") || n.ends_with(".cleaned")),
        "{names:?}"
    );
}
