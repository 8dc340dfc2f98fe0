//! The broker core in virtual time: byte-level exchanges through the
//! codec, parking and ordering, restarts, retention, malformed input.

mod sim;

use bytes::Bytes;
use sim::{batch, Event, Sim, T0};
use spate_core::protocol::messages::api_versions_request::ApiVersionsRequest;
use spate_core::protocol::messages::create_topics_request::{CreatableTopic, CreateTopicsRequest};
use spate_core::protocol::messages::fetch_request::{FetchPartition, FetchRequest, FetchTopic};
use spate_core::protocol::messages::fetch_response::PartitionData;
use spate_core::protocol::messages::metadata_request::{MetadataRequest, MetadataRequestTopic};
use spate_core::protocol::messages::produce_response::PartitionProduceResponse;
use spate_core::protocol::{ApiKey, ErrorCode, RequestBody, ResponseBody};
use spate_core::records::BatchView;

fn create(sim: &mut Sim, name: &str, partitions: i32, configs: &[(&str, &str)]) -> i16 {
    sim.create_topic_with(name, partitions, configs).error_code
}

fn produce(sim: &mut Sim, topic: &str, partition: i32, records: Bytes) -> PartitionProduceResponse {
    match sim.call(98, 9, sim::produce_request(topic, partition, records, -1)) {
        ResponseBody::Produce(r) => r.responses[0].partition_responses[0].clone(),
        other => panic!("{other:?}"),
    }
}

