//! Oracle round trips against the `kafka-protocol` crate, and annotation
//! coverage, for every API, every version, request and response.
//!
//! For each (api, version, direction) the schema-driven example writer makes
//! frames in three variants (everything present, everything null or empty,
//! mixed with an unknown tag). Then:
//!
//! 1. Spate's typed decode followed by encode gives back the same bytes;
//! 2. the oracle (kafka-protocol 0.18 for Kafka 4.1 versions, 0.15 for the
//!    versions Kafka 4.0 removed) decodes the same bytes and re-encodes them
//!    identically;
//! 3. the reverse: the oracle's default message at that version, encoded by
//!    the oracle, decodes with Spate and re-encodes identically;
//! 4. the annotation has no error, its leaves cover every byte exactly once,
//!    and every annotated value equals the typed decode.
//!
//! A coverage table is printed; the test fails if any supported pair was not
//! checked against an oracle.

use bytes::{Bytes, BytesMut};
use serde_json::Value as Json;
use spate_core::annotate::{annotate_message, Span, Value};
use spate_core::example::{example_body, Variant};
use spate_core::protocol::schema::MessageSpec;
use spate_core::protocol::{ApiKey, Reader, RequestBody, ResponseBody};

use kafka_protocol as kp;
use kafka_protocol_legacy as kp15;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Dir {
    Request,
    Response,
}

/// Which oracle covered a pair.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Oracle {
    V18,
    V15,
}

macro_rules! oracle_defaults {
    ($krate:ident, $key:expr, $dir:expr, [$($name:ident),* $(,)?]) => {{
        use $krate::messages::{RequestKind, ResponseKind};
        match ($key, $dir) {
            $(
                (k, Dir::Request) if k == $krate::messages::ApiKey::$name as i16 => Some(OracleMsg::Req(RequestKind::$name(Default::default()))),
                (k, Dir::Response) if k == $krate::messages::ApiKey::$name as i16 => Some(OracleMsg::Resp(ResponseKind::$name(Default::default()))),
            )*
            _ => None,
        }
    }};
}

enum OracleMsg<Q, S> {
    Req(Q),
    Resp(S),
}

fn oracle18_default(
    key: i16,
    dir: Dir,
) -> Option<OracleMsg<kp::messages::RequestKind, kp::messages::ResponseKind>> {
    oracle_defaults!(
        kp,
        key,
        dir,
        [
            Produce,
            Fetch,
            ListOffsets,
            Metadata,
            OffsetCommit,
            OffsetFetch,
            FindCoordinator,
            JoinGroup,
            Heartbeat,
            LeaveGroup,
            SyncGroup,
            DescribeGroups,
            ListGroups,
            SaslHandshake,
            ApiVersions,
            CreateTopics,
            DeleteTopics,
            DeleteRecords,
            InitProducerId,
            OffsetForLeaderEpoch,
            AddPartitionsToTxn,
            AddOffsetsToTxn,
            EndTxn,
            WriteTxnMarkers,
            TxnOffsetCommit,
            DescribeAcls,
            CreateAcls,
            DeleteAcls,
            DescribeConfigs,
            AlterConfigs,
            AlterReplicaLogDirs,
            DescribeLogDirs,
            SaslAuthenticate,
            CreatePartitions,
            CreateDelegationToken,
            RenewDelegationToken,
            ExpireDelegationToken,
            DescribeDelegationToken,
            DeleteGroups,
            ElectLeaders,
            IncrementalAlterConfigs,
            AlterPartitionReassignments,
            ListPartitionReassignments,
            OffsetDelete,
            DescribeClientQuotas,
            AlterClientQuotas,
            DescribeUserScramCredentials,
            AlterUserScramCredentials,
            Vote,
            BeginQuorumEpoch,
            EndQuorumEpoch,
            DescribeQuorum,
            AlterPartition,
            UpdateFeatures,
            Envelope,
            FetchSnapshot,
            DescribeCluster,
            DescribeProducers,
            BrokerRegistration,
            BrokerHeartbeat,
            UnregisterBroker,
            DescribeTransactions,
            ListTransactions,
            AllocateProducerIds,
            ConsumerGroupHeartbeat,
            ConsumerGroupDescribe,
            ControllerRegistration,
            GetTelemetrySubscriptions,
            PushTelemetry,
            AssignReplicasToDirs,
            ListConfigResources,
            DescribeTopicPartitions,
            ShareGroupHeartbeat,
            ShareGroupDescribe,
            ShareFetch,
            ShareAcknowledge,
            AddRaftVoter,
            RemoveRaftVoter,
            UpdateRaftVoter,
            InitializeShareGroupState,
            ReadShareGroupState,
            WriteShareGroupState,
            DeleteShareGroupState,
            ReadShareGroupStateSummary,
            DescribeShareGroupOffsets,
            AlterShareGroupOffsets,
            DeleteShareGroupOffsets,
        ]
    )
}

