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

/// The offset below which batches may go, if any.
fn cut_point<S: Storage>(s: &S, tp: &TopicPartition, now: Now, ms: i64, bytes: i64) -> Option<i64> {
    let batches = s.batch_times(tp);
    // Never delete the last batch's offset range entirely: the log end stays.
    let mut cut = None;
    if ms >= 0 {
        for &(next, ts) in &batches {
            if now - ts > ms {
                cut = Some(next);
            } else {
                break;
            }
        }
    }
    if bytes >= 0 {
        let mut size = s.size(tp) as i64;
        if size > bytes {
            let sizes = s
                .read(tp, s.start_offset(tp), usize::MAX)
                .unwrap_or_default();
            for (chunk, &(next, _)) in sizes.iter().zip(&batches) {
                if size <= bytes {
                    break;
                }
                size -= chunk.len() as i64;
                cut = Some(cut.map_or(next, |c: i64| c.max(next)));
            }
        }
    }
    cut
}
