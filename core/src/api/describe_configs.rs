//! DescribeConfigs (key 32): the configs of topics and of this broker,
//! with their values, sources and synonyms.
//!
//! # Wire
//!
//! Request: resources (type, name, config keys or null for all),
//! include-synonyms (v1+), include-documentation (v3+). Response per
//! resource: error code and message, type, name, configs (name, value,
//! read-only, is-default (v0 only), source (v1+), sensitive, synonyms (v1+),
//! type and documentation (v3+)).
//!
//! # Versions
//!
//! 0-4. v0 has no sources: `is_default` says a value is Kafka's default.
//! Types: TOPIC (2) lists every topic config, set or not; BROKER (4) with
//! this node's id lists the broker configs (and custom dynamic ones),
//! with an empty name the dynamic cluster defaults that are set;
//! BROKER_LOGGER (8) lists no loggers (Spate has no log4j). Any other
//! type makes every resource of the request INVALID_REQUEST, as Kafka fails
//! the whole request. Keys that name no config are left out, not errors.
//! Spate cannot change broker configs at run time, so they are read-only.

use crate::protocol::messages::describe_configs_request::{
    DescribeConfigsRequest, DescribeConfigsResource,
};
use crate::protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResponse, DescribeConfigsResult,
    DescribeConfigsSynonym,
};
use crate::protocol::ErrorCode;

use super::authz::config_refusal;
use super::Ctx;
use crate::security::acl::{Authorizer, Operation};
use crate::state::cluster::{topic_name_error, Cluster};
use crate::state::configs::{
    broker as broker_configs, dynamic, topic as topic_configs, RESOURCE_BROKER,
    RESOURCE_BROKER_LOGGER, RESOURCE_CLIENT_METRICS, RESOURCE_GROUP, RESOURCE_TOPIC,
    SOURCE_DEFAULT, SOURCE_DYNAMIC_DEFAULT,
};
use crate::state::Config;

pub(crate) fn handle(
    ctx: &Ctx,
    config: &Config,
    cluster: &Cluster,
    az: &Authorizer<'_>,
    req: DescribeConfigsRequest,
) -> DescribeConfigsResponse {
    let known = |t: i8| {
        matches!(
            t,
            RESOURCE_TOPIC
                | RESOURCE_BROKER
                | RESOURCE_BROKER_LOGGER
                | RESOURCE_CLIENT_METRICS
                | RESOURCE_GROUP
        )
    };
    // Kafka fails the whole request, with the error's stock message.
    let unknown = req.resources.iter().any(|r| !known(r.resource_type));
    let opts = Opts {
        version: ctx.version,
        synonyms: req.include_synonyms && ctx.version >= 1,
        docs: req.include_documentation && ctx.version >= 3,
    };
    let results = req
        .resources
        .iter()
        .map(|r| {
            let refused = config_refusal(
                az,
                Operation::DescribeConfigs,
                r.resource_type,
                &r.resource_name,
            );
            let described = if unknown {
                Err((ErrorCode::INVALID_REQUEST, INVALID_REQUEST_MESSAGE.into()))
            } else if let Some(refused) = refused {
                Err(refused)
            } else {
                describe(config, cluster, r, &opts)
            };
            match described {
                Ok(configs) => DescribeConfigsResult {
                    error_code: 0,
                    resource_type: r.resource_type,
                    resource_name: r.resource_name.clone(),
                    configs,
                    ..Default::default()
                },
                Err((code, msg)) => failed(r, code, msg),
            }
        })
        .collect();
    DescribeConfigsResponse {
        throttle_time_ms: 0,
        results,
        ..Default::default()
    }
}

/// Kafka's stock message for INVALID_REQUEST.
const INVALID_REQUEST_MESSAGE: &str = "This most likely occurs because of a request being malformed by the client library or the message was sent to an incompatible broker. See the broker logs for more details.";

/// What the request asked to include.
struct Opts {
    version: i16,
    synonyms: bool,
    docs: bool,
}

type Described = Result<Vec<DescribeConfigsResourceResult>, (ErrorCode, String)>;

