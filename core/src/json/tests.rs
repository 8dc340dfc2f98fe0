//! Round trips for every API, version, side and example shape, and checks
//! of the encoder against the typed codecs and the `kafka-protocol` oracle.

use bytes::{Bytes, BytesMut};
use kafka_protocol as kp;
use kp::protocol::{Encodable, Message, StrBytes};
use serde_json::{json, Value};

use super::*;
use crate::example::{example_request, example_response, Variant, UNKNOWN_TAG};
use crate::protocol::header::{decode_request as typed_decode, request_header_version};
use crate::protocol::messages::ApiKey;
use crate::protocol::RequestBody;
use crate::records::{encode_message_set, LegacyMessage, RecordBatch};

/// encode(decode(frame)) == frame, through the JSON text as well.
fn round_trip(json: &Value, frame: &Bytes, what: &str) {
    let text = serde_json::to_string(json).unwrap();
    let reparsed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(&reparsed, json, "{what}: JSON text changed the value");
    let back = encode(&reparsed).unwrap_or_else(|e| {
        panic!(
            "{what}: {e}\n{}",
            serde_json::to_string_pretty(json).unwrap()
        )
    });
    assert!(
        back == frame,
        "{what}: bytes differ\nwant {}\ngot  {}\n{}",
        to_hex(frame),
        to_hex(&back),
        serde_json::to_string_pretty(json).unwrap()
    );
}

#[test]
fn every_example_round_trips_byte_for_byte() {
    let mut checked = 0;
    for &key in ApiKey::ALL {
        let vs = key.versions();
        for v in vs.min..=vs.max {
            for (i, variant) in Variant::ALL.into_iter().enumerate() {
                let seed = 11 + i as u64;
                let what = format!("{key:?} v{v} {variant:?}");
                let req = example_request(key, v, seed, variant);
                let json = decode_request(&req, SizePrefix::Present)
                    .unwrap_or_else(|e| panic!("{what} request: {e}"));
                round_trip(&json, &req, &format!("{what} request"));
                // Without the size prefix, detected or told, the same JSON.
                let bare = req.slice(4..);
                assert_eq!(decode_request(&bare, SizePrefix::Auto).as_ref(), Ok(&json));
                assert_eq!(decode_request(&req, SizePrefix::Auto).as_ref(), Ok(&json));

                let resp = example_response(key, v, seed, variant);
                let json = decode_response(&resp, key as i16, v, SizePrefix::Present)
                    .unwrap_or_else(|e| panic!("{what} response: {e}"));
                round_trip(&json, &resp, &format!("{what} response"));
                let bare = resp.slice(4..);
                assert_eq!(
                    decode_response(&bare, key as i16, v, SizePrefix::Absent).as_ref(),
                    Ok(&json)
                );
                checked += 2;
            }
        }
    }
    assert!(checked > 2000, "{checked} frames checked");
}

#[test]
fn mixed_examples_keep_unknown_tags_in_their_struct() {
    let req = example_request(ApiKey::Produce, 9, 3, Variant::Mixed);
    let json = decode_request(&req, SizePrefix::Present).unwrap();
    let tag = UNKNOWN_TAG.to_string();
    assert!(
        json["header"].get("_unknown_tags").is_none(),
        "the header has none"
    );
    assert_eq!(json["body"]["_unknown_tags"][&tag], "010203");
    let part = &json["body"]["topic_data"][0]["partition_data"][0];
    assert_eq!(part["_unknown_tags"][&tag], "010203");
    assert_eq!(part["records"][0]["records"][0]["key"], "key-0");
    assert_eq!(json["api"], "Produce");
    assert_eq!(json["side"], "request");
    assert_eq!(json["header"]["client_id"], "spate-example");
}

/// A Produce request as a person would write it: no header, few fields.
fn produce_json(version: i16, compression: &str) -> Value {
    json!({
        "api": "Produce",
        "version": version,
        "header": {"correlation_id": 42, "client_id": "json-test"},
        "body": {
            "acks": -1,
            "timeout_ms": 1500,
            "topic_data": [{
                "name": "orders",
                "partition_data": [{
                    "index": 3,
                    "records": [{
                        "base_offset": 0,
                        "partition_leader_epoch": -1,
                        "compression": compression,
                        "timestamp_type": "create",
                        "transactional": false,
                        "control": false,
                        "base_timestamp": 1_700_000_000_000_i64,
                        "producer_id": 9_007_199_254_740_993_i64,
                        "producer_epoch": 2,
                        "base_sequence": 0,
                        "records": [
                            {"timestamp_delta": 0, "offset_delta": 0, "key": "k1", "value": "hello\nworld",
                             "headers": [{"key": "source", "value": "json"}]},
                            {"timestamp_delta": 5, "offset_delta": 1, "key": null, "value": {"hex": "00ff10"},
                             "headers": [{"key": "h", "value": null}]}
                        ]
                    }]
                }]
            }]
        }
    })
}

