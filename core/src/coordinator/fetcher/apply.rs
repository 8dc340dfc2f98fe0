//! What the follower does with its leader's answers: truncating by
//! OffsetForLeaderEpoch, copying fetched batches, and the per-partition
//! errors (see the table in the parent module's docs).

use crate::collections::Map;

use bytes::Bytes;

use super::{Fetcher, Follow, Phase, Sent};
use crate::protocol::messages::fetch_response::{FetchResponse, PartitionData};
use crate::protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsResponse,
};
use crate::protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderEpochResponse,
};
use crate::protocol::{header, ApiKey, ErrorCode, Records, ResponseBody};
use crate::records::{batches, BatchView, SetEntry};
use crate::state::cluster::Cluster;
use crate::state::epochs::Epochs;
use crate::state::producers::{PartitionKey, Producers};
use crate::state::Now;
use crate::storage::{BatchMeta, Storage, TopicPartition};

/// The broker state a response changes.
#[derive(Debug)]
pub(crate) struct ReplicaParts<'a, S> {
    pub storage: &'a mut S,
    /// For topic ids (the producer state's keys).
    pub cluster: &'a Cluster,
    pub producers: &'a mut Producers,
    pub epochs: &'a mut Epochs,
}

impl<S: Storage> ReplicaParts<'_, S> {
    fn key(&self, tp: &TopicPartition) -> Option<PartitionKey> {
        Some((self.cluster.topics.get(&tp.topic)?.id, tp.partition))
    }

    /// Cuts the log to `offset` when it is longer, and forgets what the
    /// cut batches said (epochs, producer state).
    fn truncate(&mut self, tp: &TopicPartition, offset: i64) -> Result<(), S::Error> {
        if offset >= self.storage.end_offset(tp) {
            return Ok(());
        }
        self.storage.truncate_to(tp, offset)?;
        self.epochs.truncated(tp, self.storage.end_offset(tp));
        self.reload(tp);
        Ok(())
    }

    /// Empties the log and starts it at `offset`.
    fn restart_at(&mut self, tp: &TopicPartition, offset: i64) -> Result<(), S::Error> {
        self.storage.truncate_fully_and_start_at(tp, offset)?;
        self.epochs.forget(tp);
        self.reload(tp);
        Ok(())
    }

    fn reload(&mut self, tp: &TopicPartition) {
        if let Some(key) = self.key(tp) {
            self.producers.reload(&*self.storage, tp, key);
        }
    }
}

/// How copying a partition's fetched records went.
#[derive(Debug, PartialEq, Eq)]
enum Copied {
    /// Everything that fit was appended.
    Done,
    /// A batch of the leader's straddles this log's end: this log was
    /// cut to the batch's base (or below, to its own batch boundary) and
    /// copying goes on from there with the next fetch.
    Cut,
    /// Storage refused, or a batch is corrupt.
    Failed,
}

