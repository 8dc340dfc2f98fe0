//! A leader frozen with SIGSTOP past its ZooKeeper session, against three
//! Spate brokers and a real ZooKeeper: the controller moves leadership
//! away, and after SIGCONT the old leader acknowledges no acks=all write
//! as leader, whichever it learns first (the controller's LeaderAndIsr,
//! its own expired session, or the conditional write of its ISR change
//! failing). What it appended as a zombie is not in the partition the
//! cluster serves.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;
use spate_core::protocol::header::{decode_response, encode_request};
use spate_core::protocol::messages::produce_request::{
    PartitionProduceData, ProduceRequest, TopicProduceData,
};
use spate_core::protocol::messages::request_header::RequestHeader;
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody};
use spate_core::records::{Record, RecordBatchBuilder};
use spate_e2e::cluster::{json_at, kill, read_all, three_brokers, wait, FAILOVER};
use spate_e2e::zookeeper::ZooKeeper;

const TOPIC: &str = "zombie";
const STATE: &str = "/brokers/topics/zombie/partitions/0/state";

/// Produce v8 of one record `value` with acks=all, timeout 3 s, to `addr`
/// itself (no metadata lookup): the partition's error code.
fn produce_to(addr: &str, value: &str) -> i16 {
    let batch = RecordBatchBuilder::new(0, 0)
        .record(Record::new(
            0,
            0,
            None,
            Some(Bytes::from(value.to_string())),
        ))
        .build()
        .expect("a batch");
    let body = RequestBody::Produce(ProduceRequest {
        acks: -1,
        timeout_ms: 3000,
        topic_data: vec![TopicProduceData {
            name: TOPIC.into(),
            partition_data: vec![PartitionProduceData {
                index: 0,
                records: Some(batch.into()),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    });
    let header = RequestHeader {
        request_api_key: body.api_key() as i16,
        request_api_version: 8,
        correlation_id: 1,
        client_id: Some("zombie-test".into()),
        ..Default::default()
    };
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    s.write_all(&encode_request(&header, &body).expect("encodes"))
        .expect("send");
    let mut size = [0u8; 4];
    s.read_exact(&mut size).expect("an answer within 30 s");
    let mut frame = vec![0u8; i32::from_be_bytes(size) as usize];
    s.read_exact(&mut frame).expect("frame");
    match decode_response(&Bytes::from(frame), body.api_key(), 8)
        .expect("decodes")
        .1
    {
        ResponseBody::Produce(r) => r.responses[0].partition_responses[0].error_code,
        other => panic!("{other:?}"),
    }
}

/// The partition's state znode: (leader, leader epoch, ISR).
fn state(zk: &ZooKeeper) -> Option<(i64, i64, Vec<i64>)> {
    zk.get(STATE)?;
    let v: Value = json_at(zk, STATE);
    let isr = v["isr"]
        .as_array()?
        .iter()
        .filter_map(Value::as_i64)
        .collect();
    Some((v["leader"].as_i64()?, v["leader_epoch"].as_i64()?, isr))
}

#[test]
fn a_leader_frozen_past_its_session_acknowledges_no_acks_all_write_after_it_thaws() {
    let zk = ZooKeeper::start();
    let (brokers, _) = three_brokers(&zk);
    let any = &brokers[&1];
    wait("three live brokers", FAILOVER, || {
        let out = any.spate(&["cluster", "info", "--json"], b"");
        let v: Value = serde_json::from_slice(&out.stdout).ok()?;
        (v["brokers"].as_array()?.len() == 3).then_some(())
    });
    let out = any.spate(
        &[
            "topic",
            "create",
            TOPIC,
            "--partitions",
            "1",
            "--replication-factor",
            "3",
            "--config",
            "min.insync.replicas=2",
        ],
        b"",
    );
    assert!(out.status.success(), "{out:?}");
    let (leader, epoch, _) = wait("the partition in sync", FAILOVER, || {
        state(&zk).filter(|(l, _, isr)| *l >= 0 && isr.len() == 3)
    });
    let old = &brokers[&leader];
    wait("the leader takes writes", FAILOVER, || {
        (produce_to(&old.addr, "before") == 0).then_some(())
    });
    println!("leader: broker {leader} at epoch {epoch}");

    // Frozen past its session: the controller elects another leader.
    kill("-STOP", old.pid());
    let (new_leader, new_epoch, isr) = wait("a new leader", FAILOVER, || {
        state(&zk).filter(|(l, e, _)| *l != leader && *l >= 0 && *e > epoch)
    });
    println!("while frozen: leader {new_leader} at epoch {new_epoch}, ISR {isr:?}");
    assert!(!isr.contains(&leader), "the frozen broker left the ISR");
    let new = &brokers[&new_leader];
    assert_eq!(
        produce_to(&new.addr, "after"),
        0,
        "the new leader takes writes"
    );

    // Thawed, the old leader is asked first thing to take a write.
    kill("-CONT", old.pid());
    let code = produce_to(&old.addr, "zombie");
    println!("the thawed broker answered {}", ErrorCode(code));
    assert_ne!(code, 0, "a deposed leader acknowledged an acks=all write");
    // It follows again, and what the cluster serves has no zombie write.
    let (l, e, _) = wait("the old leader back in the ISR", FAILOVER, || {
        state(&zk).filter(|(_, _, isr)| isr.len() == 3)
    });
    assert_eq!((l, e), (new_leader, new_epoch), "leadership stayed");
    let all: Vec<String> = brokers.values().map(|b| b.addr.clone()).collect();
    let values: Vec<String> = read_all(&all.join(","), TOPIC)
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    assert!(values.contains(&"after".to_string()), "{values:?}");
    assert!(!values.contains(&"zombie".to_string()), "{values:?}");
}