#[test]
fn typed_codec_and_kafka_protocol_read_what_json_wrote() {
    let frame = encode(&produce_json(9, "none")).unwrap();
    let (header, body) = typed_decode(&frame.slice(4..)).unwrap();
    assert_eq!(header.correlation_id, 42);
    assert_eq!(header.client_id.as_deref(), Some("json-test"));
    let RequestBody::Produce(p) = body else {
        panic!("not a produce")
    };
    assert_eq!((p.acks, p.timeout_ms), (-1, 1500));
    let part = &p.topic_data[0].partition_data[0];
    assert_eq!((p.topic_data[0].name.as_ref(), part.index), ("orders", 3));
    let set = part.records.as_ref().unwrap().to_bytes();
    let batch = RecordBatch::decode(&set).unwrap();
    assert_eq!(batch.header.producer_id, 9_007_199_254_740_993);
    assert_eq!(batch.header.max_timestamp, 1_700_000_000_005);
    assert_eq!(batch.header.last_offset_delta, 1);
    let recs = batch.records().unwrap();
    assert_eq!(recs[0].value.as_deref(), Some(&b"hello\nworld"[..]));
    assert_eq!(recs[1].value.as_deref(), Some(&[0, 0xff, 0x10][..]));

    // kafka-protocol decodes the same frame to the same values.
    let mut buf = frame.slice(4..);
    let kh = <kp::messages::RequestHeader as kp::protocol::Decodable>::decode(&mut buf, 2).unwrap();
    assert_eq!(kh.client_id.as_deref(), Some("json-test"));
    let kb =
        <kp::messages::ProduceRequest as kp::protocol::Decodable>::decode(&mut buf, 9).unwrap();
    let mut records = kb.topic_data[0].partition_data[0].records.clone().unwrap();
    let sets = kp::records::RecordBatchDecoder::decode_all(&mut records).unwrap();
    let r = &sets[0].records;
    assert_eq!(r[1].timestamp, 1_700_000_000_005);
    let (hk, hv) = r[0].headers.first().unwrap();
    assert_eq!((hk.as_str(), hv.as_deref()), ("source", Some(&b"json"[..])));
}

#[test]
fn compressed_batches_round_trip_through_json() {
    for codec in ["gzip", "snappy", "lz4", "zstd", "none"] {
        let json = produce_json(9, codec);
        let frame = encode(&json).unwrap();
        let back = decode_request(&frame, SizePrefix::Present).unwrap();
        let batch = &back["body"]["topic_data"][0]["partition_data"][0]["records"][0];
        assert_eq!(batch["compression"], codec);
        assert_eq!(
            batch,
            &json["body"]["topic_data"][0]["partition_data"][0]["records"][0]
        );
        // decode(encode(json)) is a fixed point, and its bytes stable.
        assert_eq!(encode(&back).unwrap(), frame, "{codec}");
        // kafka-protocol decompresses and reads the records.
        let mut buf = frame.slice(4..);
        <kp::messages::RequestHeader as kp::protocol::Decodable>::decode(&mut buf, 2).unwrap();
        let kb =
            <kp::messages::ProduceRequest as kp::protocol::Decodable>::decode(&mut buf, 9).unwrap();
        let mut records = kb.topic_data[0].partition_data[0].records.clone().unwrap();
        let sets = kp::records::RecordBatchDecoder::decode_all(&mut records).unwrap();
        assert_eq!(
            sets[0].records[0].value.as_deref(),
            Some(&b"hello\nworld"[..]),
            "{codec}"
        );
    }
}

