//! Writes the seed corpora, `fuzz/corpus/<target>/`, from what the
//! repository already holds: the request frames captured from real clients
//! (`core/tests/vectors/*.bin`), spate-core's example frames of every API
//! (the playground's examples), and log directories written by native's
//! file storage. Run it after changing either (scripts/fuzz --seeds):
//!
//! ```sh
//! cd fuzz && cargo run --example seeds
//! ```
//!
//! Each directory is emptied first, so the corpus is exactly what this
//! writes; file names say where each seed came from.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use spate_core::example::{example_request, example_response, Variant};
use spate_core::json::{decode_request, SizePrefix};
use spate_core::protocol::header::decode_request as decode_frame;
use spate_core::protocol::{ApiKey, RequestBody};
use spate_core::records::{
    encode_message_set, LegacyMessage, Record, RecordBatchBuilder, TimestampType,
};
use spate_core::storage::{BatchMeta, Storage, TopicPartition};
use spate_fuzz::storage::{FileStorage, Options};
use spate_fuzz::{LogDirInput, Step, APPEND_CONTEXT_LEN, STORAGE_FILES};

type Corpus = BTreeMap<String, Vec<u8>>;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let vectors = captured(&root.join("../core/tests/vectors"));
    let examples = examples();
    let corpora: [(&str, Corpus); 7] = [
        ("request", request(&vectors, &examples)),
        ("response", response()),
        ("annotate", annotate(&vectors)),
        ("json", json(&vectors, &examples)),
        ("records", records(&vectors)),
        ("storage", storage()),
        ("broker", broker(&vectors)),
    ];
    for (target, corpus) in corpora {
        let dir = root.join("corpus").join(target);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("creates the corpus directory");
        let bytes: usize = corpus.values().map(Vec::len).sum();
        for (name, data) in &corpus {
            fs::write(dir.join(name), data).expect("writes a seed");
        }
        println!("{target:>9}: {} seeds, {bytes} bytes", corpus.len());
    }
}

/// The captured frames, size prefix included, by file stem.
fn captured(dir: &Path) -> Vec<(String, Bytes)> {
    let mut out: Vec<(String, Bytes)> = fs::read_dir(dir)
        .expect("reads core/tests/vectors")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "bin"))
        .map(|p: PathBuf| {
            let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
            (stem, Bytes::from(fs::read(&p).expect("reads a vector")))
        })
        .collect();
    out.sort();
    out
}

/// Example requests, size prefix included: every API at its lowest version
/// (every field present) and at its highest (mixed: one element per array,
/// unknown tagged fields).
fn examples() -> Vec<(String, Bytes)> {
    let mut out = Vec::new();
    for &key in ApiKey::ALL {
        let v = key.versions();
        out.push((
            format!("{}-v{}-full", key.name(), v.min),
            example_request(key, v.min, 1, Variant::Full),
        ));
        out.push((
            format!("{}-v{}-mixed", key.name(), v.max),
            example_request(key, v.max, 2, Variant::Mixed),
        ));
    }
    out
}

fn request(vectors: &[(String, Bytes)], examples: &[(String, Bytes)]) -> Corpus {
    vectors
        .iter()
        .chain(examples)
        .map(|(n, f)| (n.clone(), f[4..].to_vec()))
        .collect()
}

/// `[index in ApiKey::ALL, version - min]` then an example response
/// without its size prefix, at the lowest and highest versions.
fn response() -> Corpus {
    let mut c = Corpus::new();
    for (i, &key) in ApiKey::ALL.iter().enumerate() {
        let v = key.versions();
        for (version, variant, name) in [
            (v.min, Variant::Full, "full"),
            (v.max, Variant::Mixed, "mixed"),
        ] {
            let mut data = vec![i as u8, (version - v.min) as u8];
            data.extend_from_slice(&example_response(key, version, 3, variant)[4..]);
            c.insert(format!("{}-v{version}-{name}", key.name()), data);
        }
    }
    c
}

/// The captured requests as sent (size prefix included), and the response
/// seeds (the target reads both ways).
fn annotate(vectors: &[(String, Bytes)]) -> Corpus {
    let mut c: Corpus = vectors
        .iter()
        .map(|(n, f)| (n.clone(), f.to_vec()))
        .collect();
    c.extend(
        response()
            .into_iter()
            .map(|(n, d)| (format!("response-{n}"), d)),
    );
    c
}

