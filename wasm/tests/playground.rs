//! The playground over real IndexedDB in a real browser (headless Chromium
//! through chromedriver; see scripts/test): create a topic, produce, fetch,
//! drop the instance, open the database again and find everything there.

#![cfg(target_arch = "wasm32")]

use bytes::Bytes;
use js_sys::Uint8Array;
use spate_core::protocol::header::{decode_response, encode_request};
use spate_core::protocol::messages::create_topics_request::{CreatableTopic, CreateTopicsRequest};
use spate_core::protocol::messages::fetch_request::{FetchPartition, FetchRequest, FetchTopic};
use spate_core::protocol::messages::request_header::RequestHeader;
use spate_core::protocol::{ApiKey, RequestBody, ResponseBody};
use spate_wasm::Playground;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Three records (keys `key-0..2`, values `value-0..2`) for topic `demo`,
/// as confluent-kafka sent them.
const PRODUCE: &[u8] = include_bytes!("../../core/tests/vectors/produce_request_v9_librdkafka.bin");

fn frame(key: ApiKey, version: i16, body: RequestBody) -> Bytes {
    let header = RequestHeader {
        request_api_key: key as i16,
        request_api_version: version,
        correlation_id: 42,
        client_id: Some("wasm-test".into()),
        ..Default::default()
    };
    encode_request(&header, &body).unwrap()
}

async fn send(p: &Playground, key: ApiKey, version: i16, frame: &[u8]) -> ResponseBody {
    let resp = JsFuture::from(p.handle(frame, None, None))
        .await
        .expect("handled");
    let bytes = Uint8Array::new(&resp).to_vec();
    let size = i32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize;
    assert_eq!(size, bytes.len() - 4, "size prefix");
    let (header, body) = decode_response(&Bytes::from(bytes[4..].to_vec()), key, version).unwrap();
    assert_eq!(
        header.correlation_id,
        if key == ApiKey::Produce { 2 } else { 42 }
    );
    body
}