fn oracle15_default(
    key: i16,
    dir: Dir,
) -> Option<OracleMsg<kp15::messages::RequestKind, kp15::messages::ResponseKind>> {
    oracle_defaults!(
        kp15,
        key,
        dir,
        [
            Produce,
            Fetch,
            ListOffsets,
            Metadata,
            LeaderAndIsr,
            StopReplica,
            UpdateMetadata,
            ControlledShutdown,
            OffsetCommit,
            OffsetFetch,
            FindCoordinator,
            JoinGroup,
            Heartbeat,
            LeaveGroup,
            SyncGroup,
            DescribeGroups,
            ListGroups,
            SaslHandshake,
            ApiVersions,
            CreateTopics,
            DeleteTopics,
            DeleteRecords,
            InitProducerId,
            OffsetForLeaderEpoch,
            AddPartitionsToTxn,
            AddOffsetsToTxn,
            EndTxn,
            WriteTxnMarkers,
            TxnOffsetCommit,
            DescribeAcls,
            CreateAcls,
            DeleteAcls,
            DescribeConfigs,
            AlterConfigs,
            AlterReplicaLogDirs,
            DescribeLogDirs,
            SaslAuthenticate,
            CreatePartitions,
            CreateDelegationToken,
            RenewDelegationToken,
            ExpireDelegationToken,
            DescribeDelegationToken,
            DeleteGroups,
            ElectLeaders,
            IncrementalAlterConfigs,
            AlterPartitionReassignments,
            ListPartitionReassignments,
            OffsetDelete,
            DescribeClientQuotas,
            AlterClientQuotas,
            DescribeUserScramCredentials,
            AlterUserScramCredentials,
            Vote,
            BeginQuorumEpoch,
            EndQuorumEpoch,
            DescribeQuorum,
            AlterPartition,
            UpdateFeatures,
            Envelope,
            FetchSnapshot,
            DescribeCluster,
            DescribeProducers,
            BrokerRegistration,
            BrokerHeartbeat,
            UnregisterBroker,
            DescribeTransactions,
            ListTransactions,
            AllocateProducerIds,
            ConsumerGroupHeartbeat,
            ConsumerGroupDescribe,
            ControllerRegistration,
            GetTelemetrySubscriptions,
            PushTelemetry,
            AssignReplicasToDirs,
            ListClientMetricsResources,
            DescribeTopicPartitions,
            AddRaftVoter,
            RemoveRaftVoter,
            UpdateRaftVoter,
        ]
    )
}

const UNSUPPORTED: &str = "specified version not supported";

/// Oracle round trip with kafka-protocol 0.18: Ok(true) checked, Ok(false) version unknown to it.
fn oracle18(key: i16, dir: Dir, version: i16, body: &Bytes) -> Result<bool, String> {
    let Ok(api) = kp::messages::ApiKey::try_from(key) else {
        return Ok(false);
    };
    let mut buf = body.clone();
    let mut out = BytesMut::new();
    let res = match dir {
        Dir::Request => kp::messages::RequestKind::decode(api, &mut buf, version)
            .and_then(|m| m.encode(&mut out, version)),
        Dir::Response => kp::messages::ResponseKind::decode(api, &mut buf, version)
            .and_then(|m| m.encode(&mut out, version)),
    };
    finish_oracle(res, buf, out, body)
}

fn oracle15(key: i16, dir: Dir, version: i16, body: &Bytes) -> Result<bool, String> {
    let Ok(api) = kp15::messages::ApiKey::try_from(key) else {
        return Ok(false);
    };
    let mut buf = body.clone();
    let mut out = BytesMut::new();
    let res = match dir {
        Dir::Request => kp15::messages::RequestKind::decode(api, &mut buf, version)
            .and_then(|m| m.encode(&mut out, version)),
        Dir::Response => kp15::messages::ResponseKind::decode(api, &mut buf, version)
            .and_then(|m| m.encode(&mut out, version)),
    };
    finish_oracle(res, buf, out, body)
}