fn describe(
    config: &Config,
    cluster: &Cluster,
    r: &DescribeConfigsResource,
    opts: &Opts,
) -> Described {
    let name = &*r.resource_name;
    let dynamic = cluster.dynamic();
    let wanted = |k: &str| match &r.configuration_keys {
        Some(keys) if !keys.is_empty() => keys.iter().any(|x| &**x == k),
        _ => true,
    };
    match r.resource_type {
        RESOURCE_TOPIC => {
            if let Some(msg) = topic_name_error(name) {
                return Err((ErrorCode::INVALID_TOPIC_EXCEPTION, msg));
            }
            let topic = cluster
                .topic(name)
                // Kafka leaves the message at its default here.
                .ok_or((ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, String::new()))?;
            Ok(topic_configs::names()
                .filter(|k| wanted(k))
                .map(|k| {
                    let set = topic.configs.get(k).map(String::as_str);
                    let value = topic_configs::value(cluster.config(), k, set);
                    let synonyms = broker_configs::topic_synonyms(config, dynamic, k, set);
                    let doc = topic_configs::doc(k);
                    let ty = topic_configs::config_type(k);
                    entry(k, value, false, synonyms, ty, doc, opts)
                })
                .collect())
        }
        RESOURCE_BROKER if name.is_empty() => {
            // The cluster defaults: what is set, with only the default
            // level in the chain (Kafka's `createBrokerConfigEntry`).
            Ok(dynamic
                .default
                .keys()
                .map(String::as_str)
                .filter(|k| wanted(k))
                .map(|k| {
                    let synonyms: Vec<_> = broker_configs::broker_synonyms(config, dynamic, k)
                        .into_iter()
                        .filter(|s| s.source == SOURCE_DYNAMIC_DEFAULT)
                        .collect();
                    let value = synonyms
                        .first()
                        .and_then(|s| s.value.as_deref().map(Into::into));
                    broker_entry(k, value, synonyms, opts)
                })
                .collect())
        }
        RESOURCE_BROKER => {
            check_node(
                config,
                name,
                "Unexpected broker id, expected {id} or empty string, but received {name}",
                "Broker id must be an integer, but it is: {name}",
            )?;
            // Every config Spate describes, then custom dynamic ones.
            let custom: crate::collections::Set<&str> = dynamic
                .node
                .keys()
                .chain(dynamic.default.keys())
                .map(String::as_str)
                .filter(|k| !broker_configs::is_described(k))
                .collect();
            let mut names: Vec<&str> = Vec::new();
            for n in broker_configs::names() {
                names.push(n);
            }
            names.extend(custom);
            Ok(names
                .into_iter()
                .filter(|k| wanted(k))
                .map(|k| {
                    let synonyms = broker_configs::broker_synonyms(config, dynamic, k);
                    let value = match synonyms.first() {
                        Some(s) if s.source != SOURCE_DEFAULT => s.value.as_deref().map(Into::into),
                        _ => broker_configs::value(config, k),
                    };
                    broker_entry(k, value, synonyms, opts)
                })
                .collect())
        }
        RESOURCE_BROKER_LOGGER => {
            if name.is_empty() {
                return Err((
                    ErrorCode::INVALID_REQUEST,
                    "Broker id must not be empty".into(),
                ));
            }
            check_node(
                config,
                name,
                "Unexpected broker id, expected {id} but received {name}",
                "Broker id must be an integer, but it is: {name}",
            )?;
            Ok(Vec::new())
        }
        t => Err((
            ErrorCode::INVALID_REQUEST,
            format!("Unsupported resource type: {}", type_name(t)),
        )),
    }
}

/// Checks that a BROKER or BROKER_LOGGER resource names this node.
pub(crate) fn check_node(
    config: &Config,
    name: &str,
    wrong: &str,
    not_int: &str,
) -> Result<(), (ErrorCode, String)> {
    let fill = |t: &str| {
        t.replace("{id}", &config.node_id.to_string())
            .replace("{name}", name)
    };
    match name.parse::<i32>() {
        Ok(id) if id == config.node_id => Ok(()),
        Ok(_) => Err((ErrorCode::INVALID_REQUEST, fill(wrong))),
        Err(_) => Err((ErrorCode::INVALID_REQUEST, fill(not_int))),
    }
}

/// Kafka's name of a ConfigResource type.
pub(crate) fn type_name(t: i8) -> &'static str {
    match t {
        RESOURCE_TOPIC => "TOPIC",
        RESOURCE_BROKER => "BROKER",
        RESOURCE_BROKER_LOGGER => "BROKER_LOGGER",
        RESOURCE_CLIENT_METRICS => "CLIENT_METRICS",
        RESOURCE_GROUP => "GROUP",
        _ => "UNKNOWN",
    }
}

/// One broker config entry: read-only unless Kafka lets it change at
/// run time; a secret's value is not shown.
fn broker_entry(
    name: &str,
    value: Option<String>,
    synonyms: Vec<DescribeConfigsSynonym>,
    opts: &Opts,
) -> DescribeConfigsResourceResult {
    let read_only = !dynamic::is_dynamic(name);
    let ty = broker_configs::config_type(name);
    let doc = broker_configs::doc(name);
    let mut e = entry(name, value, read_only, synonyms, ty, doc, opts);
    if dynamic::is_sensitive(name) {
        e.is_sensitive = true;
        e.value = None;
    }
    e
}

/// One config entry; its source is the head of its synonym chain.
fn entry(
    name: &str,
    value: Option<String>,
    read_only: bool,
    synonyms: Vec<DescribeConfigsSynonym>,
    config_type: i8,
    doc: Option<String>,
    opts: &Opts,
) -> DescribeConfigsResourceResult {
    let source = synonyms.first().map_or(SOURCE_DEFAULT, |s| s.source);
    DescribeConfigsResourceResult {
        name: name.into(),
        value: value.map(Into::into),
        read_only,
        is_default: opts.version == 0 && source == SOURCE_DEFAULT,
        config_source: source,
        is_sensitive: false,
        synonyms: if opts.synonyms { synonyms } else { Vec::new() },
        config_type,
        documentation: if opts.docs { doc.map(Into::into) } else { None },
        ..Default::default()
    }
}

fn failed(r: &DescribeConfigsResource, code: ErrorCode, msg: String) -> DescribeConfigsResult {
    DescribeConfigsResult {
        error_code: code.code(),
        error_message: Some(msg.into()),
        resource_type: r.resource_type,
        resource_name: r.resource_name.clone(),
        configs: Vec::new(),
        ..Default::default()
    }
}
