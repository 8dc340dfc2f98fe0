//! The annotator names transaction markers: a control batch's note says
//! COMMIT or ABORT and the coordinator epoch, and its record's key and
//! value are read as ControlRecordKey and EndTxnMarker.

use bytes::Bytes;
use spate_core::annotate::annotate_request;
use spate_core::protocol::header::encode_request;
use spate_core::protocol::messages::produce_request::{
    PartitionProduceData, ProduceRequest, TopicProduceData,
};
use spate_core::protocol::messages::request_header::RequestHeader;
use spate_core::protocol::RequestBody;
use spate_core::records::{
    ControlRecord, ControlRecordType, EndTxnMarker, Record, RecordBatchBuilder,
};

fn marker(kind: ControlRecordType, epoch: i32) -> Bytes {
    let key = ControlRecord { version: 0, kind }.to_bytes();
    let value = EndTxnMarker {
        version: 0,
        coordinator_epoch: epoch,
    }
    .to_bytes();
    RecordBatchBuilder::new(5, 1_700_000_000_000)
        .producer(42, 3, -1)
        .transactional(true)
        .control(true)
        .record(Record::new(0, 0, Some(key), Some(value)))
        .build()
        .expect("batch")
}

fn annotated(batch: Bytes) -> String {
    let body = RequestBody::Produce(ProduceRequest {
        acks: -1,
        timeout_ms: 1000,
        topic_data: vec![TopicProduceData {
            name: "t".into(),
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
        request_api_key: 0,
        request_api_version: 9,
        correlation_id: 1,
        client_id: Some("t".into()),
        ..Default::default()
    };
    let frame = encode_request(&header, &body).expect("encodes");
    let a = annotate_request(&frame);
    assert!(a.error.is_none(), "{:?}", a.error);
    serde_json::to_string(&a).expect("json")
}

#[test]
fn commit_and_abort_markers_are_named_with_their_coordinator_epoch() {
    let commit = annotated(marker(ControlRecordType::Commit, 7));
    assert!(
        commit.contains("control batch: COMMIT marker, coordinator epoch 7"),
        "{commit}"
    );
    assert!(commit.contains("end of transaction: COMMIT"), "{commit}");
    let abort = annotated(marker(ControlRecordType::Abort, 0));
    assert!(
        abort.contains("control batch: ABORT marker, coordinator epoch 0"),
        "{abort}"
    );
}