fn finish_oracle(
    res: anyhow_like::Result<()>,
    rest: Bytes,
    out: BytesMut,
    body: &Bytes,
) -> Result<bool, String> {
    match res {
        Err(e) if format!("{e:#}").contains(UNSUPPORTED) => Ok(false),
        Err(e) => Err(format!("oracle failed: {e:#}")),
        Ok(()) if !rest.is_empty() => Err(format!("oracle left {} bytes undecoded", rest.len())),
        Ok(()) if out[..] != body[..] => Err(format!(
            "oracle re-encoded differently:\n spate  {:02x?}\n oracle {:02x?}",
            &body[..],
            &out[..]
        )),
        Ok(()) => Ok(true),
    }
}

mod anyhow_like {
    pub type Result<T> = std::result::Result<T, anyhow::Error>;
}

/// The oracle's default message at `version`, encoded by the oracle.
fn oracle_default_bytes(key: i16, dir: Dir, version: i16, which: Oracle) -> Option<Bytes> {
    let mut out = BytesMut::new();
    let ok = match which {
        Oracle::V18 => match oracle18_default(key, dir)? {
            OracleMsg::Req(m) => m.encode(&mut out, version).is_ok(),
            OracleMsg::Resp(m) => m.encode(&mut out, version).is_ok(),
        },
        Oracle::V15 => match oracle15_default(key, dir)? {
            OracleMsg::Req(m) => m.encode(&mut out, version).is_ok(),
            OracleMsg::Resp(m) => m.encode(&mut out, version).is_ok(),
        },
    };
    ok.then(|| out.freeze())
}

/// Spate's typed decode, then encode; returns the decoded body as JSON.
fn spate_roundtrip(key: ApiKey, dir: Dir, version: i16, body: &Bytes) -> Result<Json, String> {
    let mut r = Reader::new(body);
    let mut out = spate_core::protocol::Writer::new();
    let json = match dir {
        Dir::Request => {
            let m = RequestBody::decode(key, &mut r, version)
                .map_err(|e| format!("spate decode: {e}"))?;
            m.encode(&mut out, version)
                .map_err(|e| format!("spate encode: {e}"))?;
            serde_json::to_value(&m).map_err(|e| e.to_string())?
        }
        Dir::Response => {
            let m = ResponseBody::decode(key, &mut r, version)
                .map_err(|e| format!("spate decode: {e}"))?;
            m.encode(&mut out, version)
                .map_err(|e| format!("spate encode: {e}"))?;
            serde_json::to_value(&m).map_err(|e| e.to_string())?
        }
    };
    r.finish().map_err(|e| format!("spate decode: {e}"))?;
    let out = out.freeze();
    if out[..] != body[..] {
        return Err(format!(
            "spate re-encoded differently:\n in  {:02x?}\n out {:02x?}",
            &body[..],
            &out[..]
        ));
    }
    // The body enum serializes as {"Variant": {...}}.
    Ok(json
        .as_object()
        .and_then(|o| o.values().next().cloned())
        .unwrap_or(Json::Null))
}

/// Checks that the leaves of `root` cover 0..len exactly once, in order.
fn check_coverage(root: &Span, len: usize) -> Result<(), String> {
    if len == 0 && root.children.is_empty() {
        // An empty body (ApiVersions v0-2, ListGroups v0-2): nothing to explain.
        return Ok(());
    }
    let mut at = 0;
    for leaf in root.leaves() {
        if leaf.start != at {
            return Err(format!(
                "leaf `{}` starts at {} but the previous ended at {at}",
                leaf.name, leaf.start
            ));
        }
        if leaf.end <= leaf.start {
            return Err(format!("leaf `{}` is empty at {}", leaf.name, leaf.start));
        }
        at = leaf.end;
    }
    if at != len {
        return Err(format!("leaves end at {at}, frame has {len} bytes"));
    }
    Ok(())
}

/// Compares the annotated fields of a struct span with the typed decode's JSON.
fn compare_struct(span: &Span, json: &Json, src: &Bytes, path: &str) -> Result<(), String> {
    let obj = json
        .as_object()
        .ok_or_else(|| format!("{path}: typed value is not an object"))?;
    let mut fields: Vec<&Span> = Vec::new();
    for c in &span.children {
        if c.name == "tagged_fields" {
            for t in &c.children {
                if t.kind == "tagged_field" {
                    if let Some(inner) = t.children.iter().find(|x| x.name == t.name) {
                        fields.push(inner);
                    } else if t.name.starts_with("unknown_tag_") {
                        let n = obj
                            .get("unknown_tagged_fields")
                            .and_then(|u| u.as_array())
                            .map_or(0, |a| a.len());
                        if n == 0 {
                            return Err(format!(
                                "{path}: annotated {} but the typed decode kept no unknown tag",
                                t.name
                            ));
                        }
                    }
                }
            }
        } else if c.name != "present" {
            fields.push(c);
        }
    }
    for f in fields {
        let typed_name = if is_keyword(&f.name) {
            format!("{}_", f.name)
        } else {
            f.name.to_string()
        };
        let v = obj
            .get(&typed_name)
            .ok_or_else(|| format!("{path}: typed value has no field {}", f.name))?;
        compare(f, v, src, &format!("{path}.{}", f.name))?;
    }
    Ok(())
}

