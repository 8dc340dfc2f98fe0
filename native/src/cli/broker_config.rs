//! `spate cluster config`: show or change dynamic broker configs, one
//! broker's (`--broker ID`) or the cluster-wide defaults (`--default`,
//! the empty resource name Kafka's `kafka-configs.sh --entity-default`
//! sends), with IncrementalAlterConfigs and DescribeConfigs on a BROKER
//! resource.
//!
//! As Kafka's admin client does, a broker's own resource goes to that
//! broker (Kafka answers a resource naming another broker with
//! INVALID_REQUEST), and the defaults to the bootstrap broker.

use anyhow::bail;
use serde_json::json;
use spate_core::protocol::messages::describe_configs_request::{
    DescribeConfigsRequest, DescribeConfigsResource,
};
use spate_core::protocol::{RequestBody, ResponseBody};

use super::configs::{incremental_alter, source_name, BROKER_RESOURCE};
use super::table;
use crate::client::conn::Connection;
use crate::client::{check, Client};

/// What `cluster config` is asked.
#[derive(Debug)]
pub(crate) struct Ask {
    /// The broker (`None`: the cluster-wide defaults).
    pub broker: Option<i32>,
    /// Configs to set.
    pub set: Vec<(String, String)>,
    /// Configs to delete.
    pub delete: Vec<String>,
    /// Every config the broker describes, not only those set.
    pub all: bool,
}

/// Runs `cluster config`: alters first when asked, then describes.
pub(crate) fn run(client: &mut Client, json: bool, ask: Ask) -> anyhow::Result<()> {
    let name = ask.broker.map(|id| id.to_string()).unwrap_or_default();
    let conn: &mut Connection = match ask.broker {
        Some(id) => {
            client.metadata(Some(&[]))?;
            client.leader(id)?
        }
        None => client.bootstrap(),
    };
    let what = match ask.broker {
        Some(id) => format!("broker {id}"),
        None => "the cluster-wide defaults".to_string(),
    };
    if !ask.set.is_empty() || !ask.delete.is_empty() {
        let send = |r| conn.send(r);
        let (set, delete) = (&ask.set, &ask.delete);
        incremental_alter(
            send,
            "IncrementalAlterConfigs",
            BROKER_RESOURCE,
            &name,
            set,
            delete,
        )
        .map_err(|e| e.context(format!("altering the configs of {what}")))?;
    }
    let configs = describe(conn, &name)
        .map_err(|e| e.context(format!("describing the configs of {what}")))?;
    // Without --all, the configs set somewhere: dynamic or static ones.
    let shown: Vec<_> = configs
        .into_iter()
        .filter(|(_, _, source)| ask.all || *source != 5)
        .collect();
    if json {
        let list: Vec<_> = shown
            .iter()
            .map(|(k, v, s)| json!({"name": k, "value": v, "source": source_name(*s)}))
            .collect();
        outln!("{}", json!({"broker": ask.broker, "configs": list}))?;
        return Ok(());
    }
    let rows: Vec<Vec<String>> = shown
        .into_iter()
        .map(|(k, v, s)| {
            let v = v.unwrap_or_else(|| "(sensitive)".to_string());
            vec![k, v, source_name(s).to_string()]
        })
        .collect();
    out!("{}", table::render(&["NAME", "VALUE", "SOURCE"], &rows))?;
    Ok(())
}

/// DescribeConfigs of BROKER resource `name`: (name, value, source),
/// in name order; a sensitive value is `None`.
fn describe(
    conn: &mut Connection,
    name: &str,
) -> anyhow::Result<Vec<(String, Option<String>, i8)>> {
    let req = DescribeConfigsRequest {
        resources: vec![DescribeConfigsResource {
            resource_type: BROKER_RESOURCE,
            resource_name: name.into(),
            configuration_keys: None,
            ..Default::default()
        }],
        ..Default::default()
    };
    let ResponseBody::DescribeConfigs(resp) = conn.send(RequestBody::DescribeConfigs(req))? else {
        bail!("DescribeConfigs answered with another API");
    };
    let mut out = Vec::new();
    for r in &resp.results {
        check("DescribeConfigs", r.error_code, r.error_message.as_ref())?;
        for c in &r.configs {
            let value = match c.is_sensitive {
                true => None,
                false => Some(c.value.as_deref().unwrap_or("(null)").to_string()),
            };
            out.push((c.name.to_string(), value, c.config_source));
        }
    }
    out.sort();
    Ok(out)
}
