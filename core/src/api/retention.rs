//! Retention: on a timer, delete the oldest batches of each log that are
//! older than `retention.ms` or beyond `retention.bytes`, for topics whose
//! `cleanup.policy` includes `delete`. Whole batches go, as Kafka deletes
//! whole segments; the log start offset moves forward.

use crate::broker::{Broker, Now, METADATA_TOPIC};
use crate::storage::{Storage, TopicPartition};

pub(crate) fn run<S: Storage>(b: &mut Broker<S>, now: Now) {
    let topics: Vec<(String, usize)> = b
        .cluster
        .topics
        .values()
        .filter(|t| t.name != METADATA_TOPIC)
        .map(|t| (t.name.clone(), t.partitions.len()))
        .collect();
    for (name, n) in topics {
        let policy = b.topic_config(&name, "cleanup.policy").unwrap_or_default();
        if !policy.split(',').any(|p| p.trim() == "delete") {
            continue;
        }
        let ms: i64 = b
            .topic_config(&name, "retention.ms")
            .and_then(|v| v.parse().ok())
            .unwrap_or(-1);
        let bytes: i64 = b
            .topic_config(&name, "retention.bytes")
            .and_then(|v| v.parse().ok())
            .unwrap_or(-1);
        for p in 0..n as i32 {
            let tp = TopicPartition::new(name.clone(), p);
            if let Some(offset) = cut_point(&b.storage, &tp, now, ms, bytes) {
                let _ = b.storage.delete_before(&tp, offset);
            }
        }
    }
}

/// The offset below which whole spans may go, if any.
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