fn is_keyword(n: &str) -> bool {
    matches!(
        n,
        "type"
            | "match"
            | "ref"
            | "mod"
            | "fn"
            | "struct"
            | "enum"
            | "in"
            | "as"
            | "use"
            | "where"
            | "move"
            | "self"
            | "super"
            | "crate"
            | "loop"
            | "box"
            | "final"
            | "override"
            | "priv"
            | "yield"
            | "try"
            | "async"
            | "await"
            | "dyn"
            | "macro"
            | "virtual"
            | "static"
            | "const"
            | "trait"
            | "impl"
            | "let"
            | "mut"
            | "pub"
            | "return"
            | "true"
            | "false"
            | "if"
            | "else"
            | "for"
            | "while"
            | "break"
            | "continue"
            | "extern"
            | "unsafe"
            | "abstract"
            | "become"
            | "do"
            | "typeof"
            | "unsized"
    )
}

fn compare(span: &Span, json: &Json, src: &Bytes, path: &str) -> Result<(), String> {
    let mismatch = |what: &str| {
        Err(format!(
            "{path}: annotated {what} but typed decode has {json}"
        ))
    };
    if span.value == Some(Value::Null) {
        return if json.is_null() {
            Ok(())
        } else {
            mismatch("null")
        };
    }
    if span.kind.ends_with("records") {
        let data = &src[span.children.first().map_or(span.start, |c| c.end)..span.end];
        let typed: Vec<u8> = json
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_u64().map(|b| b as u8))
                    .collect()
            })
            .unwrap_or_default();
        return if typed == data {
            Ok(())
        } else {
            mismatch("other record bytes")
        };
    }
    if span.kind.contains("[]") {
        let arr = json
            .as_array()
            .ok_or_else(|| format!("{path}: typed value is not an array"))?;
        let elems: Vec<&Span> = span.children.iter().skip(1).collect();
        if elems.len() != arr.len() {
            return mismatch(&format!("{} elements", elems.len()));
        }
        for (i, (e, j)) in elems.iter().zip(arr).enumerate() {
            compare(e, j, src, &format!("{path}[{i}]"))?;
        }
        return Ok(());
    }
    match &span.value {
        Some(Value::Int(i)) => (json.as_i64() == Some(*i))
            .then_some(())
            .ok_or(())
            .or_else(|_| mismatch(&i.to_string())),
        Some(Value::Bool(b)) => (json.as_bool() == Some(*b))
            .then_some(())
            .ok_or(())
            .or_else(|_| mismatch(&b.to_string())),
        Some(Value::Float(f)) => (json.as_f64() == Some(*f))
            .then_some(())
            .ok_or(())
            .or_else(|_| mismatch(&f.to_string())),
        Some(Value::Str(s)) => (json.as_str() == Some(s.as_str()))
            .then_some(())
            .ok_or(())
            .or_else(|_| mismatch(s)),
        Some(Value::Uuid(u)) => (json.as_str() == Some(u.to_string().as_str()))
            .then_some(())
            .ok_or(())
            .or_else(|_| mismatch(&u.to_string())),
        Some(Value::Bytes(b)) => {
            let typed: Vec<u8> = json
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_u64().map(|b| b as u8))
                        .collect()
                })
                .unwrap_or_default();
            (typed == b[..])
                .then_some(())
                .ok_or(())
                .or_else(|_| mismatch("other bytes"))
        }
        Some(Value::Null) => unreachable!(),
        None => compare_struct(span, json, src, path),
    }
}

struct Row {
    name: String,
    dir: Dir,
    checked: Vec<(i16, Oracle)>,
    missing: Vec<i16>,
}

