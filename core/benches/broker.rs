//! The broker core alone, through `handle_request`: produce of 1 KB and
//! 16 KB batches and fetch of 1 MB, against the peer that bounds them
//! from below, a `memcpy` of the same bytes, measured in the same run.
//!
//! Run with `cargo bench -p spate-core --bench broker`. Goals: a 16 KB
//! produce batch costs under 2 µs plus a memcpy of it (the peer copies the
//! batch into new memory it keeps, as a log append must); a 1 MB fetch
//! copies no record bytes (so it costs far less than a 1 MB memcpy); a
//! produce to one partition costs no more while 1,000 fetches wait on other
//! partitions (its peer: the same produce with no fetch waiting).

// A benchmark measures time; the no-clock rule is for the core itself.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion};
use spate_core::broker::{Broker, Config, Output, PeerInfo};
use spate_core::protocol::header::encode_request;
use spate_core::protocol::messages::create_topics_request::{CreatableTopic, CreateTopicsRequest};
use spate_core::protocol::messages::fetch_request::{FetchPartition, FetchRequest, FetchTopic};
use spate_core::protocol::messages::produce_request::{
    PartitionProduceData, ProduceRequest, TopicProduceData,
};
use spate_core::protocol::messages::request_header::RequestHeader;
use spate_core::protocol::RequestBody;
use spate_core::records::{Record, RecordBatchBuilder};
use spate_core::storage::{MemStorage, Storage, TopicPartition};

const NOW: i64 = 1_700_000_000_000;

fn frame(key: i16, version: i16, body: RequestBody) -> Bytes {
    let header = RequestHeader {
        request_api_key: key,
        request_api_version: version,
        correlation_id: 1,
        client_id: Some("bench".into()),
        ..Default::default()
    };
    encode_request(&header, &body).expect("encode").slice(4..)
}

/// A batch of `n` records of `size` bytes each.
fn batch(n: i32, size: usize) -> Bytes {
    let mut b = RecordBatchBuilder::new(0, NOW);
    for i in 0..n {
        b = b.record(Record::new(i, 0, None, Some(Bytes::from(vec![b'v'; size]))));
    }
    b.build().expect("batch")
}

