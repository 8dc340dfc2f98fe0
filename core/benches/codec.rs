//! Codec benchmark: Spate against the `kafka-protocol` crate, measured in
//! the same run on the same bytes, with the ratio printed at the end.
//!
//! Run with `cargo bench -p spate-core --bench codec`. Each case decodes a
//! whole message including the record batches it carries (records into
//! keys, values and headers) and encodes it back (building the batches from
//! records). Goal: Spate decodes at least 1.5x faster and encodes no slower.

use std::hint::black_box;
use std::path::PathBuf;

use bytes::{Bytes, BytesMut};
use criterion::Criterion;
use kafka_protocol::protocol::{Decodable, Encodable};
use kafka_protocol::records::{
    Compression as KpCompression, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
};
use spate_core::protocol::messages::fetch_response::{
    FetchResponse, FetchableTopicResponse, PartitionData,
};
use spate_core::protocol::messages::metadata_response::{
    MetadataResponse, MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use spate_core::protocol::messages::produce_request::{
    PartitionProduceData, ProduceRequest, TopicProduceData,
};
use spate_core::protocol::{Message, Reader, Uuid, Wire, Writer};
use spate_core::records::{
    encode_records, BatchHeader, BatchView, Record, RecordBatch, RecordBatchBuilder,
};

const PRODUCE_V: i16 = 9;
const FETCH_V: i16 = 16;
const METADATA_V: i16 = 12;

fn records(n: i32) -> Vec<Record> {
    (0..n)
        .map(|i| {
            Record::new(
                i,
                i64::from(i),
                Some(Bytes::from(format!("key-{i:05}"))),
                Some(Bytes::from(vec![b'v'; 100])),
            )
            .with_header("trace", Some(Bytes::from_static(b"abc")))
        })
        .collect()
}

fn batch(base: i64, recs: &[Record]) -> Bytes {
    let mut b = RecordBatchBuilder::new(base, 1_700_000_000_000);
    for r in recs {
        b = b.record(r.clone());
    }
    b.build().expect("batch")
}

fn produce_request() -> ProduceRequest {
    ProduceRequest {
        transactional_id: None,
        acks: -1,
        timeout_ms: 30_000,
        topic_data: vec![TopicProduceData {
            name: "bench".into(),
            partition_data: vec![PartitionProduceData {
                index: 0,
                records: Some(batch(0, &records(100)).into()),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn fetch_response() -> FetchResponse {
    let recs = records(100);
    FetchResponse {
        responses: vec![FetchableTopicResponse {
            topic: "bench".into(),
            partitions: (0..4)
                .map(|p| PartitionData {
                    partition_index: p,
                    high_watermark: 100,
                    last_stable_offset: 100,
                    log_start_offset: 0,
                    records: Some(batch(0, &recs).into()),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn metadata_response() -> MetadataResponse {
    MetadataResponse {
        brokers: (1..=3)
            .map(|id| MetadataResponseBroker {
                node_id: id,
                host: format!("broker-{id}.example").into(),
                port: 9092,
                ..Default::default()
            })
            .collect(),
        cluster_id: Some("spate-bench-cluster".into()),
        controller_id: 1,
        topics: (0..100)
            .map(|t| MetadataResponseTopic {
                name: Some(format!("topic-{t:03}").into()),
                topic_id: Uuid([t as u8; 16]),
                partitions: (0..6)
                    .map(|p| MetadataResponsePartition {
                        partition_index: p,
                        leader_id: p % 3 + 1,
                        leader_epoch: 4,
                        replica_nodes: vec![1, 2, 3].into(),
                        isr_nodes: vec![1, 2, 3].into(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

/// Decodes the record batch in `set` and reads every record (Spate: checked
/// in place; keys, values and headers borrowed, nothing allocated).
fn spate_records(set: &Bytes) -> usize {
    let view = BatchView::parse(set, 0).expect("batch");
    view.records()
        .map(|r| {
            let r = r.expect("record");
            r.key.map_or(0, <[u8]>::len) + r.value.map_or(0, <[u8]>::len) + r.header_count()
        })
        .sum()
}

/// Decodes the record batch in `set` and reads every record (kafka-protocol).
fn kp_records(set: &Bytes) -> usize {
    let mut buf = set.clone();
    let rs = RecordBatchDecoder::decode(&mut buf).expect("batch");
    rs.records
        .iter()
        .map(|r| {
            r.key.as_ref().map_or(0, |k| k.len())
                + r.value.as_ref().map_or(0, |v| v.len())
                + r.headers.len()
        })
        .sum()
}

fn kp_encode_records(recs: &[kafka_protocol::records::Record]) -> Bytes {
    let mut out = BytesMut::new();
    let opts = RecordEncodeOptions {
        version: 2,
        compression: KpCompression::None,
    };
    RecordBatchEncoder::encode(&mut out, recs.iter(), &opts).expect("kp batch");
    out.freeze()
}

fn benches(c: &mut Criterion) {
    // Produce request with 100 records.
    let produce = produce_request()
        .encode_to_bytes(PRODUCE_V)
        .expect("encode");
    let mut g = c.benchmark_group("produce_100_records");
    g.bench_function("decode/spate", |b| {
        b.iter(|| {
            let mut r = Reader::new(&produce);
            let m = ProduceRequest::decode(&mut r, PRODUCE_V).expect("decode");
            let n: usize = m
                .topic_data
                .iter()
                .flat_map(|t| &t.partition_data)
                .map(|p| {
                    p.records
                        .as_ref()
                        .map_or(0, |r| spate_records(&r.to_bytes()))
                })
                .sum();
            black_box(n)
        })
    });
    g.bench_function("decode/kafka-protocol", |b| {
        b.iter(|| {
            let mut buf = produce.clone();
            let m = kafka_protocol::messages::ProduceRequest::decode(&mut buf, PRODUCE_V)
                .expect("decode");
            let n: usize = m
                .topic_data
                .iter()
                .flat_map(|t| &t.partition_data)
                .map(|p| p.records.as_ref().map_or(0, kp_records))
                .sum();
            black_box(n)
        })
    });
    let spate_recs = records(100);
    let template: BatchHeader = RecordBatch::decode(&batch(0, &spate_recs))
        .expect("batch")
        .header;
    let mut kp_req =
        kafka_protocol::messages::ProduceRequest::decode(&mut produce.clone(), PRODUCE_V)
            .expect("kp decode");
    let kp_recs = RecordBatchDecoder::decode(
        &mut kp_req.topic_data[0].partition_data[0]
            .records
            .clone()
            .expect("records"),
    )
    .expect("kp records")
    .records;
    let mut spate_req = produce_request();
    g.bench_function("encode/spate", |b| {
        let mut out = Writer::with_capacity(32 * 1024);
        b.iter(|| {
            out.clear();
            let mut set = BytesMut::new();
            encode_records(&template, &spate_recs, &mut set).expect("batch");
            spate_req.topic_data[0].partition_data[0].records = Some(set.freeze().into());
            spate_req.encode(&mut out, PRODUCE_V).expect("encode");
            black_box(out.total_len())
        })
    });
    g.bench_function("encode/kafka-protocol", |b| {
        let mut out = BytesMut::with_capacity(32 * 1024);
        b.iter(|| {
            out.clear();
            kp_req.topic_data[0].partition_data[0].records = Some(kp_encode_records(&kp_recs));
            kp_req.encode(&mut out, PRODUCE_V).expect("encode");
            black_box(out.len())
        })
    });
    g.finish();

    // Fetch response: 4 partitions, a 100-record batch each.
    let fetch = fetch_response().encode_to_bytes(FETCH_V).expect("encode");
    let mut g = c.benchmark_group("fetch_response_4x100_records");
    g.bench_function("decode/spate", |b| {
        b.iter(|| {
            let mut r = Reader::new(&fetch);
            let m = FetchResponse::decode(&mut r, FETCH_V).expect("decode");
            let n: usize = m
                .responses
                .iter()
                .flat_map(|t| &t.partitions)
                .map(|p| {
                    p.records
                        .as_ref()
                        .map_or(0, |r| spate_records(&r.to_bytes()))
                })
                .sum();
            black_box(n)
        })
    });
    g.bench_function("decode/kafka-protocol", |b| {
        b.iter(|| {
            let mut buf = fetch.clone();
            let m =
                kafka_protocol::messages::FetchResponse::decode(&mut buf, FETCH_V).expect("decode");
            let n: usize = m
                .responses
                .iter()
                .flat_map(|t| &t.partitions)
                .map(|p| p.records.as_ref().map_or(0, kp_records))
                .sum();
            black_box(n)
        })
    });
    let spate_fetch = fetch_response();
    let kp_fetch = kafka_protocol::messages::FetchResponse::decode(&mut fetch.clone(), FETCH_V)
        .expect("kp decode");
    g.bench_function("encode/spate", |b| {
        let mut out = Writer::with_capacity(64 * 1024);
        b.iter(|| {
            out.clear();
            spate_fetch.encode(&mut out, FETCH_V).expect("encode");
            black_box(out.total_len())
        })
    });
    g.bench_function("encode/kafka-protocol", |b| {
        let mut out = BytesMut::with_capacity(64 * 1024);
        b.iter(|| {
            out.clear();
            kp_fetch.encode(&mut out, FETCH_V).expect("encode");
            black_box(out.len())
        })
    });
    g.finish();

    // Metadata response: 100 topics of 6 partitions.
    let meta = metadata_response()
        .encode_to_bytes(METADATA_V)
        .expect("encode");
    let mut g = c.benchmark_group("metadata_response_100_topics");
    g.bench_function("decode/spate", |b| {
        b.iter(|| {
            let mut r = Reader::new(&meta);
            black_box(MetadataResponse::decode(&mut r, METADATA_V).expect("decode"))
        })
    });
    g.bench_function("decode/kafka-protocol", |b| {
        b.iter(|| {
            let mut buf = meta.clone();
            black_box(
                kafka_protocol::messages::MetadataResponse::decode(&mut buf, METADATA_V)
                    .expect("decode"),
            )
        })
    });
    let spate_meta = metadata_response();
    let kp_meta = kafka_protocol::messages::MetadataResponse::decode(&mut meta.clone(), METADATA_V)
        .expect("kp decode");
    g.bench_function("encode/spate", |b| {
        let mut out = Writer::with_capacity(64 * 1024);
        b.iter(|| {
            out.clear();
            spate_meta.encode(&mut out, METADATA_V).expect("encode");
            black_box(out.total_len())
        })
    });
    g.bench_function("encode/kafka-protocol", |b| {
        let mut out = BytesMut::with_capacity(64 * 1024);
        b.iter(|| {
            out.clear();
            kp_meta.encode(&mut out, METADATA_V).expect("encode");
            black_box(out.len())
        })
    });
    g.finish();
}

/// Where criterion writes its estimates: `<target>/criterion`.
fn criterion_dir() -> PathBuf {
    if let Ok(t) = std::env::var("CARGO_TARGET_DIR") {
        return PathBuf::from(t).join("criterion");
    }
    // target/release/deps/codec-<hash> -> target/criterion
    let exe = std::env::current_exe().unwrap_or_default();
    exe.ancestors()
        .nth(3)
        .map(|t| t.join("criterion"))
        .unwrap_or_default()
}

fn mean_ns(group: &str, id: &str) -> Option<f64> {
    let path = criterion_dir()
        .join(group)
        .join(id)
        .join("new")
        .join("estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["mean"]["point_estimate"].as_f64()
}

fn print_ratios() {
    println!(
        "\n{:<32} {:<7} {:>12} {:>16} {:>9}  goal",
        "case", "op", "spate", "kafka-protocol", "ratio"
    );
    for group in [
        "produce_100_records",
        "fetch_response_4x100_records",
        "metadata_response_100_topics",
    ] {
        for op in ["decode", "encode"] {
            let s = mean_ns(group, &format!("{op}_spate"));
            let k = mean_ns(group, &format!("{op}_kafka-protocol"));
            if let (Some(s), Some(k)) = (s, k) {
                let ratio = k / s;
                let (goal, met) = if op == "decode" {
                    (">= 1.50x", ratio >= 1.5)
                } else {
                    (">= 1.00x", ratio >= 1.0)
                };
                println!(
                    "{group:<32} {op:<7} {:>9.2} us {:>13.2} us {ratio:>8.2}x  {goal} {}",
                    s / 1000.0,
                    k / 1000.0,
                    if met { "met" } else { "NOT MET" }
                );
            }
        }
    }
    println!("ratio = kafka-protocol time / spate time (higher is better for spate)");
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2))
        .sample_size(30)
        .configure_from_args();
    benches(&mut c);
    c.final_summary();
    print_ratios();
}
