//! What a person sees when their JSON (or frame) is wrong: the JSON path
//! and the problem.

use serde_json::{json, Value};

use super::*;

fn produce() -> Value {
    json!({"api": "Produce", "version": 9, "body": {"acks": 1, "topic_data": [{"name": "t",
        "partition_data": [{"index": 0, "records": null}, {"index": 1, "records": null}]}]}})
}

fn error_of(j: &Value) -> String {
    encode(j).unwrap_err().to_string()
}

#[test]
fn wrong_type_names_the_path() {
    let mut j = produce();
    j["body"]["topic_data"][0]["partition_data"][1]["index"] = "x".into();
    assert_eq!(
        error_of(&j),
        "body.topic_data[0].partition_data[1].index: expected int32, found \"x\""
    );
    j["body"]["topic_data"][0]["partition_data"][1]["index"] = 1.5.into();
    assert!(error_of(&j).ends_with("expected int32, found 1.5"));
    j["body"]["topic_data"][0]["name"] = 7.into();
    assert_eq!(
        error_of(&j),
        "body.topic_data[0].name: expected string, found 7"
    );
}

#[test]
fn out_of_range_integers() {
    let j = json!({"api": "Fetch", "version": 4, "body": {"isolation_level": 300}});
    assert_eq!(
        error_of(&j),
        "body.isolation_level: 300 is out of range for int8 (-128 to 127)"
    );
    let j = json!({"api": "AddRaftVoter", "version": 0, "body": {"listeners": [{"port": -5}]}});
    assert_eq!(
        error_of(&j),
        "body.listeners[0].port: -5 is out of range for uint16 (0 to 65535)"
    );
    let j = json!({"api": "Produce", "version": 9, "body": {"timeout_ms": 2_147_483_648_i64}});
    assert!(error_of(&j).contains("2147483648 is out of range for int32"));
}

#[test]
fn null_where_the_version_forbids_it() {
    let mut j = produce();
    j["body"]["topic_data"][0]["name"] = Value::Null;
    assert_eq!(
        error_of(&j),
        "body.topic_data[0].name: null in a version where it is not nullable (it is never nullable)"
    );
    let j = json!({"api": "Metadata", "version": 0, "body": {"topics": null}});
    assert_eq!(
        error_of(&j),
        "body.topics: null in a version where it is not nullable (nullable in versions 1-13)"
    );
    let j = json!({"api": "Produce", "version": 9, "body": {"acks": null}});
    assert_eq!(error_of(&j), "body.acks: expected int16, found null");
}

#[test]
fn unknown_fields_list_the_valid_ones() {
    let mut j = produce();
    j["body"]["topic_data"][0]["partitions"] = json!([]);
    assert_eq!(
        error_of(&j),
        "body.topic_data[0].partitions: TopicProduceData has no field \"partitions\"; \
         its fields in version 9: name, partition_data"
    );
    let j = json!({"api": "Produce", "version": 9, "bdy": {}});
    assert_eq!(
        error_of(&j),
        "bdy: no such key; the top level has api, version, side, header, body"
    );
}

#[test]
fn fields_the_version_lacks_must_hold_their_default() {
    let j = json!({"api": "Produce", "version": 2, "body": {"transactional_id": "txn"}});
    assert_eq!(
        error_of(&j),
        "body.transactional_id: transactional_id exists in versions 3-13 only, not in 2; \
         here it may only hold its default (null)"
    );
}

#[test]
fn top_level_mistakes() {
    let j = json!({"api": "Produse", "version": 9});
    assert!(error_of(&j).starts_with("api: \"Produse\" is not an API"));
    let j = json!({"api": "Produce", "version": 14});
    assert_eq!(error_of(&j), "version: Produce has versions 0-13, not 14");
    let j = json!({"api": "Produce", "version": 9, "header": {"request_api_version": 8}});
    assert!(error_of(&j).starts_with("header.request_api_version: 8 differs from"));
    let j = json!({"api": "Produce", "version": 9, "side": "reply"});
    assert_eq!(
        error_of(&j),
        "side: expected \"request\" or \"response\", found \"reply\""
    );
    assert!(error_of(&json!([1])).starts_with("expected an object"));
}

#[test]
fn record_batch_mistakes() {
    let mut j = produce();
    let recs = &mut j["body"]["topic_data"][0]["partition_data"][0]["records"];
    *recs = json!([{"compression": "brotli"}]);
    assert_eq!(
        error_of(&j),
        "body.topic_data[0].partition_data[0].records[0].compression: \
         expected none, gzip, snappy, lz4 or zstd, found \"brotli\""
    );
    let recs = &mut j["body"]["topic_data"][0]["partition_data"][0]["records"];
    *recs = json!([{"crc": 5}]);
    assert!(error_of(&j).ends_with(
        "records[0].crc: crc is computed when the record batch is encoded; leave it out"
    ));
    let recs = &mut j["body"]["topic_data"][0]["partition_data"][0]["records"];
    *recs = json!([{"records": [{"value": {"hex": "0g"}}]}]);
    assert!(
        error_of(&j).starts_with("body.topic_data[0].partition_data[0].records[0].records[0].value.hex: expected hex digits"),
        "{}",
        error_of(&j)
    );
    let recs = &mut j["body"]["topic_data"][0]["partition_data"][0]["records"];
    *recs = json!([{"records": [{"value": 5}]}]);
    assert!(error_of(&j)
        .ends_with("value: expected text (a string), {\"hex\": \"...\"} or null, found 5"));
    let recs = &mut j["body"]["topic_data"][0]["partition_data"][0]["records"];
    *recs = "abc".into();
    assert!(error_of(&j).ends_with("records: hex \"abc\" has an odd number of digits"));
}

#[test]
fn tags_and_uuids() {
    let j = json!({"api": "Produce", "version": 8, "body": {"_unknown_tags": {"5": "00"}}});
    assert_eq!(
        error_of(&j),
        "body._unknown_tags: version 8 is not flexible: it has no tagged fields"
    );
    let j = json!({"api": "Metadata", "version": 12, "body": {"topics": [{"topic_id": "nope"}]}});
    assert!(error_of(&j).starts_with("body.topics[0].topic_id: expected a uuid"));
}

#[test]
fn bad_frames_name_the_field_where_decoding_stopped() {
    let frame = crate::example::example_request(
        crate::protocol::ApiKey::Metadata,
        4,
        1,
        crate::example::Variant::Full,
    );
    // Cut inside the body, with the size prefix still claiming the whole.
    let cut = &frame[..frame.len() - 2];
    let e = decode_request(cut, SizePrefix::Present).unwrap_err();
    assert_eq!(e.path, "size");
    let e = decode_request(&cut[4..], SizePrefix::Absent).unwrap_err();
    assert!(e.path.starts_with("body."), "{e}");
    assert!(e.problem.starts_with("at byte "), "{e}");
    let e = decode_request(&[0x7f, 0, 0, 0, 0, 0, 0, 1], SizePrefix::Absent).unwrap_err();
    assert_eq!(
        e.to_string(),
        "header.request_api_key: at byte 0: api key 32512 is not a Kafka API"
    );
    let e = decode_response(&frame, 3, 99, SizePrefix::Auto).unwrap_err();
    assert_eq!(e.to_string(), "version: Metadata has versions 0-13, not 99");
}