/// `0` + a request frame, and `1` + the JSON the builder shows for it.
fn json(vectors: &[(String, Bytes)], examples: &[(String, Bytes)]) -> Corpus {
    let mut c = Corpus::new();
    for (name, frame) in vectors.iter().chain(examples) {
        let mut data = vec![0];
        data.extend_from_slice(&frame[4..]);
        c.insert(format!("frame-{name}"), data);
        if let Ok(json) = decode_request(frame, SizePrefix::Present) {
            let mut data = vec![1];
            data.extend_from_slice(serde_json::to_string_pretty(&json).unwrap().as_bytes());
            c.insert(format!("json-{name}"), data);
        }
    }
    c
}

/// A zero context (offset 0, Produce v3, ...) and a record set: those of
/// the captured produces (uncompressed, gzip, snappy, lz4, zstd), built v2
/// batches (idempotent, transactional, LogAppendTime, with headers) and
/// legacy message sets (v0, v1).
fn records(vectors: &[(String, Bytes)]) -> Corpus {
    let mut sets: Vec<(String, Bytes)> = Vec::new();
    for (name, frame) in vectors {
        let Ok((_, RequestBody::Produce(p))) = decode_frame(&frame.slice(4..)) else {
            continue;
        };
        for t in &p.topic_data {
            for part in &t.partition_data {
                if let Some(r) = &part.records {
                    sets.push((name.clone(), r.to_bytes()));
                }
            }
        }
    }
    let rec = |i: i32| {
        Record::new(
            i,
            i64::from(i),
            Some(Bytes::from(format!("k{i}"))),
            Some(Bytes::from("value")),
        )
        .with_header("h", Some(Bytes::from_static(b"x")))
    };
    let plain = RecordBatchBuilder::new(0, 1_700_000_000_000)
        .record(rec(0))
        .record(rec(1));
    let idem = RecordBatchBuilder::new(0, 1_700_000_000_000)
        .producer(7, 0, 0)
        .record(rec(0));
    let txn = RecordBatchBuilder::new(0, 1_700_000_000_000)
        .producer(8, 1, 5)
        .transactional(true)
        .record(rec(0));
    let append_time = RecordBatchBuilder::new(0, 1_700_000_000_000)
        .timestamp_type(TimestampType::LogAppendTime)
        .record(rec(0));
    for (name, b) in [
        ("built-v2", plain),
        ("built-idempotent", idem),
        ("built-transactional", txn),
        ("built-log-append-time", append_time),
    ] {
        sets.push((name.into(), b.build().expect("builds")));
    }
    let v0 = LegacyMessage::new(0, None, Some(Bytes::from("k")), Some(Bytes::from("v")));
    let v1 = LegacyMessage::new(1, Some(1_700_000_000_000), None, Some(Bytes::from("v")));
    sets.push((
        "legacy-v0".into(),
        encode_message_set(&[v0]).expect("encodes"),
    ));
    sets.push((
        "legacy-v1".into(),
        encode_message_set(&[v1]).expect("encodes"),
    ));
    sets.into_iter()
        .map(|(name, set)| {
            let mut data = vec![0; APPEND_CONTEXT_LEN];
            data.extend_from_slice(&set);
            (name, data)
        })
        .collect()
}

