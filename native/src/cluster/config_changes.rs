//! Config change announcements (`/config/changes/config_change_<seq>`,
//! Kafka's `ConfigChangeListener` over a `ZkNodeChangeNotificationListener`):
//! every broker reads those newer than the last it read, owes its owner
//! the configs of each topic they name (each user's credentials and each
//! broker's dynamic configs go to [`super::security`] and
//! [`super::broker_configs`]), then deletes every announcement
//! older than [`CHANGE_EXPIRATION_MS`](super::topic_znodes::CHANGE_EXPIRATION_MS) (by the znode's creation time), as
//! Kafka's listener purges obsolete notifications each time it processes
//! some. Brokers purge concurrently; an announcement gone already is fine.

use std::collections::BTreeSet;

use tracing::{debug, error};

use super::broker_configs::decode_broker_change;
use super::engine::{BrokerId, Engine, EngineError};
use super::news::{News, Tell};
use super::security_znodes::decode_user_change;
use super::topic_znodes::{
    config_path, decode_config_change, decode_configs, expired, CONFIG_CHANGES,
};

/// This host's clock, in milliseconds since the Unix epoch, as Kafka's
/// listener compares it with the znodes' creation times.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Reads the config change announcements `names` newer than `last`
/// (all of them the first time, as Kafka's `ConfigChangeListener` does at
/// start), in order, and owes the broker the configs of each topic they
/// name (and the SCRAM credentials of each user, in `users`, and the
/// dynamic configs of each broker, `None` for the default, in
/// `brokers`); then deletes those of `names` [`expired`] at `now_ms`.
pub(super) async fn read_config_changes<E: Engine>(
    engine: &E,
    names: &BTreeSet<String>,
    last: &mut Option<u64>,
    owed: &mut BTreeSet<String>,
    (users, brokers): (&mut BTreeSet<String>, &mut BTreeSet<Option<BrokerId>>),
    now_ms: i64,
) -> Result<(), EngineError> {
    let mut seqs: Vec<(u64, &String)> = names
        .iter()
        .filter_map(|n| Some((n.strip_prefix("config_change_")?.parse().ok()?, n)))
        .filter(|(seq, _)| last.is_none_or(|l| *seq > l))
        .collect();
    seqs.sort();
    for (seq, name) in seqs {
        let path = format!("{CONFIG_CHANGES}/{name}");
        if let Some(v) = engine.read(&path).await? {
            match decode_config_change(&v.data) {
                Some(topic) => {
                    debug!(topic = %topic, "the topic's configs changed");
                    owed.insert(topic);
                }
                None => match (decode_user_change(&v.data), decode_broker_change(&v.data)) {
                    (Some(user), _) => {
                        debug!(user = %user, "the user's configs changed");
                        users.insert(user);
                    }
                    (None, Some(broker)) => {
                        debug!(?broker, "a broker's dynamic configs changed");
                        brokers.insert(broker);
                    }
                    (None, None) => {
                        debug!("{path}: not a topic's, user's or broker's config change; ignored")
                    }
                },
            }
        }
        *last = Some(seq);
    }
    purge(engine, names, now_ms).await
}

/// Deletes the announcements of `names` [`expired`] at `now_ms`.
async fn purge<E: Engine>(
    engine: &E,
    names: &BTreeSet<String>,
    now_ms: i64,
) -> Result<(), EngineError> {
    for name in names {
        let path = format!("{CONFIG_CHANGES}/{name}");
        if let Some(v) = engine.read(&path).await? {
            if expired(now_ms, v.created_ms) {
                debug!("{path}: obsolete; purged");
                engine.delete(&path).await?;
            }
        }
    }
    Ok(())
}

/// Reads the configs of the topics in `owed` and tells the broker, taking
/// each from `owed` once told.
pub(super) async fn tell_configs<E: Engine>(
    engine: &E,
    tell: &Tell,
    owed: &mut BTreeSet<String>,
) -> Result<(), EngineError> {
    while let Some(topic) = owed.first().cloned() {
        let path = config_path(&topic);
        let configs = match engine.read(&path).await? {
            Some(v) => decode_configs(&v.data).unwrap_or_else(|why| {
                error!("{path}: {why}; the topic keeps the broker's defaults");
                Vec::new()
            }),
            None => Vec::new(),
        };
        owed.remove(&topic);
        tell(News::TopicConfigs { topic, configs });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::topic_znodes::CHANGE_EXPIRATION_MS;
    use super::*;

    #[test]
    fn an_announcement_goes_once_older_than_fifteen_minutes() {
        let created = 1_700_000_000_000;
        assert!(!expired(created, created));
        assert!(!expired(created + CHANGE_EXPIRATION_MS, created));
        assert!(expired(created + CHANGE_EXPIRATION_MS + 1, created));
        // A znode stamped ahead of this host's clock is kept.
        assert!(!expired(created - 5_000, created));
    }
}