#[test]
fn every_api_and_version_round_trips_through_spate_the_oracle_and_the_annotator() {
    let mut failures = Vec::new();
    let mut rows = Vec::new();
    let mut pairs = 0;
    for &key in ApiKey::ALL {
        for dir in [Dir::Request, Dir::Response] {
            let spec: &MessageSpec = match dir {
                Dir::Request => key.request_spec(),
                Dir::Response => key.response_spec(),
            };
            let mut row = Row {
                name: format!("{key:?}"),
                dir,
                checked: Vec::new(),
                missing: Vec::new(),
            };
            for version in spec.valid.min..=spec.valid.max {
                pairs += 1;
                let mut covered = None;
                let mut seeds: Vec<(String, Bytes)> = Variant::ALL
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        (
                            format!("{v:?}"),
                            example_body(spec, version, 7 + i as u64 * 31 + version as u64, *v),
                        )
                    })
                    .collect();
                for which in [Oracle::V18, Oracle::V15] {
                    if let Some(b) = oracle_default_bytes(key as i16, dir, version, which) {
                        seeds.push((format!("oracle {which:?} default"), b));
                    }
                }
                for (label, body) in &seeds {
                    let ctx = format!("{key:?} {dir:?} v{version} ({label})");
                    // 1. Spate round trip
                    let typed = match spate_roundtrip(key, dir, version, body) {
                        Ok(j) => j,
                        Err(e) => {
                            failures.push(format!("{ctx}: {e}"));
                            continue;
                        }
                    };
                    // 2. oracle round trip (new oracle first, then the legacy one)
                    match oracle18(key as i16, dir, version, body) {
                        Ok(true) => covered = covered.or(Some(Oracle::V18)),
                        Ok(false) => match oracle15(key as i16, dir, version, body) {
                            Ok(true) => covered = covered.or(Some(Oracle::V15)),
                            Ok(false) => {}
                            Err(e) => failures.push(format!("{ctx}: 0.15 {e}")),
                        },
                        Err(e) => failures.push(format!("{ctx}: 0.18 {e}")),
                    }
                    // 4. annotation
                    let ann = annotate_message(body, spec, version);
                    if let Some(e) = &ann.error {
                        failures.push(format!("{ctx}: annotate error: {e}"));
                        continue;
                    }
                    if let Err(e) = check_coverage(&ann.root, body.len()) {
                        failures.push(format!("{ctx}: coverage: {e}"));
                    }
                    if let Err(e) = compare_struct(&ann.root, &typed, body, "") {
                        failures.push(format!("{ctx}: values: {e}"));
                    }
                }
                match covered {
                    Some(o) => row.checked.push((version, o)),
                    None => row.missing.push(version),
                }
            }
            rows.push(row);
        }
    }
    print_table(&rows, pairs);
    let missing: Vec<String> = rows
        .iter()
        .filter(|r| !r.missing.is_empty())
        .map(|r| format!("{} {:?} {:?}", r.name, r.dir, r.missing))
        .collect();
    for f in failures.iter().take(40) {
        eprintln!("FAIL {f}");
    }
    assert!(
        failures.is_empty(),
        "{} failures (first 40 above)",
        failures.len()
    );
    assert!(missing.is_empty(), "pairs no oracle checked: {missing:?}");
}

fn ranges(vs: &[i16]) -> String {
    let mut out = Vec::new();
    let mut i = 0;
    while i < vs.len() {
        let mut j = i;
        while j + 1 < vs.len() && vs[j + 1] == vs[j] + 1 {
            j += 1;
        }
        out.push(if i == j {
            format!("{}", vs[i])
        } else {
            format!("{}-{}", vs[i], vs[j])
        });
        i = j + 1;
    }
    out.join(",")
}

fn print_table(rows: &[Row], pairs: usize) {
    println!(
        "\n{:<32} {:<9} {:<14} {:<14} NOT COVERED",
        "api", "direction", "kp 0.18", "kp 0.15"
    );
    for r in rows {
        let v18: Vec<i16> = r
            .checked
            .iter()
            .filter(|c| c.1 == Oracle::V18)
            .map(|c| c.0)
            .collect();
        let v15: Vec<i16> = r
            .checked
            .iter()
            .filter(|c| c.1 == Oracle::V15)
            .map(|c| c.0)
            .collect();
        println!(
            "{:<32} {:<9} {:<14} {:<14} {}",
            r.name,
            format!("{:?}", r.dir),
            ranges(&v18),
            ranges(&v15),
            ranges(&r.missing)
        );
    }
    let checked: usize = rows.iter().map(|r| r.checked.len()).sum();
    println!("{checked} of {pairs} (api, version, direction) pairs checked against an oracle\n");
}
