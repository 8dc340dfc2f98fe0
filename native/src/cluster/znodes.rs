//! Kafka's znodes: their paths and the JSON in them, written as a Kafka
//! 2.x broker writes them, so that `zkCli.sh` and Kafka's tools read a
//! Spate cluster as a Kafka one.
//!
//! # Format
//!
//! ```text
//! /cluster/id          {"version":"1","id":"<22-char base64 uuid>"}           persistent
//! /controller_epoch    1                                                    persistent, plain digits
//! /controller          {"version":1,"brokerid":1,"timestamp":"<ms>"}          ephemeral
//! /brokers/ids/1       {"features":{},"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},
//!                       "endpoints":["PLAINTEXT://host:9092"],"rack":"r1","jmx_port":-1,
//!                       "port":9092,"host":"host","version":5,"timestamp":"<ms>"}   ephemeral
//! ```
//!
//! `rack` is there only when `broker.rack` is set. Readers accept every
//! version Kafka wrote (broker registrations v1 to v5, controller v1 and
//! v2), and ignore keys they do not know.

use spate_core::broker::Endpoint;
use spate_core::security::SecurityProtocol;
use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use super::engine::{BrokerId, BrokerInfo};

/// The cluster id.
pub(crate) const CLUSTER_ID: &str = "/cluster/id";
/// The registered brokers' parent.
pub(crate) const BROKER_IDS: &str = "/brokers/ids";
/// The controller's claim (ephemeral).
pub(crate) const CONTROLLER: &str = "/controller";
/// The controller epoch.
pub(crate) const CONTROLLER_EPOCH: &str = "/controller_epoch";

/// The persistent paths a Kafka broker makes sure of at startup
/// (`ZkData.PersistentZkPaths`): the old consumers' root, brokers, topics,
/// the config change notifications, topic deletions, the broker id
/// sequence, ISR and log directory notifications, the producer id block,
/// and one config root per entity type.
pub(crate) const PERSISTENT_PATHS: &[&str] = &[
    "/consumers",
    BROKER_IDS,
    "/brokers/topics",
    "/config/changes",
    "/admin/delete_topics",
    "/brokers/seqid",
    "/isr_change_notification",
    "/latest_producer_id_block",
    "/log_dir_event_notification",
    "/config/topics",
    "/config/clients",
    "/config/users",
    "/config/brokers",
    "/config/ips",
    "/kafka-acl",
    "/kafka-acl-changes",
    "/kafka-acl-extended/prefixed",
    "/kafka-acl-extended-changes",
];

/// `/brokers/ids/<id>`.
pub(crate) fn broker_path(id: BrokerId) -> String {
    format!("{BROKER_IDS}/{id}")
}

/// The ids among `/brokers/ids` children (others are ignored).
pub(crate) fn broker_ids(children: &[String]) -> BTreeSet<BrokerId> {
    children.iter().filter_map(|c| c.parse().ok()).collect()
}

/// A broker registration, version 5 (Kafka 2.7 and later). Field order is
/// the one a Kafka broker's registration shows in `zkCli.sh`.
#[derive(Serialize)]
struct BrokerJson<'a> {
    features: BTreeMap<String, Value>,
    listener_security_protocol_map: BTreeMap<&'a str, &'a str>,
    endpoints: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rack: Option<&'a str>,
    jmx_port: i32,
    port: i32,
    host: &'a str,
    version: i32,
    timestamp: String,
}

/// `NAME://host:port`, brackets around an IPv6 host.
fn endpoint(name: &str, host: &str, port: i32) -> String {
    if host.contains(':') {
        format!("{name}://[{host}]:{port}")
    } else {
        format!("{name}://{host}:{port}")
    }
}

/// The registration JSON of `broker`, stamped `now_ms`: every advertised
/// listener and its protocol, as Kafka registers them (without any, one
/// `PLAINTEXT` listener at the broker's host and port).
pub(crate) fn encode_broker(broker: &BrokerInfo, now_ms: i64) -> Vec<u8> {
    let host = broker.host.as_str();
    let (map, endpoints) = if broker.endpoints.is_empty() {
        (
            BTreeMap::from([("PLAINTEXT", "PLAINTEXT")]),
            vec![endpoint("PLAINTEXT", host, broker.port)],
        )
    } else {
        (
            (broker.endpoints.iter())
                .map(|e| (e.listener.as_str(), e.protocol.name()))
                .collect(),
            (broker.endpoints.iter())
                .map(|e| endpoint(&e.listener, &e.host, e.port))
                .collect(),
        )
    };
    let json = BrokerJson {
        features: BTreeMap::new(),
        listener_security_protocol_map: map,
        endpoints,
        rack: broker.rack.as_deref(),
        jmx_port: -1,
        port: broker.port,
        host,
        version: 5,
        timestamp: now_ms.to_string(),
    };
    serde_json::to_vec(&json).unwrap_or_default()
}