impl Fetcher {
    /// A response (size prefix removed) to the request in flight to
    /// `leader`. Returns the partitions whose logs changed. An answer
    /// that does not decode, or to another request, counts as a failure.
    pub fn handle_response<S: Storage>(
        &mut self,
        leader: i32,
        frame: &Bytes,
        p: &mut ReplicaParts<'_, S>,
        now: Now,
    ) -> Vec<TopicPartition> {
        let Some(sent) = self
            .sessions
            .get_mut(&leader)
            .and_then(|s| s.in_flight.take())
        else {
            return Vec::new();
        };
        // Each by its own message type: only these three decoders are
        // linked, not every response's (`ResponseBody::decode`).
        let (key, v) = (sent.key, sent.version);
        let decoded = match key {
            ApiKey::Fetch => {
                header::decode_response_of(frame, key, v).map(|(h, b)| (h, ResponseBody::Fetch(b)))
            }
            ApiKey::ListOffsets => header::decode_response_of(frame, key, v)
                .map(|(h, b)| (h, ResponseBody::ListOffsets(b))),
            ApiKey::OffsetForLeaderEpoch => header::decode_response_of(frame, key, v)
                .map(|(h, b)| (h, ResponseBody::OffsetForLeaderEpoch(b))),
            _ => {
                self.handle_failure(leader, now);
                return Vec::new();
            }
        };
        let body = match decoded {
            Ok((h, body)) if h.correlation_id == sent.correlation_id => body,
            _ => {
                self.handle_failure(leader, now);
                return Vec::new();
            }
        };
        let backoff = now + self.config.backoff_ms;
        let Some(s) = self.sessions.get_mut(&leader) else {
            return Vec::new();
        };
        let changed = match body {
            ResponseBody::OffsetForLeaderEpoch(r) => {
                on_epochs(&mut s.partitions, &sent, r, p, backoff)
            }
            ResponseBody::Fetch(r) => on_fetch(&mut s.partitions, &sent, r, p, backoff),
            ResponseBody::ListOffsets(r) => on_offsets(&mut s.partitions, &sent, r, p, backoff),
            _ => Vec::new(),
        };
        self.sessions
            .retain(|_, s| !s.partitions.is_empty() || s.in_flight.is_some());
        changed
    }
}

