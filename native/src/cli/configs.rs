//! What `spate topic alter-config` and `spate cluster config` share: the
//! IncrementalAlterConfigs request of a set of changes to one resource,
//! and the names of DescribeConfigs' config sources.

use anyhow::bail;
use spate_core::protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig, IncrementalAlterConfigsRequest,
};
use spate_core::protocol::{RequestBody, ResponseBody};

use crate::client::check;

/// DescribeConfigs / IncrementalAlterConfigs resource type of a topic.
pub(crate) const TOPIC_RESOURCE: i8 = 2;

/// DescribeConfigs / IncrementalAlterConfigs resource type of a broker.
pub(crate) const BROKER_RESOURCE: i8 = 4;

/// IncrementalAlterConfigs operation SET.
const SET: i8 = 0;

/// IncrementalAlterConfigs operation DELETE.
const DELETE: i8 = 1;

/// Sets `set` and deletes `delete` in resource `name` of type
/// `resource_type` with one IncrementalAlterConfigs, sent by `send`; an
/// error code in the answer is an error that starts with `what`.
pub(crate) fn incremental_alter(
    send: impl FnOnce(RequestBody) -> anyhow::Result<ResponseBody>,
    what: &str,
    resource_type: i8,
    name: &str,
    set: &[(String, String)],
    delete: &[String],
) -> anyhow::Result<()> {
    let sets = set.iter().map(|(k, v)| AlterableConfig {
        name: k.as_str().into(),
        config_operation: SET,
        value: Some(v.as_str().into()),
        ..Default::default()
    });
    let deletes = delete.iter().map(|k| AlterableConfig {
        name: k.as_str().into(),
        config_operation: DELETE,
        value: None,
        ..Default::default()
    });
    let req = IncrementalAlterConfigsRequest {
        resources: vec![AlterConfigsResource {
            resource_type,
            resource_name: name.into(),
            configs: sets.chain(deletes).collect(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let ResponseBody::IncrementalAlterConfigs(resp) =
        send(RequestBody::IncrementalAlterConfigs(req))?
    else {
        bail!("IncrementalAlterConfigs answered with another API");
    };
    for r in &resp.responses {
        check(what, r.error_code, r.error_message.as_ref())?;
    }
    Ok(())
}

/// Kafka's name for a DescribeConfigs config source.
pub(crate) fn source_name(source: i8) -> &'static str {
    match source {
        1 => "DYNAMIC_TOPIC_CONFIG",
        2 => "DYNAMIC_BROKER_CONFIG",
        3 => "DYNAMIC_DEFAULT_BROKER_CONFIG",
        4 => "STATIC_BROKER_CONFIG",
        5 => "DEFAULT_CONFIG",
        6 => "DYNAMIC_BROKER_LOGGER_CONFIG",
        7 => "CLIENT_METRICS_CONFIG",
        8 => "GROUP_CONFIG",
        _ => "UNKNOWN",
    }
}