/// Reads a registration of broker `id`: the first plaintext endpoint
/// (by `listener_security_protocol_map`), else the first endpoint, else
/// the top-level `host` and `port` of version 1.
pub(crate) fn decode_broker(id: BrokerId, bytes: &[u8]) -> Result<BrokerInfo, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let protocols = v.get("listener_security_protocol_map");
    let endpoints: Vec<&str> = v
        .get("endpoints")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let plaintext = endpoints.iter().find(|e| {
        let name = e.split("://").next().unwrap_or_default();
        match protocols.and_then(|p| p.get(name)).and_then(Value::as_str) {
            Some(protocol) => protocol == "PLAINTEXT",
            None => name == "PLAINTEXT",
        }
    });
    let (host, port) = match plaintext.or(endpoints.first()) {
        Some(e) => split_endpoint(e).ok_or_else(|| format!("bad endpoint {e:?}"))?,
        None => {
            let host = v
                .get("host")
                .and_then(Value::as_str)
                .ok_or("no endpoints and no host")?;
            let port = v
                .get("port")
                .and_then(Value::as_i64)
                .ok_or("no endpoints and no port")?;
            (
                host.to_string(),
                i32::try_from(port).map_err(|_| "bad port")?,
            )
        }
    };
    let rack = v.get("rack").and_then(Value::as_str).map(str::to_string);
    // Every endpoint whose protocol is known (by the map, else by its
    // listener's name, as Kafka reads a registration without a map).
    let all = endpoints
        .iter()
        .filter_map(|e| {
            let name = e.split("://").next()?;
            let protocol = match protocols.and_then(|p| p.get(name)).and_then(Value::as_str) {
                Some(p) => SecurityProtocol::parse(p)?,
                None => SecurityProtocol::parse(name)?,
            };
            let (host, port) = split_endpoint(e)?;
            Some(Endpoint {
                listener: name.to_string(),
                host,
                port,
                protocol,
            })
        })
        .collect();
    Ok(BrokerInfo {
        id,
        host,
        port,
        rack,
        endpoints: all,
    })
}

/// `NAME://host:port` (or `NAME://[v6]:port`) as host and port.
fn split_endpoint(e: &str) -> Option<(String, i32)> {
    let addr = e.split_once("://").map_or(e, |(_, a)| a);
    let (host, port) = addr.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Some((host.to_string(), port.parse().ok()?))
}

/// `/controller`: version 1, as a Kafka 2.x controller writes it.
pub(crate) fn encode_controller(id: BrokerId, now_ms: i64) -> Vec<u8> {
    #[derive(Serialize)]
    struct ControllerJson {
        version: i32,
        brokerid: BrokerId,
        timestamp: String,
    }
    let json = ControllerJson {
        version: 1,
        brokerid: id,
        timestamp: now_ms.to_string(),
    };
    serde_json::to_vec(&json).unwrap_or_default()
}

/// The `brokerid` in `/controller`.
pub(crate) fn decode_controller(bytes: &[u8]) -> Result<BrokerId, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    v.get("brokerid")
        .and_then(Value::as_i64)
        .and_then(|id| BrokerId::try_from(id).ok())
        .ok_or_else(|| "no brokerid".to_string())
}

/// `/controller_epoch`: the number in decimal digits.
pub(crate) fn encode_epoch(epoch: i32) -> Vec<u8> {
    epoch.to_string().into_bytes()
}

/// The number in `/controller_epoch`.
pub(crate) fn decode_epoch(bytes: &[u8]) -> Result<i32, String> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| format!("not a number: {:?}", String::from_utf8_lossy(bytes)))
}

/// `/cluster/id` (its version is a string, as Kafka writes it).
pub(crate) fn encode_cluster_id(id: &str) -> Vec<u8> {
    #[derive(Serialize)]
    struct ClusterIdJson<'a> {
        version: &'a str,
        id: &'a str,
    }
    serde_json::to_vec(&ClusterIdJson { version: "1", id }).unwrap_or_default()
}

