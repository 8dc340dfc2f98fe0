//! Helpers for the config tests: typed requests in, the interesting
//! parts of the responses out.

use crate::sim::Sim;
use spate_core::protocol::messages::alter_configs_request::{
    AlterConfigsRequest, AlterConfigsResource, AlterableConfig,
};
use spate_core::protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use spate_core::protocol::messages::describe_configs_request::{
    DescribeConfigsRequest, DescribeConfigsResource,
};
use spate_core::protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult,
};
use spate_core::protocol::messages::incremental_alter_configs_request as inc;
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody};
use spate_core::storage::{Storage, TopicPartition};

pub const TOPIC: i8 = 2;
pub const BROKER: i8 = 4;
pub const LOGGER: i8 = 8;
pub const INVALID_REQUEST: i16 = ErrorCode::INVALID_REQUEST.code();
pub const INVALID_CONFIG: i16 = ErrorCode::INVALID_CONFIG.code();

pub fn create(sim: &mut Sim, name: &str, configs: &[(&str, &str)]) {
    assert_eq!(sim.create_topic_with(name, 1, configs).error_code, 0);
}

pub fn resource(resource_type: i8, name: &str, keys: Option<&[&str]>) -> DescribeConfigsResource {
    DescribeConfigsResource {
        resource_type,
        resource_name: name.into(),
        configuration_keys: keys.map(|k| k.iter().map(|&s| s.into()).collect()),
        ..Default::default()
    }
}

pub fn describe_many(
    sim: &mut Sim,
    version: i16,
    resources: Vec<DescribeConfigsResource>,
    synonyms: bool,
) -> Vec<DescribeConfigsResult> {
    let req = DescribeConfigsRequest {
        resources,
        include_synonyms: synonyms && version >= 1,
        include_documentation: synonyms && version >= 3,
        ..Default::default()
    };
    let ResponseBody::DescribeConfigs(r) = sim.call(1, version, RequestBody::DescribeConfigs(req))
    else {
        panic!()
    };
    r.results
}

pub fn describe(
    sim: &mut Sim,
    version: i16,
    resource_type: i8,
    name: &str,
    keys: Option<&[&str]>,
) -> DescribeConfigsResult {
    describe_many(
        sim,
        version,
        vec![resource(resource_type, name, keys)],
        true,
    )
    .remove(0)
}

pub fn config<'a>(r: &'a DescribeConfigsResult, name: &str) -> &'a DescribeConfigsResourceResult {
    r.configs
        .iter()
        .find(|c| &*c.name == name)
        .unwrap_or_else(|| panic!("{name} in {r:?}"))
}

/// A synonym: name, value, source.
pub type Synonym = (String, Option<String>, i8);

/// A resource to alter: type, name, configs.
pub type Altered<'a> = (i8, &'a str, &'a [(&'a str, Option<&'a str>)]);

/// The value, source and synonym chain of one topic config.
pub fn topic_config(sim: &mut Sim, topic: &str, name: &str) -> (Option<String>, i8, Vec<Synonym>) {
    let r = describe(sim, 4, TOPIC, topic, Some(&[name]));
    assert_eq!(r.error_code, 0, "{r:?}");
    let c = config(&r, name);
    let syn = c
        .synonyms
        .iter()
        .map(|s| {
            (
                s.name.to_string(),
                s.value.as_deref().map(str::to_string),
                s.source,
            )
        })
        .collect();
    (c.value.as_deref().map(str::to_string), c.config_source, syn)
}

pub fn value(sim: &mut Sim, topic: &str, name: &str) -> Option<String> {
    topic_config(sim, topic, name).0
}

pub fn alter(
    sim: &mut Sim,
    version: i16,
    resources: Vec<Altered<'_>>,
    validate_only: bool,
) -> Vec<AlterConfigsResourceResponse> {
    let req = AlterConfigsRequest {
        resources: resources
            .into_iter()
            .map(|(t, n, cs)| AlterConfigsResource {
                resource_type: t,
                resource_name: n.into(),
                configs: cs
                    .iter()
                    .map(|(k, v)| AlterableConfig {
                        name: (*k).into(),
                        value: v.map(Into::into),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
        validate_only,
        ..Default::default()
    };
    let ResponseBody::AlterConfigs(r) = sim.call(1, version, RequestBody::AlterConfigs(req)) else {
        panic!()
    };
    r.responses
}

pub const SET: i8 = 0;
pub const DELETE: i8 = 1;
pub const APPEND: i8 = 2;
pub const SUBTRACT: i8 = 3;

/// One IncrementalAlterConfigs resource; returns (error code, message).
pub fn incremental(
    sim: &mut Sim,
    version: i16,
    t: i8,
    name: &str,
    ops: &[(&str, i8, Option<&str>)],
    validate_only: bool,
) -> (i16, Option<String>) {
    let req = inc::IncrementalAlterConfigsRequest {
        resources: vec![inc::AlterConfigsResource {
            resource_type: t,
            resource_name: name.into(),
            configs: ops
                .iter()
                .map(|(k, op, v)| inc::AlterableConfig {
                    name: (*k).into(),
                    config_operation: *op,
                    value: v.map(Into::into),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        validate_only,
        ..Default::default()
    };
    let ResponseBody::IncrementalAlterConfigs(r) =
        sim.call(1, version, RequestBody::IncrementalAlterConfigs(req))
    else {
        panic!()
    };
    let r = &r.responses[0];
    (r.error_code, r.error_message.as_deref().map(str::to_string))
}

pub fn produce(sim: &mut Sim, topic: &str, records: bytes::Bytes) -> i16 {
    sim.produce_to(98, 9, topic, 0, records).error_code
}

pub fn syn(name: &str, value: &str, source: i8) -> Synonym {
    (name.into(), Some(value.into()), source)
}

pub fn start_offset(sim: &Sim) -> i64 {
    sim.broker
        .storage()
        .start_offset(&TopicPartition::new("t", 0))
}
