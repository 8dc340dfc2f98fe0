//! Topic and broker configs through the real codec: DescribeConfigs here;
//! AlterConfigs, IncrementalAlterConfigs and their effect on produce,
//! retention and restarts in `configs/alter.rs`; dynamic broker configs in
//! `configs/dynamic.rs`; the client telemetry APIs in
//! `configs/telemetry.rs`.

#[path = "configs/alter.rs"]
mod alter;
#[path = "configs/dynamic.rs"]
mod dynamic;
mod sim;
#[path = "configs/telemetry.rs"]
mod telemetry;
#[path = "configs/util.rs"]
mod util;

use sim::Sim;
use spate_core::protocol::messages::api_versions_request::ApiVersionsRequest;
use spate_core::protocol::{ApiKey, ErrorCode, RequestBody, ResponseBody};
use util::*;

#[test]
fn config_apis_are_advertised() {
    let mut sim = Sim::new();
    let ResponseBody::ApiVersions(r) = sim.call(
        1,
        3,
        RequestBody::ApiVersions(ApiVersionsRequest::default()),
    ) else {
        panic!()
    };
    for (key, max) in [
        (ApiKey::DescribeConfigs, 4),
        (ApiKey::AlterConfigs, 2),
        (ApiKey::IncrementalAlterConfigs, 1),
        (ApiKey::GetTelemetrySubscriptions, 0),
        (ApiKey::PushTelemetry, 0),
    ] {
        let k = r
            .api_keys
            .iter()
            .find(|k| k.api_key == key as i16)
            .unwrap_or_else(|| panic!("{key:?}"));
        assert_eq!((k.min_version, k.max_version), (0, max), "{key:?}");
    }
}

#[test]
fn describe_topic_reports_values_sources_synonyms_types_and_docs() {
    let mut sim = Sim::new();
    create(&mut sim, "t", &[("retention.ms", "1000")]);
    let r = describe(&mut sim, 4, TOPIC, "t", None);
    assert_eq!(
        (r.error_code, r.resource_type, &*r.resource_name),
        (0, TOPIC, "t")
    );
    assert!(r.configs.len() >= 30);
    let ret = config(&r, "retention.ms");
    assert_eq!(
        (
            ret.value.as_deref(),
            ret.config_source,
            ret.config_type,
            ret.read_only
        ),
        (Some("1000"), 1, 5, false)
    );
    assert!(ret.documentation.as_deref().is_some_and(|d| !d.is_empty()));
    assert_eq!(
        topic_config(&mut sim, "t", "retention.ms").2,
        [
            syn("retention.ms", "1000", 1),
            syn("log.retention.ms", "604800000", 4),
            syn("log.retention.hours", "168", 5)
        ]
    );
    // Set in the broker's settings: a static broker config.
    assert_eq!(
        topic_config(&mut sim, "t", "segment.bytes"),
        (
            Some("1073741824".into()),
            4,
            vec![
                syn("log.segment.bytes", "1073741824", 4),
                syn("log.segment.bytes", "1073741824", 5)
            ]
        )
    );
    assert_eq!(topic_config(&mut sim, "t", "max.message.bytes").1, 4);
    // Kafka's defaults.
    assert_eq!(
        topic_config(&mut sim, "t", "cleanup.policy"),
        (
            Some("delete".into()),
            5,
            vec![syn("log.cleanup.policy", "delete", 5)]
        )
    );
    assert_eq!(config(&r, "cleanup.policy").config_type, 7);
    assert_eq!(
        topic_config(&mut sim, "t", "segment.ms"),
        (Some("604800000".into()), 5, vec![])
    );
    // Without the flags: no synonyms, no documentation.
    let bare = describe_many(
        &mut sim,
        4,
        vec![resource(TOPIC, "t", Some(&["retention.ms"]))],
        false,
    )
    .remove(0);
    assert!(bare.configs[0].synonyms.is_empty() && bare.configs[0].documentation.is_none());
}

#[test]
fn describe_v0_marks_defaults_and_filters_keys() {
    let mut sim = Sim::new();
    create(&mut sim, "t", &[("cleanup.policy", "compact")]);
    let r = describe(
        &mut sim,
        0,
        TOPIC,
        "t",
        Some(&["cleanup.policy", "preallocate", "no.such.config"]),
    );
    let names: Vec<&str> = r.configs.iter().map(|c| &*c.name).collect();
    assert_eq!(names, ["cleanup.policy", "preallocate"]);
    assert!(!config(&r, "cleanup.policy").is_default);
    assert!(config(&r, "preallocate").is_default);
    // An empty key list means every config, as null does.
    assert!(describe(&mut sim, 1, TOPIC, "t", Some(&[])).configs.len() >= 30);
}

#[test]
fn describe_errors_follow_kafka() {
    let mut sim = Sim::new();
    create(&mut sim, "t", &[]);
    assert_eq!(
        describe(&mut sim, 4, TOPIC, "missing", None).error_code,
        ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.code()
    );
    assert_eq!(
        describe(&mut sim, 4, TOPIC, "bad name!", None).error_code,
        ErrorCode::INVALID_TOPIC_EXCEPTION.code()
    );
    assert_eq!(
        describe(&mut sim, 4, BROKER, "2", None).error_code,
        INVALID_REQUEST
    );
    assert_eq!(
        describe(&mut sim, 4, BROKER, "one", None).error_code,
        INVALID_REQUEST
    );
    assert_eq!(
        describe(&mut sim, 4, LOGGER, "", None).error_code,
        INVALID_REQUEST
    );
    let logger = describe(&mut sim, 4, LOGGER, "1", None);
    assert_eq!((logger.error_code, logger.configs.len()), (0, 0));
    // An unknown resource type fails every resource of the request.
    let all = describe_many(
        &mut sim,
        4,
        vec![resource(TOPIC, "t", None), resource(7, "x", None)],
        false,
    );
    assert!(all
        .iter()
        .all(|r| r.error_code == INVALID_REQUEST && r.configs.is_empty()));
}

#[test]
fn describe_broker_lists_static_and_default_configs() {
    let mut sim = Sim::new();
    let r = describe(&mut sim, 4, BROKER, "1", None);
    assert_eq!(r.error_code, 0);
    let node = config(&r, "node.id");
    assert_eq!(
        (
            node.value.as_deref(),
            node.config_source,
            node.read_only,
            node.config_type
        ),
        (Some("1"), 4, true, 3)
    );
    assert_eq!(config(&r, "num.partitions").value.as_deref(), Some("1"));
    let rf = config(&r, "default.replication.factor");
    assert_eq!((rf.value.as_deref(), rf.config_type), (Some("1"), 3));
    assert_eq!(config(&r, "auto.create.topics.enable").config_type, 1);
    let hours = config(&r, "log.retention.hours");
    assert_eq!(
        (hours.value.as_deref(), hours.config_source),
        (Some("168"), 5)
    );
    let roll = config(&r, "log.roll.ms");
    assert_eq!((roll.value.as_deref(), roll.config_source), (None, 5));
    assert_eq!(
        config(&r, "advertised.listeners").value.as_deref(),
        Some("PLAINTEXT://127.0.0.1:9092")
    );
    // The cluster-wide dynamic defaults: none.
    let cluster = describe(&mut sim, 4, BROKER, "", None);
    assert_eq!((cluster.error_code, cluster.configs.len()), (0, 0));
    // v0 through the codec too.
    assert!(
        describe(&mut sim, 0, BROKER, "1", Some(&["message.max.bytes"])).configs[0]
            .value
            .as_deref()
            == Some("1048588")
    );
}