fn fetch_req(
    topic: &str,
    partition: i32,
    offset: i64,
    min_bytes: i32,
    max_wait_ms: i32,
) -> RequestBody {
    RequestBody::Fetch(FetchRequest {
        replica_id: -1,
        max_wait_ms,
        min_bytes,
        max_bytes: 1 << 20,
        session_epoch: -1,
        topics: vec![FetchTopic {
            topic: topic.into(),
            partitions: vec![FetchPartition {
                partition,
                fetch_offset: offset,
                partition_max_bytes: 1 << 20,
                current_leader_epoch: -1,
                log_start_offset: -1,
                last_fetched_epoch: -1,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    })
}

fn fetched(body: &ResponseBody) -> PartitionData {
    match body {
        ResponseBody::Fetch(r) => r.responses[0].partitions[0].clone(),
        other => panic!("{other:?}"),
    }
}

/// Values of every record in a fetched record set, with offsets.
fn values(p: &PartitionData) -> Vec<(i64, String)> {
    let set = p.records.as_ref().map(|r| r.to_bytes()).unwrap_or_default();
    let mut out = Vec::new();
    let mut at = 0;
    while at < set.len() {
        let view = BatchView::parse(&set[at..], at).expect("batch");
        for r in view.records() {
            let r = r.expect("record");
            out.push((
                view.header.base_offset + i64::from(r.offset_delta),
                String::from_utf8_lossy(r.value.unwrap_or_default()).into_owned(),
            ));
        }
        at += view.size;
    }
    out
}

#[test]
fn api_versions_lists_what_is_served_and_answers_unknown_versions_in_v0() {
    let mut sim = Sim::new();
    let ResponseBody::ApiVersions(r) = sim.call(
        1,
        3,
        RequestBody::ApiVersions(ApiVersionsRequest {
            client_software_name: "sim".into(),
            client_software_version: "1".into(),
            ..Default::default()
        }),
    ) else {
        panic!()
    };
    assert_eq!(r.error_code, 0);
    let keys: Vec<i16> = r.api_keys.iter().map(|k| k.api_key).collect();
    for k in [
        ApiKey::Produce,
        ApiKey::Fetch,
        ApiKey::Metadata,
        ApiKey::ApiVersions,
        ApiKey::CreateTopics,
    ] {
        assert!(keys.contains(&(k as i16)), "{k:?} advertised");
    }
    let produce = r.api_keys.iter().find(|k| k.api_key == 0).unwrap();
    assert_eq!((produce.min_version, produce.max_version), (0, 13));

    // ApiVersions v99: error 35 in a v0 body that still lists the APIs.
    sim.expect(1, 42, ApiKey::ApiVersions, 0);
    sim.send_raw(
        1,
        Bytes::from_static(&[0, 18, 0, 99, 0, 0, 0, 42, 0, 3, b's', b'i', b'm', 0]),
    );
    let ev = sim.take(1);
    let [Event::Response(42, ResponseBody::ApiVersions(r))] = ev.as_slice() else {
        panic!("{ev:?}")
    };
    assert_eq!(r.error_code, ErrorCode::UNSUPPORTED_VERSION.code());
    assert!(!r.api_keys.is_empty());
}

#[test]
fn metadata_auto_creates_and_reports_unknown_topics() {
    let mut sim = Sim::new();
    let req = |names: &[&str], auto: bool| {
        RequestBody::Metadata(MetadataRequest {
            topics: Some(
                names
                    .iter()
                    .map(|n| MetadataRequestTopic {
                        name: Some((*n).into()),
                        ..Default::default()
                    })
                    .collect(),
            ),
            allow_auto_topic_creation: auto,
            ..Default::default()
        })
    };
    let ResponseBody::Metadata(r) = sim.call(1, 12, req(&["orders"], false)) else {
        panic!()
    };
    assert_eq!(
        r.topics[0].error_code,
        ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.code()
    );
    assert_eq!(r.brokers[0].port, 9092);
    let ResponseBody::Metadata(r) = sim.call(1, 12, req(&["orders"], true)) else {
        panic!()
    };
    assert_eq!(r.topics[0].error_code, 0);
    assert_eq!(r.topics[0].partitions.len(), 1);
    assert_ne!(r.topics[0].topic_id, spate_core::protocol::Uuid::ZERO);
    // v0 with an empty list means every topic; the metadata log is not listed.
    let ResponseBody::Metadata(r) = sim.call(
        1,
        0,
        RequestBody::Metadata(MetadataRequest {
            topics: Some(vec![]),
            ..Default::default()
        }),
    ) else {
        panic!()
    };
    assert_eq!(r.topics.len(), 1);
    assert_eq!(r.topics[0].name.as_deref(), Some("orders"));
}

#[test]
fn create_topics_validates_like_kafka() {
    let mut sim = Sim::new();
    assert_eq!(create(&mut sim, "t1", 3, &[("retention.ms", "1000")]), 0);
    assert_eq!(
        create(&mut sim, "t1", 3, &[]),
        ErrorCode::TOPIC_ALREADY_EXISTS.code()
    );
    assert_eq!(
        create(&mut sim, "bad name!", 1, &[]),
        ErrorCode::INVALID_TOPIC_EXCEPTION.code()
    );
    assert_eq!(
        create(&mut sim, "t2", 0, &[]),
        ErrorCode::INVALID_PARTITIONS.code()
    );
    assert_eq!(
        create(&mut sim, "t3", 1, &[("no.such.config", "1")]),
        ErrorCode::INVALID_CONFIG.code()
    );
    assert_eq!(
        create(&mut sim, "t4", 1, &[("cleanup.policy", "shred")]),
        ErrorCode::INVALID_CONFIG.code()
    );
    let rf3 = CreateTopicsRequest {
        topics: vec![CreatableTopic {
            name: "t5".into(),
            num_partitions: 1,
            replication_factor: 3,
            ..Default::default()
        }],
        ..Default::default()
    };
    let ResponseBody::CreateTopics(r) = sim.call(1, 7, RequestBody::CreateTopics(rf3)) else {
        panic!()
    };
    assert_eq!(
        r.topics[0].error_code,
        ErrorCode::INVALID_REPLICATION_FACTOR.code()
    );
    let validate = CreateTopicsRequest {
        topics: vec![CreatableTopic {
            name: "t6".into(),
            num_partitions: 2,
            replication_factor: 1,
            ..Default::default()
        }],
        validate_only: true,
        ..Default::default()
    };
    let ResponseBody::CreateTopics(r) = sim.call(1, 7, RequestBody::CreateTopics(validate)) else {
        panic!()
    };
    assert_eq!(r.topics[0].error_code, 0);
    assert!(
        !sim.broker.topic_names().contains(&"t6".to_string()),
        "validate_only creates nothing"
    );
}

#[test]
fn produce_assigns_dense_offsets_and_fetch_returns_the_records() {
    let mut sim = Sim::new();
    create(&mut sim, "t", 1, &[]);
    let r = produce(&mut sim, "t", 0, batch(3, "a"));
    assert_eq!((r.error_code, r.base_offset), (0, 0));
    let r = produce(&mut sim, "t", 0, batch(2, "b"));
    assert_eq!((r.error_code, r.base_offset), (0, 3));
    let p = fetched(&sim.call(1, 12, fetch_req("t", 0, 0, 1, 0)));
    assert_eq!(p.high_watermark, 5);
    assert_eq!(
        values(&p),
        vec![
            (0, "a-0".into()),
            (1, "a-1".into()),
            (2, "a-2".into()),
            (3, "b-0".into()),
            (4, "b-1".into())
        ]
    );
    // From the middle: the batch holding offset 4 starts at 3.
    let p = fetched(&sim.call(1, 12, fetch_req("t", 0, 4, 1, 0)));
    assert_eq!(values(&p).first().map(|v| v.0), Some(3));
    // Out of range.
    let p = fetched(&sim.call(1, 12, fetch_req("t", 0, 6, 1, 0)));
    assert_eq!(p.error_code, ErrorCode::OFFSET_OUT_OF_RANGE.code());
    // Unknown topic / partition.
    assert_eq!(
        produce(&mut sim, "nope", 0, batch(1, "x")).error_code,
        ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.code()
    );
    assert_eq!(
        produce(&mut sim, "t", 7, batch(1, "x")).error_code,
        ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.code()
    );
}

#[test]
fn acks_zero_gets_no_response_but_is_appended() {
    let mut sim = Sim::new();
    create(&mut sim, "t", 1, &[]);
    sim.send(1, 9, sim::produce_request("t", 0, batch(2, "z"), 0));
    assert!(sim.take(1).is_empty());
    let p = fetched(&sim.call(1, 12, fetch_req("t", 0, 0, 1, 0)));
    assert_eq!(values(&p).len(), 2);
}

#[test]
fn fetch_parks_until_data_arrives_or_max_wait_passes() {
    let mut sim = Sim::new();
    create(&mut sim, "t", 1, &[]);
    // Nothing to read: parks for 500 ms.
    sim.send(1, 12, fetch_req("t", 0, 0, 1, 500));
    assert!(sim.take(1).is_empty());
    assert_eq!(sim.broker.poll_timeout(), Some(T0 + 500));
    // 200 ms later a produce on another connection wakes it at once.
    sim.advance(200);
    assert!(sim.take(1).is_empty());
    produce(&mut sim, "t", 0, batch(1, "late"));
    let p = fetched(&sim.one(1));
    assert_eq!(values(&p), vec![(0, "late-0".into())]);

    // With no data it answers exactly at its deadline, empty.
    sim.send(1, 12, fetch_req("t", 0, 1, 1, 300));
    let parked_at = sim.now;
    assert!(sim.step(10_000));
    assert_eq!(sim.now, parked_at + 300);
    let p = fetched(&sim.one(1));
    assert_eq!(p.error_code, 0);
    assert!(values(&p).is_empty());
}

#[test]
fn a_parked_request_keeps_later_responses_in_order() {
    let mut sim = Sim::new();
    create(&mut sim, "t", 1, &[]);
    let fetch = sim.send(1, 12, fetch_req("t", 0, 0, 1, 1000));
    let meta = sim.send(1, 12, RequestBody::Metadata(MetadataRequest::default()));
    assert!(
        sim.take(1).is_empty(),
        "metadata waits behind the parked fetch"
    );
    sim.advance(1000);
    let ev = sim.take(1);
    let corrs: Vec<i32> = ev
        .iter()
        .map(|e| match e {
            Event::Response(c, _) => *c,
            Event::Closed(r) => panic!("{r}"),
        })
        .collect();
    assert_eq!(corrs, vec![fetch, meta]);
}

#[test]
fn a_disconnect_drops_parked_work() {
    let mut sim = Sim::new();
    create(&mut sim, "t", 1, &[]);
    sim.send(1, 12, fetch_req("t", 0, 0, 1, 1000));
    sim.disconnect(1);
    assert_eq!(sim.broker.poll_timeout().filter(|t| *t <= T0 + 1000), None);
    produce(&mut sim, "t", 0, batch(1, "x"));
    sim.advance(2000);
    assert!(sim.take(1).is_empty());
}

#[test]
fn a_restarted_broker_sees_the_same_topics_configs_and_offsets() {
    let mut sim = Sim::new();
    create(&mut sim, "keep", 2, &[("retention.ms", "123456")]);
    produce(&mut sim, "keep", 1, batch(4, "v"));
    let mut again = sim.restart();
    assert_eq!(again.broker.topic_names(), sim.broker.topic_names());
    let p = fetched(&again.call(1, 12, fetch_req("keep", 1, 0, 1, 0)));
    assert_eq!(p.high_watermark, 4);
    assert_eq!(
        create(&mut again, "keep", 1, &[]),
        ErrorCode::TOPIC_ALREADY_EXISTS.code()
    );
    // New topics get ids unlike the old ones.
    create(&mut again, "fresh", 1, &[]);
    let ResponseBody::Metadata(m) = again.call(
        1,
        12,
        RequestBody::Metadata(MetadataRequest {
            topics: None,
            ..Default::default()
        }),
    ) else {
        panic!()
    };
    let ids: Vec<_> = m.topics.iter().map(|t| t.topic_id).collect();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1]);
}

#[test]
fn retention_deletes_old_batches_on_its_timer() {
    let mut sim = Sim::new();
    create(&mut sim, "short", 1, &[("retention.ms", "60000")]);
    produce(&mut sim, "short", 0, batch(2, "old"));
    // The batch timestamps are T0; five minutes later the check runs.
    sim.advance(5 * 60 * 1000);
    let p = fetched(&sim.call(1, 12, fetch_req("short", 0, 2, 1, 0)));
    assert_eq!(p.log_start_offset, 2);
    assert_eq!(p.high_watermark, 2);
}

#[test]
fn malformed_frames_close_only_their_connection() {
    let mut sim = Sim::new();
    create(&mut sim, "t", 1, &[]);
    sim.connect(2);
    sim.connect(3);
    sim.connect(4);
    sim.send_raw(2, Bytes::from_static(&[0x7f, 0x7f, 0, 0, 0, 0, 0, 1]));
    sim.send_raw(3, Bytes::from_static(&[0, 3, 0x40, 0, 0, 0, 0, 1]));
    sim.send_raw(4, Bytes::from_static(&[0, 3]));
    for c in [2, 3, 4] {
        assert!(
            matches!(sim.take(c).as_slice(), [Event::Closed(_)]),
            "conn {c} closed"
        );
    }
    assert_eq!(produce(&mut sim, "t", 0, batch(1, "still")).error_code, 0);
}

#[test]
fn fetch_responses_carry_stored_batches_by_reference() {
    use spate_core::broker::Output;
    use spate_core::protocol::header::encode_request;
    use spate_core::protocol::messages::request_header::RequestHeader;
    use spate_core::storage::{Storage, TopicPartition};
    let mut sim = Sim::new();
    create(&mut sim, "big", 1, &[]);
    let value = "x".repeat(4000);
    produce(&mut sim, "big", 0, batch(4, &value));
    produce(&mut sim, "big", 0, batch(4, &value));
    let stored = sim
        .broker
        .storage()
        .read(&TopicPartition::new("big", 0), 0, 1 << 20)
        .unwrap();
    assert_eq!(stored.len(), 2);
    let header = RequestHeader {
        request_api_key: 1,
        request_api_version: 12,
        correlation_id: 7,
        ..Default::default()
    };
    let frame = encode_request(&header, &fetch_req("big", 0, 0, 1, 0)).unwrap();
    sim.broker.handle_request(5, frame.slice(4..), sim.now);
    let Some(Output::Response { chunks, .. }) = sim.broker.poll_output() else {
        panic!("a response")
    };
    for batch in &stored {
        assert!(
            chunks
                .iter()
                .any(|c| c.as_ptr() == batch.as_ptr() && c.len() == batch.len()),
            "every stored batch goes out as its own chunk, not copied"
        );
    }
    let total: usize = chunks.iter().map(|c| c.len()).sum();
    let size = i32::from_be_bytes([chunks[0][0], chunks[0][1], chunks[0][2], chunks[0][3]]);
    assert_eq!(
        size as usize,
        total - 4,
        "the size prefix counts the spliced chunks"
    );
}

#[test]
fn bytes_after_a_request_body_are_ignored_as_kafka_ignores_them() {
    let mut sim = Sim::new();
    create(&mut sim, "seen", 1, &[]);
    // librdkafka 2.16's all-topics Metadata v13, captured: three bytes
    // (01 00 00) follow the body's tagged fields.
    let frame = Bytes::from_static(&[
        0, 3, 0, 13, 0, 0, 0, 3, 0, 7, b'r', b'd', b'k', b'a', b'f', b'k', b'a', 0, 0, 0, 0, 0, 1,
        0, 0,
    ]);
    sim.connect(1);
    sim.expect(1, 3, ApiKey::Metadata, 13);
    sim.send_raw(1, frame);
    match sim.take(1).as_slice() {
        [Event::Response(3, ResponseBody::Metadata(m))] => {
            assert!(m.topics.iter().any(|t| t.name.as_deref() == Some("seen")));
        }
        other => panic!("{other:?}"),
    }
}