#[test]
fn minimal_json_matches_kafka_protocol_defaults() {
    macro_rules! check {
        ($($api:ident => $req:ident, $resp:ident;)*) => {$(
            let r = <kp::messages::$req as Message>::VERSIONS;
            for v in r.min..=r.max {
                let key = ApiKey::$api;
                let json = json!({"api": key.name(), "version": v,
                    "header": {"correlation_id": 7, "client_id": "c"}, "body": {}});
                let ours = encode(&json).unwrap();
                let mut theirs = BytesMut::new();
                kp::messages::RequestHeader::default()
                    .with_request_api_key(key as i16)
                    .with_request_api_version(v)
                    .with_correlation_id(7)
                    .with_client_id(Some(StrBytes::from_static_str("c")))
                    .encode(&mut theirs, request_header_version(key, v))
                    .unwrap();
                kp::messages::$req::default().encode(&mut theirs, v).unwrap();
                assert_eq!(to_hex(&ours[4..]), to_hex(&theirs), "{} request v{v}", key.name());

                let json = json!({"api": key as i16, "version": v, "side": "response",
                    "header": {"correlation_id": 7}});
                let ours = encode(&json).unwrap();
                let hv = crate::protocol::header::response_header_version(key, v);
                let mut theirs = BytesMut::new();
                kp::messages::ResponseHeader::default()
                    .with_correlation_id(7)
                    .encode(&mut theirs, hv)
                    .unwrap();
                kp::messages::$resp::default().encode(&mut theirs, v).unwrap();
                assert_eq!(to_hex(&ours[4..]), to_hex(&theirs), "{} response v{v}", key.name());
            }
        )*};
    }
    check! {
        Produce => ProduceRequest, ProduceResponse;
        Fetch => FetchRequest, FetchResponse;
        Metadata => MetadataRequest, MetadataResponse;
        ApiVersions => ApiVersionsRequest, ApiVersionsResponse;
        CreateTopics => CreateTopicsRequest, CreateTopicsResponse;
        JoinGroup => JoinGroupRequest, JoinGroupResponse;
        OffsetCommit => OffsetCommitRequest, OffsetCommitResponse;
        ListOffsets => ListOffsetsRequest, ListOffsetsResponse;
        DescribeConfigs => DescribeConfigsRequest, DescribeConfigsResponse;
    }
}

#[test]
fn legacy_and_truncated_record_sets_stay_hex_and_go_back_as_they_were() {
    let legacy = encode_message_set(&[LegacyMessage::new(
        0,
        Some(1_700_000_000_000),
        None,
        Some(Bytes::from_static(b"old")),
    )])
    .unwrap();
    let mut json = produce_json(2, "none");
    let part = &mut json["body"]["topic_data"][0]["partition_data"][0];
    part["records"] = to_hex(&legacy).into();
    let frame = encode(&json).unwrap();
    let back = decode_request(&frame, SizePrefix::Present).unwrap();
    assert_eq!(
        back["body"]["topic_data"][0]["partition_data"][0]["records"],
        to_hex(&legacy)
    );
    round_trip(&back, &frame, "legacy");

    // A v2 batch cut short (as a Fetch response's tail may be).
    let full = encode(&produce_json(9, "none")).unwrap();
    let json = decode_request(&full, SizePrefix::Present).unwrap();
    let mut cut = json.clone();
    let whole = records::encode(
        &json["body"]["topic_data"][0]["partition_data"][0]["records"],
        "",
    )
    .unwrap();
    let short = to_hex(&whole[..whole.len() - 3]);
    cut["body"]["topic_data"][0]["partition_data"][0]["records"] = short.clone().into();
    let frame = encode(&cut).unwrap();
    let back = decode_request(&frame, SizePrefix::Present).unwrap();
    assert_eq!(
        back["body"]["topic_data"][0]["partition_data"][0]["records"],
        short
    );
    round_trip(&back, &frame, "truncated");
}

#[test]
fn record_bytes_are_text_or_hex() {
    let frame = encode(&produce_json(9, "none")).unwrap();
    let json = decode_request(&frame, SizePrefix::Present).unwrap();
    let recs = &json["body"]["topic_data"][0]["partition_data"][0]["records"][0]["records"];
    assert_eq!(recs[0]["value"], "hello\nworld");
    assert_eq!(recs[1]["key"], Value::Null);
    assert_eq!(recs[1]["value"], json!({"hex": "00ff10"}));
    assert_eq!(
        recs[0]["headers"][0],
        json!({"key": "source", "value": "json"})
    );
    // Defaults: offset_delta counts records, timestamp_delta 0, null key and value.
    let minimal = json!({"api": "Produce", "version": 9, "body": {"topic_data": [{"name": "t",
        "partition_data": [{"records": [{"records": [{"value": "a"}, {"value": "b"}]}]}]}]}});
    let back = decode_request(&encode(&minimal).unwrap(), SizePrefix::Auto).unwrap();
    let b = &back["body"]["topic_data"][0]["partition_data"][0]["records"][0];
    assert_eq!(b["records"][1]["offset_delta"], 1);
    assert_eq!(b["records"][1]["key"], Value::Null);
    assert_eq!(b["producer_id"], -1);
}