/// The followed partitions `sent` asked about that still wait for this
/// answer (same epoch, in `phase`).
fn waiting<'a>(
    partitions: &'a mut Map<TopicPartition, Follow>,
    sent: &'a Sent,
    phase: Phase,
) -> impl Iterator<Item = (&'a TopicPartition, Follow)> + 'a {
    sent.partitions.iter().filter_map(move |(tp, epoch)| {
        let f = *partitions.get(tp)?;
        (f.epoch == *epoch && f.phase == phase).then_some((tp, f))
    })
}

/// The phase after an error that is not fencing.
fn on_error(code: i16, until: Now, truncate: bool) -> Phase {
    if code == ErrorCode::FENCED_LEADER_EPOCH.code() {
        Phase::Stopped
    } else {
        Phase::Delayed { until, truncate }
    }
}

fn on_epochs<S: Storage>(
    partitions: &mut Map<TopicPartition, Follow>,
    sent: &Sent,
    r: OffsetForLeaderEpochResponse,
    p: &mut ReplicaParts<'_, S>,
    backoff: Now,
) -> Vec<TopicPartition> {
    let mut answers: Map<(String, i32), EpochEndOffset> = Map::new();
    for t in r.topics {
        for e in t.partitions {
            answers.insert((t.topic.to_string(), e.partition), e);
        }
    }
    let asked: Vec<(TopicPartition, Follow)> = waiting(partitions, sent, Phase::Truncating)
        .map(|(tp, f)| (tp.clone(), f))
        .collect();
    let mut changed = Vec::new();
    for (tp, mut f) in asked {
        let answer = answers.get(&(tp.topic.clone(), tp.partition));
        f.phase = match answer {
            None => Phase::Delayed {
                until: backoff,
                truncate: true,
            },
            Some(e) if e.error_code != ErrorCode::NONE.code() => {
                on_error(e.error_code, backoff, true)
            }
            Some(e) => {
                let end = p.storage.end_offset(&tp);
                let (target, done) = truncation_point(p, &tp, e, end);
                match p.truncate(&tp, target) {
                    Err(_) => Phase::Delayed {
                        until: backoff,
                        truncate: true,
                    },
                    Ok(()) => {
                        if target < end {
                            changed.push(tp.clone());
                        }
                        if done {
                            Phase::Fetching
                        } else {
                            Phase::Truncating
                        }
                    }
                }
            }
        };
        partitions.insert(tp, f);
    }
    changed
}

/// Where to cut after the leader's answer `e`, and whether that settles
/// it (Kafka's `getOffsetTruncationState`, see the parent module docs).
fn truncation_point<S: Storage>(
    p: &mut ReplicaParts<'_, S>,
    tp: &TopicPartition,
    e: &EpochEndOffset,
    end: i64,
) -> (i64, bool) {
    if e.end_offset < 0 {
        // The leader cannot say: no high watermark checkpoint here, so
        // the log end stands.
        return (end, true);
    }
    if e.leader_epoch < 0 {
        return (e.end_offset.min(end), true);
    }
    p.epochs.catch_up(&*p.storage, tp);
    let range = (p.storage.start_offset(tp), end);
    let (mine, my_end) = p.epochs.end_offset_for(tp, e.leader_epoch, range, None);
    if mine != e.leader_epoch {
        // This log lacks the leader's epoch: cut to where its own largest
        // epoch below ends, then ask again with the one now latest.
        let cut = if my_end < 0 { end } else { my_end.min(end) };
        let more = cut < end && mine >= 0;
        return (cut, !more);
    }
    (e.end_offset.min(my_end).min(end), true)
}

fn on_fetch<S: Storage>(
    partitions: &mut Map<TopicPartition, Follow>,
    sent: &Sent,
    r: FetchResponse,
    p: &mut ReplicaParts<'_, S>,
    backoff: Now,
) -> Vec<TopicPartition> {
    let mut answers: Map<(String, i32), PartitionData> = Map::new();
    for t in r.responses {
        for d in t.partitions {
            answers.insert((t.topic.to_string(), d.partition_index), d);
        }
    }
    let top = r.error_code;
    let asked: Vec<(TopicPartition, Follow)> = waiting(partitions, sent, Phase::Fetching)
        .map(|(tp, f)| (tp.clone(), f))
        .collect();
    let mut changed = Vec::new();
    let delayed = Phase::Delayed {
        until: backoff,
        truncate: false,
    };
    for (tp, mut f) in asked {
        let answer = answers.get(&(tp.topic.clone(), tp.partition));
        f.phase = match answer {
            _ if top != ErrorCode::NONE.code() => on_error(top, backoff, false),
            None => delayed,
            Some(d) if d.error_code == ErrorCode::OFFSET_OUT_OF_RANGE.code() => {
                Phase::Resetting { earliest: false }
            }
            Some(d) if d.error_code != ErrorCode::NONE.code() => {
                on_error(d.error_code, backoff, false)
            }
            Some(d) if d.diverging_epoch.epoch >= 0 => Phase::Truncating,
            Some(d) => {
                let before = p.storage.end_offset(&tp);
                let copied = match &d.records {
                    Some(records) => copy(p, &tp, records),
                    None => Copied::Done,
                };
                let end = p.storage.end_offset(&tp);
                if end != before {
                    changed.push(tp.clone());
                }
                f.high_watermark = d.high_watermark.min(end);
                // The leader's log start moved (retention, DeleteRecords).
                let start = d.log_start_offset.min(end);
                if start > p.storage.start_offset(&tp) {
                    let _ = p.storage.delete_before(&tp, start);
                }
                match copied {
                    Copied::Done => Phase::Fetching,
                    Copied::Cut => Phase::Fetching,
                    Copied::Failed => delayed,
                }
            }
        };
        partitions.insert(tp, f);
    }
    changed
}

fn on_offsets<S: Storage>(
    partitions: &mut Map<TopicPartition, Follow>,
    sent: &Sent,
    r: ListOffsetsResponse,
    p: &mut ReplicaParts<'_, S>,
    backoff: Now,
) -> Vec<TopicPartition> {
    let mut answers: Map<(String, i32), ListOffsetsPartitionResponse> = Map::new();
    for t in r.topics {
        for a in t.partitions {
            answers.insert((t.name.to_string(), a.partition_index), a);
        }
    }
    let asked: Vec<(TopicPartition, Follow)> = sent
        .partitions
        .iter()
        .filter_map(|(tp, epoch)| {
            let f = *partitions.get(tp)?;
            let resetting = matches!(f.phase, Phase::Resetting { .. });
            (f.epoch == *epoch && resetting).then(|| (tp.clone(), f))
        })
        .collect();
    let mut changed = Vec::new();
    let delayed = Phase::Delayed {
        until: backoff,
        truncate: false,
    };
    for (tp, mut f) in asked {
        let Phase::Resetting { earliest } = f.phase else {
            continue;
        };
        let end = p.storage.end_offset(&tp);
        f.phase = match answers.get(&(tp.topic.clone(), tp.partition)) {
            None => delayed,
            Some(a) if a.error_code != ErrorCode::NONE.code() => {
                on_error(a.error_code, backoff, false)
            }
            // The leader's log ends below this one's: cut to it.
            Some(a) if !earliest && a.offset >= 0 && a.offset < end => {
                match p.truncate(&tp, a.offset) {
                    Ok(()) => {
                        changed.push(tp.clone());
                        Phase::Fetching
                    }
                    Err(_) => delayed,
                }
            }
            Some(_) if !earliest => Phase::Resetting { earliest: true },
            // The leader's log starts past this one's end: start there.
            Some(a) if a.offset > end => match p.restart_at(&tp, a.offset) {
                Ok(()) => {
                    changed.push(tp.clone());
                    Phase::Fetching
                }
                Err(_) => delayed,
            },
            Some(_) => Phase::Fetching,
        };
        partitions.insert(tp, f);
    }
    changed
}

/// Appends the fetched batches to `tp` at their own offsets, skipping
/// those this log already has, and takes in their producer state.
fn copy<S: Storage>(p: &mut ReplicaParts<'_, S>, tp: &TopicPartition, records: &Records) -> Copied {
    let key = p.key(tp);
    for chunk in records.chunks() {
        for entry in batches(chunk) {
            // A partial batch at the end of a response is normal.
            let Ok(SetEntry::Batch(raw)) = entry else {
                break;
            };
            let info = raw.info;
            let end = p.storage.end_offset(tp);
            if info.last_offset < end {
                continue;
            }
            if info.base_offset < end {
                // An empty log restarted below a batch boundary (at the
                // leader's log start) takes the batch whole, as Kafka's
                // follower does on UnexpectedAppendOffsetException.
                if p.storage.start_offset(tp) == end {
                    if p.restart_at(tp, info.base_offset).is_err() {
                        return Copied::Failed;
                    }
                } else {
                    // The leader's batches are cut differently from this
                    // log's there: the leader's are the truth. Cut to the
                    // batch's base; when that leaves this log ending below
                    // it (its own batch straddled the base), fetch again
                    // from the new end rather than leave a hole.
                    if p.truncate(tp, info.base_offset).is_err() {
                        return Copied::Failed;
                    }
                    if p.storage.end_offset(tp) != info.base_offset {
                        return Copied::Cut;
                    }
                }
            }
            let view = if info.magic == 2 {
                match BatchView::parse(&raw.bytes, 0) {
                    Ok(v) => Some(v),
                    Err(_) => return Copied::Failed,
                }
            } else {
                None
            };
            let meta = BatchMeta {
                base_offset: info.base_offset,
                last_offset: info.last_offset,
                max_timestamp: view.as_ref().map_or(-1, |v| v.header.max_timestamp),
            };
            if p.storage.append(tp, raw.bytes.clone(), meta).is_err() {
                return Copied::Failed;
            }
            if let (Some(view), Some(key)) = (view, key) {
                if let Some(txn) = p.producers.replay(key, &view, &raw.bytes) {
                    let _ = p.storage.index_aborted_txn(tp, &txn);
                }
            }
        }
    }
    Copied::Done
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Uuid;
    use crate::records::{Record, RecordBatchBuilder};
    use crate::state::Config;
    use crate::storage::MemStorage;

    fn append(s: &mut MemStorage, tp: &TopicPartition, epoch: i32, n: i32) {
        s.append_stamped(tp, epoch, n);
    }

    /// A batch of `n` records at `base`, stamped with `epoch`.
    fn batch(base: i64, epoch: i32, n: i32, value: &'static [u8]) -> Bytes {
        let mut b = RecordBatchBuilder::new(base, 0).partition_leader_epoch(epoch);
        for i in 0..n {
            b.push(Record::new(
                i,
                i64::from(i),
                None,
                Some(Bytes::from_static(value)),
            ));
        }
        b.build().unwrap()
    }

    #[test]
    fn batches_cut_differently_from_the_leaders_are_replaced_by_them() {
        let tp = TopicPartition::new("t", 0);
        let mut storage = MemStorage::new();
        storage.create_log(&tp, Uuid::ZERO).unwrap();
        // This log: 0..=1 and 2..=4. The leader's: 0..=2 and 3..=5.
        append(&mut storage, &tp, 1, 2);
        append(&mut storage, &tp, 1, 3);
        let (l1, l2) = (batch(0, 1, 3, b"L"), batch(3, 1, 3, b"L"));
        let cluster = Cluster::new(&Config::default());
        let (mut producers, mut epochs) = (Producers::default(), Epochs::default());
        let mut p = ReplicaParts {
            storage: &mut storage,
            cluster: &cluster,
            producers: &mut producers,
            epochs: &mut epochs,
        };
        // Fetching from 5 gets the leader's batch holding 5, 3..=5: this
        // log's 2..=4 straddles its base, so the log ends at 2 and is
        // fetched again from there.
        assert_eq!(copy(&mut p, &tp, &Records::from(l2.clone())), Copied::Cut);
        assert_eq!(p.storage.end_offset(&tp), 2);
        // From 2: the leader's 0..=2 replaces this log's 0..=1.
        let both = Records::from_chunks(vec![l1.clone(), l2.clone()]);
        assert_eq!(copy(&mut p, &tp, &both), Copied::Done);
        assert_eq!(p.storage.read(&tp, 0, usize::MAX).unwrap(), vec![l1, l2]);
    }

    fn answer(leader_epoch: i32, end_offset: i64) -> EpochEndOffset {
        EpochEndOffset {
            leader_epoch,
            end_offset,
            ..Default::default()
        }
    }

    /// Kafka's KIP-279 case: the follower has epochs 0 (offsets 0-1) and 2
    /// (2-4); the leader never saw epoch 2 and answers for epoch 1.
    #[test]
    fn an_epoch_the_follower_lacks_takes_another_round() {
        let tp = TopicPartition::new("t", 0);
        let mut storage = MemStorage::new();
        storage.create_log(&tp, Uuid::ZERO).unwrap();
        append(&mut storage, &tp, 0, 2);
        append(&mut storage, &tp, 2, 3);
        let cluster = Cluster::new(&Config::default());
        let (mut producers, mut epochs) = (Producers::default(), Epochs::default());
        let mut p = ReplicaParts {
            storage: &mut storage,
            cluster: &cluster,
            producers: &mut producers,
            epochs: &mut epochs,
        };
        // Epoch 1 ended at 3 at the leader; here the largest epoch below
        // it (0) ends at 2: cut there and ask again.
        assert_eq!(truncation_point(&mut p, &tp, &answer(1, 3), 5), (2, false));
        p.truncate(&tp, 2).unwrap();
        assert_eq!(p.epochs.latest(&tp), Some(0));
        // Asked about epoch 0, the leader says it ended at 2: settled.
        assert_eq!(truncation_point(&mut p, &tp, &answer(0, 2), 2), (2, true));
        // The same epoch at both: the smaller end wins.
        assert_eq!(truncation_point(&mut p, &tp, &answer(0, 1), 2), (1, true));
        // An old leader without epochs, and one that cannot say.
        assert_eq!(truncation_point(&mut p, &tp, &answer(-1, 1), 2), (1, true));
        assert_eq!(truncation_point(&mut p, &tp, &answer(-1, -1), 2), (2, true));
    }
}
