//! Config change announcements (`/config/changes/config_change_<seq>`,
//! Kafka's `ConfigChangeListener` over a `ZkNodeChangeNotificationListener`):
//! every broker reads those newer than the last it read and owes its
//! owner the configs of each topic they name.

use std::collections::BTreeSet;

use tracing::debug;

use super::engine::{Engine, EngineError};
use super::topic_znodes::{decode_config_change, CONFIG_CHANGES};

/// Reads the config change announcements `names` newer than `last`
/// (all of them the first time, as Kafka's `ConfigChangeListener` does at
/// start), in order, and owes the broker the configs of each topic they
/// name. Announcements are not deleted (Kafka's listener purges those
/// older than 15 minutes).
pub(super) async fn read_config_changes<E: Engine>(
    engine: &E,
    names: &BTreeSet<String>,
    last: &mut Option<u64>,
    owed: &mut BTreeSet<String>,
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
                None => debug!("{path}: not a topic's config change; ignored"),
            }
        }
        *last = Some(seq);
    }
    Ok(())
}