#[test]
fn tagged_fields_are_written_only_when_not_default() {
    let with =
        |cluster: Value| json!({"api": "Fetch", "version": 12, "body": {"cluster_id": cluster}});
    let plain = encode(&with(Value::Null)).unwrap();
    let tagged = encode(&with("c1".into())).unwrap();
    assert_eq!(
        tagged.len(),
        plain.len() + 5,
        "tag, size and compact string \"c1\""
    );
    let back = decode_request(&tagged, SizePrefix::Present).unwrap();
    assert_eq!(back["body"]["cluster_id"], "c1");
    // A tagged field the frame left out shows its default.
    let back = decode_request(&plain, SizePrefix::Present).unwrap();
    assert_eq!(back["body"]["cluster_id"], Value::Null);
    // Unknown tags go back in tag order among the known ones.
    let mut j = with("c1".into());
    j["body"]["_unknown_tags"] = json!({"7": "ab", "0": ""});
    let err = encode(&j).unwrap_err();
    assert!(err.problem.contains("known field cluster_id"), "{err}");
    j["body"]["_unknown_tags"] = json!({"7": "ab"});
    let back = decode_request(&encode(&j).unwrap(), SizePrefix::Present).unwrap();
    assert_eq!(back["body"]["_unknown_tags"], json!({"7": "ab"}));
}

#[test]
fn fields_outside_the_version_are_dropped_when_default_or_ignorable() {
    // transactional_id exists from v3; its default (null) may be given earlier.
    let j = json!({"api": "Produce", "version": 2, "body": {"transactional_id": null, "acks": 1}});
    assert!(encode(&j).is_ok());
    // topic_id (v10+) is ignorable: dropped in v9.
    let j = json!({"api": "Metadata", "version": 9, "body": {"topics": [
        {"name": "t", "topic_id": "AAAAAAAAAAAAAAAAAAAAAQ"}]}});
    let v9 = encode(&j).unwrap();
    let back = decode_request(&v9, SizePrefix::Present).unwrap();
    assert_eq!(back["body"]["topics"][0], json!({"name": "t"}));
    // Top-level header fields agree with api and version, or may be left out.
    let j =
        json!({"api": 3, "version": 9, "header": {"request_api_key": 3, "request_api_version": 9}});
    assert_eq!(encode(&j).unwrap()[4..8], [0, 3, 0, 9]);
}

#[test]
fn uuids_and_floats_keep_their_values() {
    let resp = example_response(ApiKey::Metadata, 12, 5, Variant::Full);
    let json = decode_response(&resp, 3, 12, SizePrefix::Present).unwrap();
    let id = json["body"]["topics"][0]["topic_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(id.len(), 22);
    // The same uuid as 32 hex digits with dashes gives the same bytes.
    let mut j = json.clone();
    let bytes = encode(&json).unwrap();
    let pos = bytes
        .windows(16)
        .position(|w| crate::protocol::types::Uuid(w.try_into().unwrap()).to_string() == id)
        .unwrap();
    let h = to_hex(&bytes[pos..pos + 16]);
    let dashed = format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    );
    j["body"]["topics"][0]["topic_id"] = dashed.into();
    assert_eq!(encode(&j).unwrap(), bytes);
    // Non-finite floats travel as strings.
    assert_eq!(values::float(f64::NAN), "NaN");
    assert_eq!(values::float(f64::NEG_INFINITY), "-Infinity");
}

#[test]
fn batches_compressed_by_kafka_protocol_decode_to_records() {
    use kp::records::{Compression as KC, Record as K, RecordBatchEncoder, RecordEncodeOptions};
    let rec = |i: i64, value: &'static [u8]| K {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: -1,
        producer_id: 1000,
        producer_epoch: 5,
        timestamp_type: kp::records::TimestampType::Creation,
        offset: i,
        sequence: i as i32,
        timestamp: 1_700_000_000_000 + i,
        key: None,
        value: Some(Bytes::from_static(value)),
        headers: Default::default(),
    };
    let records = [rec(0, b"first"), rec(1, b"\x00\x01binary")];
    for (codec, name) in [
        (KC::Gzip, "gzip"),
        (KC::Snappy, "snappy"),
        (KC::Lz4, "lz4"),
        (KC::Zstd, "zstd"),
    ] {
        let mut theirs = BytesMut::new();
        let opts = RecordEncodeOptions {
            version: 2,
            compression: codec,
        };
        RecordBatchEncoder::encode(&mut theirs, &records, &opts).unwrap();
        let json = records::decode(&theirs.freeze());
        let b = &json[0];
        assert_eq!(b["compression"], name);
        assert_eq!(
            (b["producer_id"].as_i64(), b["base_sequence"].as_i64()),
            (Some(1000), Some(0))
        );
        assert_eq!(b["records"][0]["value"], "first");
        assert_eq!(b["records"][1]["value"], json!({"hex": "000162696e617279"}));
        assert_eq!(b["records"][1]["timestamp_delta"], 1);
        // Ours compress differently, but say the same.
        let ours = records::encode(&json, "").unwrap();
        assert_eq!(records::decode(&ours), json, "{name}");
    }
}