async fn fetch_demo(p: &Playground) -> Vec<u8> {
    let body = RequestBody::Fetch(FetchRequest {
        replica_id: -1,
        max_wait_ms: 0,
        min_bytes: 1,
        max_bytes: 1 << 20,
        session_epoch: -1,
        topics: vec![FetchTopic {
            topic: "demo".into(),
            partitions: vec![FetchPartition {
                partition: 0,
                current_leader_epoch: -1,
                fetch_offset: 0,
                last_fetched_epoch: -1,
                log_start_offset: -1,
                partition_max_bytes: 1 << 20,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    });
    let ResponseBody::Fetch(f) = send(p, ApiKey::Fetch, 11, &frame(ApiKey::Fetch, 11, body)).await
    else {
        panic!("not a fetch response")
    };
    let part = &f.responses[0].partitions[0];
    assert_eq!(part.error_code, 0);
    assert_eq!(part.high_watermark, 3);
    part.records
        .as_ref()
        .map(|r| r.to_bytes().to_vec())
        .unwrap_or_default()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn topic_partitions(state: &JsValue, name: &str) -> Option<Vec<(i64, i64)>> {
    let topics = js_sys::Reflect::get(state, &"topics".into()).unwrap();
    let topics: js_sys::Array = topics.into();
    for t in topics.iter() {
        if js_sys::Reflect::get(&t, &"name".into())
            .unwrap()
            .as_string()
            .as_deref()
            == Some(name)
        {
            let parts: js_sys::Array = js_sys::Reflect::get(&t, &"partitions".into())
                .unwrap()
                .into();
            let num = |p: &JsValue, k: &str| {
                let v = js_sys::Reflect::get(p, &k.into()).unwrap();
                v.as_f64()
                    .map(|f| f as i64)
                    .unwrap_or_else(|| i64::try_from(js_sys::BigInt::from(v)).unwrap())
            };
            return Some(
                parts
                    .iter()
                    .map(|p| (num(&p, "logStartOffset"), num(&p, "highWatermark")))
                    .collect(),
            );
        }
    }
    None
}

#[wasm_bindgen_test]
async fn topics_records_and_offsets_survive_reopening() {
    let name = format!("spate-test-{}", js_sys::Date::now());
    let p = Playground::open(name.clone()).await.unwrap();

    let create = RequestBody::CreateTopics(CreateTopicsRequest {
        topics: vec![
            CreatableTopic {
                name: "orders".into(),
                num_partitions: 2,
                replication_factor: 1,
                ..Default::default()
            },
            CreatableTopic {
                name: "demo".into(),
                num_partitions: 1,
                replication_factor: 1,
                ..Default::default()
            },
        ],
        timeout_ms: 1000,
        ..Default::default()
    });
    let ResponseBody::CreateTopics(c) = send(
        &p,
        ApiKey::CreateTopics,
        7,
        &frame(ApiKey::CreateTopics, 7, create),
    )
    .await
    else {
        panic!("not a create topics response")
    };
    assert!(c.topics.iter().all(|t| t.error_code == 0), "{:?}", c.topics);

    // The captured produce appends three records to `demo`.
    let ResponseBody::Produce(pr) = send(&p, ApiKey::Produce, 9, PRODUCE).await else {
        panic!("not a produce response")
    };
    assert_eq!(pr.responses[0].partition_responses[0].error_code, 0);
    assert_eq!(pr.responses[0].partition_responses[0].base_offset, 0);

    let before = fetch_demo(&p).await;
    assert!(
        contains(&before, b"value-2"),
        "fetched records hold value-2"
    );
    let state = p.state().unwrap();
    assert_eq!(
        topic_partitions(&state, "orders"),
        Some(vec![(0, 0), (0, 0)])
    );
    assert_eq!(topic_partitions(&state, "demo"), Some(vec![(0, 3)]));
    p.close();
    drop(p);

    // A new instance over the same database sees everything.
    let again = Playground::open(name.clone()).await.unwrap();
    let state = again.state().unwrap();
    assert_eq!(
        topic_partitions(&state, "orders"),
        Some(vec![(0, 0), (0, 0)])
    );
    assert_eq!(topic_partitions(&state, "demo"), Some(vec![(0, 3)]));
    assert_eq!(
        fetch_demo(&again).await,
        before,
        "the same batch bytes come back"
    );

    // A second produce continues at offset 3.
    let ResponseBody::Produce(pr) = send(&again, ApiKey::Produce, 9, PRODUCE).await else {
        panic!("not a produce response")
    };
    assert_eq!(pr.responses[0].partition_responses[0].base_offset, 3);

    // reset() empties it, for this instance and the next.
    let mut again = again;
    again.reset().await.unwrap();
    assert_eq!(topic_partitions(&again.state().unwrap(), "demo"), None);
    again.close();
    let third = Playground::open(name).await.unwrap();
    assert_eq!(topic_partitions(&third.state().unwrap(), "demo"), None);
    third.close();
}

#[wasm_bindgen_test]
async fn malformed_frame_rejects_with_the_byte_offset() {
    let p = Playground::open(format!("spate-test-bad-{}", js_sys::Date::now()))
        .await
        .unwrap();
    // A Metadata v1 request whose topic array says 5 topics but holds none.
    let bad = [0u8, 3, 0, 1, 0, 0, 0, 7, 0, 1, b'x', 0, 0, 0, 5];
    let err = JsFuture::from(p.handle(&bad, None, None))
        .await
        .unwrap_err();
    let offset = js_sys::Reflect::get(&err, &"offset".into())
        .unwrap()
        .as_f64();
    // Byte 11 (the frame has no size prefix) starts the topic count.
    assert_eq!(offset, Some(11.0), "{err:?}");
    p.close();
}

/// librdkafka's zstd-compressed Produce of three records.
const PRODUCE_ZSTD: &[u8] =
    include_bytes!("../../core/tests/vectors/produce_request_v9_librdkafka_zstd.bin");

fn get(v: &JsValue, path: &[&str]) -> JsValue {
    path.iter().fold(v.clone(), |v, k| {
        js_sys::Reflect::get(&v, &(*k).into()).unwrap()
    })
}

fn text(v: &JsValue, path: &[&str]) -> Option<String> {
    get(v, path).as_string()
}

/// Every leaf (`{start, end}`) under `spans`, in order.
fn leaf_ranges(spans: &js_sys::Array, out: &mut Vec<(f64, f64)>) {
    for s in spans.iter() {
        let kids = get(&s, &["children"]);
        if kids.is_undefined() {
            out.push((
                get(&s, &["start"]).as_f64().unwrap(),
                get(&s, &["end"]).as_f64().unwrap(),
            ));
        } else {
            leaf_ranges(&kids.into(), out);
        }
    }
}

fn find<'a>(spans: &js_sys::Array, name: &str, out: &mut Vec<JsValue>) {
    for s in spans.iter() {
        if text(&s, &["name"]).as_deref() == Some(name) {
            out.push(s.clone());
        }
        let kids = get(&s, &["children"]);
        if !kids.is_undefined() {
            find(&kids.into(), name, out);
        }
    }
}

#[wasm_bindgen_test]
fn annotate_gives_flat_arrays_nodes_and_the_nested_tree() {
    let a = spate_wasm::annotate(PRODUCE_ZSTD, JsValue::UNDEFINED).unwrap();
    assert_eq!(a.title(), "ProduceRequest v9");
    assert!(a.error().unwrap().is_undefined());
    let n = a.count() as usize;
    let (starts, ends, parents, buffers) = (
        a.starts().to_vec(),
        a.ends().to_vec(),
        a.parents().to_vec(),
        a.buffers().to_vec(),
    );
    assert!([starts.len(), ends.len(), parents.len(), buffers.len()]
        .iter()
        .all(|&l| l == n));
    assert_eq!(
        (starts[0], ends[0], parents[0]),
        (0, PRODUCE_ZSTD.len() as u32, -1)
    );
    // The decompressed records: buffer 1, children of the compressed leaf.
    assert_eq!(a.buffer_count(), 1);
    assert_eq!(a.buffer_label(1).unwrap(), "zstd-decompressed records");
    let first = buffers.iter().position(|&b| b == 1).unwrap();
    let owner = parents[first] as usize;
    let leaf = a.node(owner as u32).unwrap();
    assert_eq!(
        text(&leaf, &["name"]).as_deref(),
        Some("records (zstd-compressed)")
    );
    assert_eq!(buffers[owner], 0);
    let bytes = a.buffer_bytes(1).unwrap().to_vec();
    assert_eq!(bytes.len(), 183);
    let values: Vec<String> = (0..n as u32)
        .filter(|&i| buffers[i as usize] == 1)
        .map(|i| a.node(i).unwrap())
        .filter(|v| text(v, &["name"]).as_deref() == Some("value"))
        .filter_map(|v| text(&v, &["text"]))
        .collect();
    assert_eq!(
        values,
        [
            "value-0 compressed with zstd",
            "spate-capture",
            "value-1 compressed with zstd",
            "spate-capture",
            "value-2 compressed with zstd",
            "spate-capture"
        ]
    );
    // Nested: the frame's leaves tile the frame, the inner spans' leaves
    // tile the decompressed bytes.
    let tree = a.tree().unwrap();
    assert_eq!(
        text(&tree, &["root", "kind"]).as_deref(),
        Some("ProduceRequest v9")
    );
    let mut frame = Vec::new();
    leaf_ranges(&get(&tree, &["root", "children"]).into(), &mut frame);
    let mut inners = Vec::new();
    find(
        &get(&tree, &["root", "children"]).into(),
        "records (zstd-compressed)",
        &mut inners,
    );
    assert_eq!(inners.len(), 1);
    let inner = get(&inners[0], &["inner"]);
    assert_eq!(
        text(&inner, &["label"]).as_deref(),
        Some("zstd-decompressed records")
    );
    assert_eq!(get(&inner, &["length"]).as_f64(), Some(183.0));
    let mut decoded = Vec::new();
    leaf_ranges(&get(&inner, &["spans"]).into(), &mut decoded);
    for (ranges, len) in [(frame, PRODUCE_ZSTD.len()), (decoded, 183)] {
        let mut at = 0.0;
        for (s, e) in ranges {
            assert_eq!(s, at);
            at = e;
        }
        assert_eq!(at, len as f64);
    }
}

#[wasm_bindgen_test]
fn annotate_reports_malformed_bytes_with_the_tree_so_far() {
    // Metadata v1: five topics claimed, none there.
    let bad = [0u8, 3, 0, 1, 0, 0, 0, 7, 0, 1, b'x', 0, 0, 0, 5];
    let a = spate_wasm::annotate(&bad, JsValue::UNDEFINED).unwrap();
    let err = a.error().unwrap();
    assert_eq!(get(&err, &["offset"]).as_f64(), Some(11.0));
    let tree = a.tree().unwrap();
    assert_eq!(get(&tree, &["error", "offset"]).as_f64(), Some(11.0));
    assert_eq!(
        text(&tree, &["root", "kind"]).as_deref(),
        Some("MetadataRequest v1")
    );
    // What came before byte 11 is there: the header, down to the client id.
    let mut found = Vec::new();
    find(
        &get(&tree, &["root", "children"]).into(),
        "client_id",
        &mut found,
    );
    assert_eq!(found.len(), 1);
    assert_eq!(text(&found[0], &["value"]).as_deref(), Some("x"));
    assert_eq!(get(&found[0], &["end"]).as_f64(), Some(11.0));
}