fn produce_frame(records: Bytes) -> Bytes {
    frame(
        0,
        9,
        RequestBody::Produce(ProduceRequest {
            acks: 1,
            timeout_ms: 1000,
            topic_data: vec![TopicProduceData {
                name: "bench".into(),
                partition_data: vec![PartitionProduceData {
                    index: 0,
                    records: Some(records.into()),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }),
    )
}

fn fetch_frame(max: i32) -> Bytes {
    frame(
        1,
        12,
        RequestBody::Fetch(FetchRequest {
            replica_id: -1,
            max_bytes: max,
            session_epoch: -1,
            topics: vec![FetchTopic {
                topic: "bench".into(),
                partitions: vec![FetchPartition {
                    partition: 0,
                    fetch_offset: 0,
                    partition_max_bytes: max,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }),
    )
}

fn create(b: &mut Broker<MemStorage>, name: &str, partitions: i32) {
    let create = frame(
        19,
        7,
        RequestBody::CreateTopics(CreateTopicsRequest {
            topics: vec![CreatableTopic {
                name: name.into(),
                num_partitions: partitions,
                replication_factor: 1,
                ..Default::default()
            }],
            ..Default::default()
        }),
    );
    b.handle_request(1, create, NOW);
    while b.poll_output().is_some() {}
}

fn broker() -> Broker<MemStorage> {
    let mut b = Broker::new(Config::default(), MemStorage::new(), NOW).expect("broker");
    b.handle_connect(1, PeerInfo::default(), NOW);
    create(&mut b, "bench", 1);
    b
}

/// Partitions of topic `idle`, and connections beside the producer's.
const PARKED: i32 = 1000;

/// Topic `idle` with `n` partitions and a connection for each, and with
/// `park`, a fetch on each connection that waits on its partition (nothing
/// to read, a deadline far away).
fn with_idle(mut b: Broker<MemStorage>, n: i32, park: bool) -> Broker<MemStorage> {
    if n == 0 {
        return b;
    }
    create(&mut b, "idle", n);
    for p in 0..n {
        let conn = 1000 + p as u64;
        b.handle_connect(conn, PeerInfo::default(), NOW);
        if !park {
            continue;
        }
        let wait = frame(
            1,
            12,
            RequestBody::Fetch(FetchRequest {
                replica_id: -1,
                max_wait_ms: i32::MAX,
                min_bytes: 1,
                max_bytes: 1 << 20,
                session_epoch: -1,
                topics: vec![FetchTopic {
                    topic: "idle".into(),
                    partitions: vec![FetchPartition {
                        partition: p,
                        fetch_offset: 0,
                        partition_max_bytes: 1 << 20,
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }),
        );
        b.handle_request(conn, wait, NOW);
        assert!(b.poll_output().is_none(), "the fetch on idle-{p} waits");
    }
    b
}

/// Sends one frame and drains the outputs; returns the bytes of the response.
fn round(b: &mut Broker<MemStorage>, f: &Bytes) -> usize {
    b.handle_request(1, f.clone(), NOW);
    let mut n = 0;
    while let Some(out) = b.poll_output() {
        if let Output::Response { chunks, .. } = out {
            n += chunks.iter().map(Bytes::len).sum::<usize>();
        }
    }
    n
}

fn produce_bench(c: &mut Criterion, label: &str, records: i32, size: usize) -> Bytes {
    produce_group(c, label, records, size, 0)
}

/// Times produce frame `f` to `bench-0`, on a broker with `idle` more
/// partitions and connections, and with `park` a fetch waiting on each.
fn produce_run(g: &mut BenchmarkGroup<'_, WallTime>, name: &str, f: &Bytes, idle: i32, park: bool) {
    g.bench_function(name, |bench| {
        bench.iter_custom(|iters| {
            let mut b = with_idle(broker(), idle, park);
            let tp = TopicPartition::new("bench", 0);
            let mut total = Duration::ZERO;
            let mut done = 0;
            while done < iters {
                let n = (iters - done).min(2000);
                let start = Instant::now();
                for _ in 0..n {
                    black_box(round(&mut b, f));
                }
                total += start.elapsed();
                done += n;
                // Keep memory flat: drop what was appended (not timed).
                let end = b.storage().end_offset(&tp);
                let _ = b.storage_mut().delete_before(&tp, end);
            }
            total
        })
    });
}

/// Produce batches of `records` records of `size` bytes to `bench-0`.
/// With `idle` partitions, a fetch waits on each of them, and the peer is
/// the same broker with none waiting; without, the peer is a memcpy of the
/// batch.
fn produce_group(c: &mut Criterion, label: &str, records: i32, size: usize, idle: i32) -> Bytes {
    let set = batch(records, size);
    let f = produce_frame(set.clone());
    let mut g = c.benchmark_group(label);
    produce_run(&mut g, "spate_produce", &f, idle, idle > 0);
    if idle > 0 {
        produce_run(&mut g, "none_waiting", &f, idle, false);
        g.finish();
        return set;
    }
    // The peer: what storing the batch costs at the least, a copy into new
    // memory that is kept (and trimmed on the same schedule as the log).
    g.bench_function("memcpy", |bench| {
        bench.iter_custom(|iters| {
            let mut kept: Vec<Bytes> = Vec::with_capacity(2000);
            let mut total = Duration::ZERO;
            let mut done = 0;
            while done < iters {
                let n = (iters - done).min(2000);
                let start = Instant::now();
                for _ in 0..n {
                    kept.push(Bytes::copy_from_slice(black_box(&set)));
                }
                total += start.elapsed();
                done += n;
                kept.clear();
            }
            total
        })
    });
    g.finish();
    set
}

fn benches(c: &mut Criterion) {
    produce_bench(c, "produce_1KB_batch", 8, 100);
    produce_bench(c, "produce_16KB_batch", 16, 1000);
    produce_group(c, "produce_1KB_1000_parked", 8, 100, PARKED);
    // Fetch 1 MB: 64 stored 16 KB batches.
    let mut b = broker();
    let f = produce_frame(batch(16, 1000));
    for _ in 0..64 {
        round(&mut b, &f);
    }
    let fetch = fetch_frame(1 << 20);
    let bytes = round(&mut b, &fetch);
    assert!(bytes > 1_000_000, "fetch returns about 1 MB ({bytes})");
    let mut g = c.benchmark_group("fetch_1MB");
    g.bench_function("spate_fetch", |bench| {
        bench.iter(|| black_box(round(&mut b, &fetch)))
    });
    let src = vec![7u8; bytes];
    let mut dst = vec![0u8; bytes];
    g.bench_function("memcpy", |bench| {
        bench.iter(|| {
            dst.copy_from_slice(black_box(&src));
            black_box(dst[0])
        })
    });
    g.finish();
}

fn mean_ns(group: &str, id: &str) -> Option<f64> {
    let dir = std::env::var("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            std::env::current_exe()
                .unwrap_or_default()
                .ancestors()
                .nth(3)
                .map(|p| p.to_path_buf())
                .unwrap_or_default()
        });
    let text = std::fs::read_to_string(
        dir.join("criterion")
            .join(group)
            .join(id)
            .join("new/estimates.json"),
    )
    .ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["mean"]["point_estimate"].as_f64()
}

fn report() {
    println!(
        "\n{:<20} {:>12} {:>12} {:>14} {:>12} {:>10}",
        "case", "spate", "memcpy", "over memcpy", "batches/s", "GB/s"
    );
    for (group, size) in [("produce_1KB_batch", 1.0), ("produce_16KB_batch", 16.0)] {
        if let (Some(s), Some(m)) = (mean_ns(group, "spate_produce"), mean_ns(group, "memcpy")) {
            let per_sec = 1e9 / s;
            println!(
                "{group:<20} {:>9.2} us {:>9.2} us {:>11.2} us {per_sec:>12.0} {:>10.2}",
                s / 1e3,
                m / 1e3,
                (s - m) / 1e3,
                per_sec * size * 1024.0 / 1e9
            );
        }
    }
    if let (Some(s), Some(m)) = (
        mean_ns("fetch_1MB", "spate_fetch"),
        mean_ns("fetch_1MB", "memcpy"),
    ) {
        println!(
            "{:<20} {:>9.2} us {:>9.2} us {:>11.2}x faster than copying {:>12.2} GB/s",
            "fetch_1MB",
            s / 1e3,
            m / 1e3,
            m / s,
            1.048_576e6 / s
        );
    }
    if let (Some(p), Some(s)) = (
        mean_ns("produce_1KB_1000_parked", "spate_produce"),
        mean_ns("produce_1KB_1000_parked", "none_waiting"),
    ) {
        println!(
            "{:<20} {:>9.2} us {:>9.2} us {:>11.2}x the cost with no fetch waiting",
            "produce_1000_parked",
            p / 1e3,
            s / 1e3,
            p / s
        );
    }
    println!("goal: 16 KB produce under 2 us over memcpy; fetch copies no record bytes (faster than memcpy);");
    println!("      a produce costs no more (1.0x, within noise) with 1,000 fetches parked on other partitions");
    println!(
        "      than on the same broker (1,001 partitions, 1,001 connections) with none waiting"
    );
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
        .configure_from_args();
    benches(&mut c);
    c.final_summary();
    report();
}
