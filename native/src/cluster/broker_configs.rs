//! Dynamic broker configs in ZooKeeper, as Kafka 2.x-3.x keeps them
//! (`AdminZkClient.changeBrokerConfig`, the brokers'
//! `ConfigChangeListener` and `BrokerConfigHandler`).
//!
//! # Format
//!
//! ```text
//! /config/brokers/<id>          {"version":1,"config":{"log.retention.bytes":"1000"}}   broker <id>'s own
//! /config/brokers/<default>     {"version":1,"config":{"log.retention.ms":"7200000"}}   every broker's default
//! /config/changes/config_change_<seq>
//!                               {"version":2,"entity_path":"brokers/<default>"}          the announcement
//! ```
//!
//! A write ([`write_broker_configs`], for an AlterConfigs or
//! IncrementalAlterConfigs the core accepted) sets the resource's whole
//! config set, creating the znode when missing, then announces it. Every
//! broker reads the default's and its own znode when it starts
//! ([`Follow::load`]) and again when an announcement names them
//! ([`Follow::changes`]); an announcement for another broker is not its
//! business, as in Kafka. What a znode holds replaces what the broker had
//! for that level (a missing znode: nothing set).

use std::collections::BTreeSet;

use serde_json::Value;
use tracing::{debug, info, warn};

use super::admin::set_configs;
use super::engine::{BrokerId, Engine, EngineError};
use super::news::{News, Tell};
use super::topic_znodes::{decode_configs, encode_configs, CONFIG_CHANGE_PREFIX};

/// The parent of the brokers' config znodes.
pub(crate) const BROKER_CONFIGS: &str = "/config/brokers";

/// The entity name of the cluster-wide default (Kafka's
/// `ConfigEntityName.Default`).
pub(crate) const DEFAULT: &str = "<default>";

/// The entity name of `broker`'s configs (`None`: the default).
fn entity(broker: Option<BrokerId>) -> String {
    broker.map_or_else(|| DEFAULT.to_string(), |id| id.to_string())
}

/// `/config/brokers/<id>`, or `/config/brokers/<default>`.
pub(crate) fn broker_config_path(broker: Option<BrokerId>) -> String {
    format!("{BROKER_CONFIGS}/{}", entity(broker))
}

/// A config change announcement for a broker's configs (or the default).
pub(crate) fn encode_broker_change(broker: Option<BrokerId>) -> Vec<u8> {
    let path = format!("brokers/{}", entity(broker));
    serde_json::to_vec(&serde_json::json!({"version": 2, "entity_path": path})).unwrap_or_default()
}

/// The broker (`Some(None)`: the default) a config change announcement
/// names; `None` for another kind of entity, or a broker entity that is
/// neither a number nor `<default>`.
pub(crate) fn decode_broker_change(bytes: &[u8]) -> Option<Option<BrokerId>> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    let name = match v.get("version").and_then(Value::as_i64) {
        Some(2) => v
            .get("entity_path")
            .and_then(Value::as_str)?
            .strip_prefix("brokers/")?,
        _ => (v.get("entity_type").and_then(Value::as_str) == Some("brokers"))
            .then(|| v.get("entity_name").and_then(Value::as_str))??,
    };
    if name == DEFAULT {
        return Some(None);
    }
    name.trim().parse().ok().map(Some)
}

/// Makes `configs` the whole set of `broker`'s dynamic configs (`None`:
/// the default) and announces it; a failure is logged (the request was
/// answered already, as for topic configs).
pub(crate) async fn write_broker_configs<E: Engine>(
    engine: &E,
    broker: Option<BrokerId>,
    configs: &[(String, String)],
) {
    let path = broker_config_path(broker);
    if let Err(why) = set_configs(engine, &path, &encode_configs(configs)).await {
        return warn!("writing {path} failed: {why}");
    }
    match engine
        .create_sequential(CONFIG_CHANGE_PREFIX, &encode_broker_change(broker))
        .await
    {
        Ok(()) => info!("changed the dynamic broker configs in {path}"),
        Err(e) => warn!(error = %e, "cannot announce the change of {path}"),
    }
}

/// Reads `broker`'s config znode (`None`: the default) and tells the
/// broker what it holds.
async fn tell_broker<E: Engine>(
    engine: &E,
    broker: Option<BrokerId>,
    tell: &Tell,
) -> Result<(), EngineError> {
    let path = broker_config_path(broker);
    let configs = match engine.read(&path).await? {
        Some(v) => decode_configs(&v.data).unwrap_or_else(|why| {
            warn!("{path}: {why}; its configs are ignored");
            Vec::new()
        }),
        None => Vec::new(),
    };
    debug!(n = configs.len(), "{path}: dynamic broker configs");
    tell(News::BrokerConfigs { broker, configs });
    Ok(())
}

/// Where the broker stands in following its dynamic configs.
#[derive(Debug, Default)]
pub(super) struct Follow {
    /// Whether the default's and this broker's znodes were read.
    loaded: bool,
}

impl Follow {
    /// Reads the default's and `me`'s configs, as a broker does when it
    /// starts. What fails is read at the next announcement instead.
    pub async fn load<E: Engine>(
        &mut self,
        engine: &E,
        me: BrokerId,
        tell: &Tell,
    ) -> Result<(), EngineError> {
        tell_broker(engine, None, tell).await?;
        tell_broker(engine, Some(me), tell).await?;
        self.loaded = true;
        Ok(())
    }

    /// The announcements read name `changed` (brokers, `None` the
    /// default): those that concern `me` are read again (everything
    /// when the first load failed).
    pub async fn changes<E: Engine>(
        &mut self,
        engine: &E,
        me: BrokerId,
        changed: BTreeSet<Option<BrokerId>>,
        tell: &Tell,
    ) -> Result<(), EngineError> {
        if !self.loaded {
            return self.load(engine, me, tell).await;
        }
        for broker in changed {
            match broker {
                None => tell_broker(engine, None, tell).await?,
                Some(id) if id == me => tell_broker(engine, Some(id), tell).await?,
                Some(id) => debug!("broker {id}'s configs changed: not this broker's"),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_configs_and_their_announcements_are_kafkas() {
        assert_eq!(broker_config_path(None), "/config/brokers/<default>");
        assert_eq!(broker_config_path(Some(2)), "/config/brokers/2");
        let v: Value = serde_json::from_slice(&encode_broker_change(None)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"version": 2, "entity_path": "brokers/<default>"})
        );
        assert_eq!(
            decode_broker_change(&encode_broker_change(None)),
            Some(None)
        );
        assert_eq!(
            decode_broker_change(&encode_broker_change(Some(3))),
            Some(Some(3))
        );
        // Version 1 (Kafka before 0.10.1).
        let v1 = br#"{"version":1,"entity_type":"brokers","entity_name":"5"}"#;
        assert_eq!(decode_broker_change(v1), Some(Some(5)));
        // Other entities are not brokers'.
        let topic = br#"{"version":2,"entity_path":"topics/t"}"#;
        assert_eq!(decode_broker_change(topic), None);
        assert_eq!(
            decode_broker_change(br#"{"version":2,"entity_path":"brokers/x"}"#),
            None
        );
    }
}
