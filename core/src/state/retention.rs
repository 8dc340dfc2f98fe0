//! Retention: on a timer, delete the oldest batches of each log that are
//! older than `retention.ms` or beyond `retention.bytes`, for topics whose
//! `cleanup.policy` includes `delete`. Whole segments go (batches in
//! memory), as Kafka deletes them; the log start offset moves forward.

use super::cluster::{Cluster, METADATA_TOPIC};
use super::Now;
use crate::storage::{Storage, TopicPartition};

/// One run of the retention timer over every log. A log whose old
/// segments cannot be deleted keeps them until the next run tries again
/// (Kafka would take its log directory offline).
pub(crate) fn run<S: Storage>(storage: &mut S, cluster: &Cluster, now: Now) {
    for t in cluster.topics.values() {
        if t.name == METADATA_TOPIC || !t.config.cleanup_policy.delete {
            continue;
        }
        let (ms, bytes) = (t.config.retention_ms, t.config.retention_bytes);
        for p in 0..t.partitions.len() as i32 {
            let tp = TopicPartition::new(t.name.as_str(), p);
            if let Some(offset) = cut_point(storage, &tp, now, ms, bytes) {
                let _ = storage.delete_before(&tp, offset);
            }
        }
    }
}

/// The offset below which whole segments may go, if any.
fn cut_point<S: Storage>(s: &S, tp: &TopicPartition, now: Now, ms: i64, bytes: i64) -> Option<i64> {
    let spans: Vec<_> = s
        .segments(tp)
        .into_iter()
        .filter(|sg| sg.bytes > 0)
        .collect();
    let mut cut: Option<i64> = None;
    if ms >= 0 {
        for sp in &spans {
            if now - sp.max_timestamp > ms {
                cut = Some(sp.next_offset);
            } else {
                break;
            }
        }
    }
    if bytes >= 0 {
        let mut size: u64 = spans.iter().map(|sp| sp.bytes).sum();
        for sp in &spans {
            if size <= bytes as u64 {
                break;
            }
            size -= sp.bytes;
            cut = Some(cut.map_or(sp.next_offset, |c| c.max(sp.next_offset)));
        }
    }
    cut
}