/// The `id` in `/cluster/id`.
pub(crate) fn decode_cluster_id(bytes: &[u8]) -> Result<String, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    v.get("id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| "no id".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broker(rack: Option<&str>) -> BrokerInfo {
        BrokerInfo {
            id: 2,
            host: "kafka-2.example".into(),
            port: 9093,
            rack: rack.map(str::to_string),
            endpoints: Vec::new(),
        }
    }

    fn ep(listener: &str, port: i32, protocol: SecurityProtocol) -> Endpoint {
        Endpoint {
            listener: listener.into(),
            host: "kafka-2.example".into(),
            port,
            protocol,
        }
    }

    #[test]
    fn a_registration_is_kafkas_version_5() {
        let json = String::from_utf8(encode_broker(&broker(None), 1_700_000_000_123)).unwrap();
        assert_eq!(
            json,
            r#"{"features":{},"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},"endpoints":["PLAINTEXT://kafka-2.example:9093"],"jmx_port":-1,"port":9093,"host":"kafka-2.example","version":5,"timestamp":"1700000000123"}"#
        );
        let with_rack = String::from_utf8(encode_broker(&broker(Some("r1")), 5)).unwrap();
        assert!(with_rack.contains(
            r#""endpoints":["PLAINTEXT://kafka-2.example:9093"],"rack":"r1","jmx_port":-1"#
        ));
        let mut read = broker(Some("r1"));
        read.endpoints = vec![ep("PLAINTEXT", 9093, SecurityProtocol::Plaintext)];
        assert_eq!(decode_broker(2, with_rack.as_bytes()), Ok(read));
    }

    #[test]
    fn every_listener_is_registered_with_its_protocol() {
        let mut b = broker(None);
        b.endpoints = vec![
            ep("INTERNAL", 9093, SecurityProtocol::Plaintext),
            ep("SSL", 9094, SecurityProtocol::Ssl),
        ];
        let json = String::from_utf8(encode_broker(&b, 1)).unwrap();
        assert!(
            json.contains(
                r#""listener_security_protocol_map":{"INTERNAL":"PLAINTEXT","SSL":"SSL"},"endpoints":["INTERNAL://kafka-2.example:9093","SSL://kafka-2.example:9094"]"#
            ),
            "{json}"
        );
        assert_eq!(decode_broker(2, json.as_bytes()), Ok(b));
    }

    #[test]
    fn registrations_kafka_wrote_are_read() {
        // Version 4 with two listeners: the plaintext one is picked.
        let v4 = br#"{"listener_security_protocol_map":{"SECURE":"SSL","INSIDE":"PLAINTEXT"},"endpoints":["SECURE://a:9094","INSIDE://a:9092"],"rack":"dc1","jmx_port":9999,"host":null,"timestamp":"1","port":-1,"version":4}"#;
        let b = decode_broker(7, v4).unwrap();
        assert_eq!(
            (b.host.as_str(), b.port, b.rack.as_deref()),
            ("a", 9092, Some("dc1"))
        );
        let names: Vec<_> = b
            .endpoints
            .iter()
            .map(|e| (e.listener.as_str(), e.protocol))
            .collect();
        assert_eq!(
            names,
            [
                ("SECURE", SecurityProtocol::Ssl),
                ("INSIDE", SecurityProtocol::Plaintext)
            ]
        );
        // Version 1: host and port only.
        let v1 = br#"{"version":1,"host":"old","port":9092,"jmx_port":-1,"timestamp":"1"}"#;
        assert_eq!(decode_broker(1, v1).unwrap().host, "old");
        let v6 = br#"{"endpoints":["PLAINTEXT://[::1]:9092"]}"#;
        assert_eq!(decode_broker(1, v6).unwrap().host, "::1");
        assert!(decode_broker(1, b"{}").is_err());
    }

    #[test]
    fn controller_epoch_and_cluster_id_are_kafkas() {
        assert_eq!(
            encode_controller(3, 42),
            br#"{"version":1,"brokerid":3,"timestamp":"42"}"#
        );
        // Kafka 3.x during a KRaft migration writes version 2.
        let v2 = br#"{"version":2,"brokerid":3000,"timestamp":"1","kraftControllerEpoch":5}"#;
        assert_eq!(decode_controller(v2), Ok(3000));
        assert_eq!(encode_epoch(12), b"12");
        assert_eq!(decode_epoch(b"12"), Ok(12));
        assert!(decode_epoch(b"x").is_err());
        assert_eq!(encode_cluster_id("abc"), br#"{"version":"1","id":"abc"}"#);
        assert_eq!(
            decode_cluster_id(br#"{"version":"1","id":"abc"}"#),
            Ok("abc".into())
        );
        assert_eq!(
            broker_ids(&["3".into(), "x".into(), "1".into()]),
            BTreeSet::from([1, 3])
        );
    }
}