/// Log directories native's storage wrote: two partitions, `t-0` rolled
/// at offset 10, with the clean shutdown marker (closed) and without (a
/// crash after a flush), each read back into the target's format.
fn storage() -> Corpus {
    let mut c = Corpus::new();
    for clean in [false, true] {
        let dir = std::env::temp_dir().join(format!("spate-fuzz-seeds-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let first = batch(0, 10);
        let opts = Options {
            segment_bytes: first.0.len() as u64 + 1,
            index_interval_bytes: 64,
            cluster_id: Some("fuzz-cluster-000000000".into()),
            ..Options::default()
        };
        let mut s = FileStorage::open(&dir, opts).expect("opens");
        for p in [0, 1] {
            let tp = TopicPartition::new("t", p);
            s.create_log(&tp, spate_core::protocol::Uuid([7; 16]))
                .expect("creates");
            let (b, m) = batch(0, 10);
            s.append(&tp, b, m).expect("appends");
            let (b, m) = batch(10, 3);
            s.append(&tp, b, m).expect("appends");
        }
        if clean {
            s.close().expect("closes");
        } else {
            s.flush().expect("flushes");
            drop(s);
        }
        let mut input = LogDirInput {
            clean,
            writes: Vec::new(),
        };
        for (i, rel) in STORAGE_FILES.iter().enumerate() {
            if let Ok(bytes) = fs::read(dir.join(rel)) {
                input.writes.push((i as u8, fixed_ids(rel, bytes)));
            }
        }
        let _ = fs::remove_dir_all(&dir);
        c.insert(
            if clean { "closed" } else { "crashed" }.into(),
            input.to_bytes(),
        );
    }
    c
}

/// `meta.properties` with a fixed `directory.id` (the storage picks a
/// random one), so that the seeds are the same on every run.
fn fixed_ids(rel: &str, bytes: Vec<u8>) -> Vec<u8> {
    if rel != "meta.properties" {
        return bytes;
    }
    let text = String::from_utf8(bytes).expect("meta.properties is text");
    text.lines()
        .map(|l| {
            if l.starts_with("directory.id=") {
                "directory.id=AAAAAAAAQACAAAAAAAAAAA".to_string()
            } else {
                l.to_string()
            }
        })
        .map(|l| l + "\n")
        .collect::<String>()
        .into_bytes()
}

/// A v2 batch of `n` records at `base`, and its meta.
fn batch(base: i64, n: i32) -> (Bytes, BatchMeta) {
    let mut b = RecordBatchBuilder::new(base, 1_700_000_000_000);
    for i in 0..n {
        b.push(Record::new(
            i,
            i64::from(i),
            None,
            Some(Bytes::from("value")),
        ));
    }
    let meta = BatchMeta {
        base_offset: base,
        last_offset: base + i64::from(n) - 1,
        max_timestamp: 1_700_000_000_000 + i64::from(n) - 1,
    };
    (b.build().expect("builds"), meta)
}

/// Sessions: each client's captured conversation (ApiVersions, Metadata,
/// Produce) on one connection, a second connection fetching, time jumps;
/// and one session of an example request of every API.
fn broker(vectors: &[(String, Bytes)]) -> Corpus {
    let mut c = Corpus::new();
    let frame = |name: &str| {
        let f = &vectors
            .iter()
            .find(|(n, _)| n == name)
            .expect("a captured vector")
            .1;
        f.slice(4..)
    };
    for client in [
        "librdkafka",
        "librdkafka_gzip",
        "librdkafka_lz4",
        "librdkafka_snappy",
        "librdkafka_zstd",
        "kafka_python_gzip",
    ] {
        let python = client.starts_with("kafka_python");
        let steps = [
            Step::Connect(0),
            Step::Frame(
                0,
                frame(if python {
                    "api_versions_request_v4_kafka_python"
                } else {
                    "api_versions_request_v3_librdkafka"
                }),
            ),
            Step::Frame(
                0,
                frame(if python {
                    "metadata_request_v12_kafka_python"
                } else {
                    "metadata_request_v12_librdkafka"
                }),
            ),
            Step::Frame(0, frame(&format!("produce_request_v9_{client}"))),
            Step::Advance(1_000),
            Step::Connect(1),
            Step::Example {
                conn: 1,
                key: index(ApiKey::Fetch),
                version: 0,
                variant: 1,
                seed: 0,
            },
            Step::Frame(1, frame(&format!("produce_request_v9_{client}"))),
            Step::Timeout,
            Step::Disconnect(0),
            Step::Advance(60_000),
            Step::Timeout,
        ];
        c.insert(format!("session-{client}"), steps_bytes(&steps));
    }
    let mut all = vec![Step::Connect(0), Step::Connect(1)];
    for (i, _) in ApiKey::ALL.iter().enumerate() {
        all.push(Step::Example {
            conn: (i % 2) as u8,
            key: i as u8,
            version: 0,
            variant: 2,
            seed: i as u8,
        });
        if i % 10 == 9 {
            all.push(Step::Timeout);
        }
    }
    c.insert("session-every-api".into(), steps_bytes(&all));
    let groups = [
        Step::Example {
            conn: 0,
            key: index(ApiKey::FindCoordinator),
            version: 0,
            variant: 1,
            seed: 0,
        },
        Step::Example {
            conn: 0,
            key: index(ApiKey::JoinGroup),
            version: 0,
            variant: 1,
            seed: 0,
        },
        Step::Example {
            conn: 1,
            key: index(ApiKey::JoinGroup),
            version: 0,
            variant: 1,
            seed: 1,
        },
        Step::Advance(3_000),
        Step::Timeout,
        Step::Example {
            conn: 0,
            key: index(ApiKey::SyncGroup),
            version: 0,
            variant: 1,
            seed: 0,
        },
        Step::Example {
            conn: 0,
            key: index(ApiKey::Heartbeat),
            version: 0,
            variant: 1,
            seed: 0,
        },
        Step::Disconnect(1),
        Step::Timeout,
        Step::Timeout,
    ];
    c.insert("session-groups".into(), steps_bytes(&groups));
    c
}

fn index(key: ApiKey) -> u8 {
    ApiKey::ALL
        .iter()
        .position(|&k| k == key)
        .expect("a known API") as u8
}

fn steps_bytes(steps: &[Step]) -> Vec<u8> {
    let mut out = Vec::new();
    for s in steps {
        s.write(&mut out);
    }
    out
}
