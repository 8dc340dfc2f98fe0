//! Starting from a KRaft log directory that Apache Kafka wrote (the fixture
//! in `tests/fixtures/kraft-log-dir/`, built by `spate_e2e::fixture` with
//! Spate's own encoder): Spate serves its topics and returns the record
//! batches of its partition logs byte for byte.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use spate_core::protocol::header::{decode_response, encode_request};
use spate_core::protocol::messages::fetch_request::{FetchPartition, FetchRequest, FetchTopic};
use spate_core::protocol::messages::metadata_request::MetadataRequest;
use spate_core::protocol::messages::request_header::RequestHeader;
use spate_core::protocol::{ApiKey, RequestBody, ResponseBody};
use spate_e2e::{fixture, workspace, Server, TempDir};

fn fixture_dir() -> PathBuf {
    workspace().join("tests/fixtures/kraft-log-dir")
}

fn files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(root).expect("under root").to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// The committed fixture is exactly what the builder writes. Set
/// `SPATE_WRITE_FIXTURE=1` to rewrite it after changing the builder.
#[test]
fn the_fixture_is_what_its_builder_writes() {
    if std::env::var_os("SPATE_WRITE_FIXTURE").is_some() {
        let _ = std::fs::remove_dir_all(fixture_dir());
        std::fs::create_dir_all(fixture_dir()).expect("fixture dir");
        fixture::write(&fixture_dir()).expect("fixture written");
    }
    let fresh = TempDir::new("fixture");
    fixture::write(&fresh.0).expect("fixture written");
    assert_eq!(files(&fresh.0), files(&fixture_dir()));
    for f in files(&fresh.0) {
        assert_eq!(
            std::fs::read(fresh.0.join(&f)).expect("read"),
            std::fs::read(fixture_dir().join(&f)).expect("read"),
            "{}",
            f.display()
        );
    }
}

fn call(stream: &mut TcpStream, corr: i32, version: i16, body: RequestBody) -> ResponseBody {
    let key = body.api_key();
    let header = RequestHeader {
        request_api_key: key as i16,
        request_api_version: version,
        correlation_id: corr,
        client_id: Some("kraft-test".into()),
        ..Default::default()
    };
    stream
        .write_all(&encode_request(&header, &body).expect("encodes"))
        .expect("send");
    let mut size = [0u8; 4];
    stream.read_exact(&mut size).expect("size");
    let mut frame = vec![0u8; i32::from_be_bytes(size) as usize];
    stream.read_exact(&mut frame).expect("frame");
    decode_response(&Bytes::from(frame), key, version)
        .expect("decodes")
        .1
}

#[test]
fn serves_the_topics_and_batches_of_a_kafka_log_dir_byte_for_byte() {
    let dir = TempDir::new("kraft");
    for f in files(&fixture_dir()) {
        let to = dir.0.join(&f);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::copy(fixture_dir().join(&f), to).expect("copy");
    }
    let props = dir.0.join("server.properties");
    std::fs::write(
        &props,
        format!("process.roles=broker,controller\nnode.id=1\nlog.dirs={}\ncontroller.quorum.voters=1@localhost:9093\n", dir.0.display()),
    )
    .expect("properties");
    let props = props.to_string_lossy().into_owned();
    let server = Server::start_with(&[props.as_str()]);
    let mut s = TcpStream::connect(&server.addr).expect("connect");
    let all = MetadataRequest {
        topics: None,
        ..Default::default()
    };
    let ResponseBody::Metadata(m) = call(&mut s, 1, 12, RequestBody::Metadata(all)) else {
        panic!("metadata")
    };
    assert_eq!(m.cluster_id.as_deref(), Some(fixture::CLUSTER_ID));
    assert_eq!(m.topics.len(), 1, "{:?}", m.topics);
    assert_eq!(m.topics[0].name.as_deref(), Some("orders"));
    assert_eq!(m.topics[0].topic_id, fixture::ORDERS_ID);
    assert_eq!(m.topics[0].partitions.len(), 2);
    let fetch = FetchRequest {
        replica_id: -1,
        max_bytes: 1 << 20,
        session_epoch: -1,
        topics: vec![FetchTopic {
            topic: "orders".into(),
            partitions: vec![FetchPartition {
                partition: 0,
                fetch_offset: 0,
                partition_max_bytes: 1 << 20,
                current_leader_epoch: -1,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let ResponseBody::Fetch(f) = call(&mut s, 2, 12, RequestBody::Fetch(fetch)) else {
        panic!("fetch")
    };
    let p = &f.responses[0].partitions[0];
    assert_eq!(p.error_code, 0);
    assert_eq!(p.high_watermark, 5);
    let got = p.records.as_ref().expect("records").to_bytes();
    let want: Vec<u8> = fixture::orders_batches()
        .iter()
        .flat_map(|b| b.to_vec())
        .collect();
    assert_eq!(got.to_vec(), want, "the stored batches, byte for byte");
    assert_eq!(ApiKey::Fetch as i16, 1);
}
