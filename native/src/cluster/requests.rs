//! What every request the controller sends needs: the version to send a
//! broker ([`version_for`]) and partitions grouped by topic
//! ([`by_topic`]). Used by `sender` (UpdateMetadata, StopReplica) and
//! `leader_and_isr`.

use anyhow::bail;
use spate_core::coordinator::controller::PartitionView;
use spate_core::protocol::ApiKey;

/// The version of `api` to send a broker that serves `min..=max` of it
/// (`None`: not at all): `want`, or the broker's newest when it is older.
pub(crate) fn version_for(
    api: ApiKey,
    want: i16,
    served: Option<(i16, i16)>,
) -> anyhow::Result<i16> {
    let name = api.name();
    let Some((min, max)) = served else {
        bail!("it does not serve {name} (is it in this ZooKeeper cluster?)");
    };
    let v = want.min(max);
    if v < min || v < 0 {
        bail!("it serves {name} v{min}-{max} only; the controller sends v0-{want}");
    }
    Ok(v)
}

/// Partitions grouped by topic, in order.
pub(crate) fn by_topic(partitions: &[PartitionView]) -> Vec<(&PartitionView, Vec<&PartitionView>)> {
    let mut out: Vec<(&PartitionView, Vec<&PartitionView>)> = Vec::new();
    for p in partitions {
        match out.last_mut() {
            Some((first, ps)) if first.tp.topic == p.tp.topic => ps.push(p),
            _ => out.push((p, vec![p])),
        }
    }
    out
}
