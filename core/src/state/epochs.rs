//! Leader epoch history (Kafka's `LeaderEpochFileCache`): for each
//! partition log, the leader epochs its batches were written in and the
//! offset where each began.
//!
//! # Where it comes from
//!
//! A leader stamps its epoch into every batch it appends
//! (`partition_leader_epoch`, set in `records::validate`), and a follower
//! copies batches byte for byte, so the log itself holds the history: an
//! entry `(epoch, start)` is the first batch carrying a new, higher epoch.
//! Kafka also keeps it in a `leader-epoch-checkpoint` file; Spate derives
//! it from the batch headers instead, so there is no second record that
//! can disagree with the log after a crash, and no new file format in the
//! storage trait. The scan is lazy and incremental: a log is read (headers
//! only matter) from where the history last stopped up to its end, the
//! first time the history is asked for after a start or an append. A
//! start therefore costs nothing more, and the first OffsetForLeaderEpoch
//! for a partition reads it once.
//!
//! ```text
//!   offsets  0    1    2  | 3    4  | 5    6    7
//!   epoch    0    0    0  | 2    2  | 3    3    3
//!   history  (0, 0)         (2, 3)    (3, 5)
//!   end of epoch 0 = 3, of 1 (unknown: largest below is 0) = 3,
//!   of 2 = 5, of 3 (the latest) = the log end, 8
//! ```
//!
//! A truncation (a follower cutting a divergent tail) removes the entries
//! that start at or past the new end ([`Epochs::truncated`]); a log moved
//! to a new start forgets them all ([`Epochs::forget`]). Entries below the
//! log start are answered as if the last of them started at the log start,
//! as Kafka's `truncateFromStart` leaves them.

use crate::collections::Map;

use crate::records::{batches, SetEntry};
use crate::storage::{Storage, TopicPartition};

/// Kafka's `UNDEFINED_EPOCH` and `UNDEFINED_EPOCH_OFFSET`.
pub(crate) const UNDEFINED: (i32, i64) = (-1, -1);

/// One log's history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct History {
    /// `(epoch, start offset)`, both rising.
    entries: Vec<(i32, i64)>,
    /// Batches below this offset have been looked at.
    scanned: i64,
}

impl History {
    /// A batch at `base` written in `epoch` (Kafka's `assign`): a higher
    /// epoch starts an entry; a lower one (a log that was not truncated
    /// first) replaces the entries it contradicts.
    fn observe(&mut self, epoch: i32, base: i64) {
        if epoch < 0 {
            return;
        }
        match self.entries.last() {
            Some(&(last, _)) if last == epoch => {}
            Some(&(last, _)) if last > epoch => {
                self.entries.retain(|&(e, s)| e < epoch && s < base);
                self.entries.push((epoch, base));
            }
            _ => self.entries.push((epoch, base)),
        }
    }
}

/// The leader epoch histories of the logs asked about so far.
#[derive(Debug, Clone, Default)]
pub(crate) struct Epochs {
    logs: Map<TopicPartition, History>,
}

impl Epochs {
    /// Reads the batches of `tp` appended since the last look, adding
    /// their epochs. A log now shorter than what was read (cut by someone
    /// who did not say so) drops the entries past its end first.
    pub fn catch_up<S: Storage>(&mut self, storage: &S, tp: &TopicPartition) {
        let end = storage.end_offset(tp);
        let h = self.logs.entry(tp.clone()).or_default();
        if h.scanned > end {
            h.entries.retain(|&(_, s)| s < end);
            h.scanned = end;
        }
        let mut offset = h.scanned.max(storage.start_offset(tp));
        while offset < end {
            let Ok(chunks) = storage.read(tp, offset, 1 << 20) else {
                break;
            };
            let from = offset;
            for chunk in &chunks {
                for entry in batches(chunk) {
                    let Ok(SetEntry::Batch(raw)) = entry else {
                        break;
                    };
                    if raw.info.last_offset < from {
                        continue;
                    }
                    if raw.info.magic == 2 && raw.bytes.len() >= 16 {
                        let e = &raw.bytes[12..16];
                        let epoch = i32::from_be_bytes([e[0], e[1], e[2], e[3]]);
                        h.observe(epoch, raw.info.base_offset);
                    }
                    offset = offset.max(raw.info.next_offset());
                }
            }
            if offset == from {
                break;
            }
        }
        h.scanned = offset.max(h.scanned);
    }

    /// The log of `tp` now ends at `end` (a follower truncated it): the
    /// epochs that began at or past it go (Kafka's `truncateFromEnd`).
    pub fn truncated(&mut self, tp: &TopicPartition, end: i64) {
        if let Some(h) = self.logs.get_mut(tp) {
            h.entries.retain(|&(_, s)| s < end);
            h.scanned = h.scanned.min(end);
        }
    }

    /// Forgets the histories of logs `storage` no longer has (deleted
    /// topics and replicas), so a log created again under the same name
    /// starts afresh.
    pub fn retain_logs<S: Storage>(&mut self, storage: &S) {
        let logs = storage.logs();
        self.logs.retain(|tp, _| logs.contains(tp));
    }

    /// Forgets the history of `tp` (its log was emptied or deleted).
    pub fn forget(&mut self, tp: &TopicPartition) {
        self.logs.remove(tp);
    }

    /// The latest epoch in the log of `tp` as last read (`None`: no
    /// batch carries one).
    pub fn latest(&self, tp: &TopicPartition) -> Option<i32> {
        self.logs.get(tp)?.entries.last().map(|&(e, _)| e)
    }

    /// Kafka's `endOffsetFor`: the largest epoch at most `asked` and the
    /// offset where the epoch after it starts, or the log end when it is
    /// the latest. An epoch below every known one gets itself back with
    /// the first known start; one above them all, or -1, is
    /// [`UNDEFINED`]. `leading` is the epoch this broker leads the
    /// partition at, if it does: it counts as begun at the log end when
    /// no batch carries it yet (Kafka assigns it when the broker becomes
    /// leader). Call [`Epochs::catch_up`] first.
    pub fn end_offset_for(
        &self,
        tp: &TopicPartition,
        asked: i32,
        (log_start, log_end): (i64, i64),
        leading: Option<i32>,
    ) -> (i32, i64) {
        let mut entries: Vec<(i32, i64)> = self
            .logs
            .get(tp)
            .map(|h| h.entries.clone())
            .unwrap_or_default();
        if let Some(e) = leading {
            if entries.last().is_none_or(|&(last, _)| last < e) {
                entries.push((e, log_end));
            }
        }
        // Entries wholly below the log start: the last of them starts there.
        let below = entries.partition_point(|&(_, s)| s < log_start);
        if below > 0 {
            entries.drain(..below - 1);
            entries[0].1 = log_start;
        }
        if asked < 0 {
            return UNDEFINED;
        }
        match entries.last() {
            None => UNDEFINED,
            Some(&(last, _)) if last == asked => (asked, log_end),
            Some(_) => {
                let next = entries.partition_point(|&(e, _)| e <= asked);
                match (next, entries.get(next)) {
                    (_, None) => UNDEFINED,
                    (0, Some(&(_, s))) => (asked, s),
                    (i, Some(&(_, s))) => (entries[i - 1].0, s),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Uuid;
    use crate::storage::MemStorage;

    fn append(s: &mut MemStorage, tp: &TopicPartition, epoch: i32, n: i32) {
        s.append_stamped(tp, epoch, n);
    }

    /// The log drawn in the module docs.
    fn drawn() -> (MemStorage, TopicPartition) {
        let tp = TopicPartition::new("t", 0);
        let mut s = MemStorage::new();
        s.create_log(&tp, Uuid::ZERO).unwrap();
        append(&mut s, &tp, 0, 2);
        append(&mut s, &tp, 0, 1);
        append(&mut s, &tp, 2, 2);
        append(&mut s, &tp, 3, 3);
        (s, tp)
    }

    #[test]
    fn end_offsets_follow_kafkas_epoch_cache() {
        let (s, tp) = drawn();
        let mut e = Epochs::default();
        e.catch_up(&s, &tp);
        let range = (0, 8);
        let ask = |asked| e.end_offset_for(&tp, asked, range, None);
        assert_eq!(ask(0), (0, 3));
        assert_eq!(ask(1), (0, 3), "unknown: the largest epoch below");
        assert_eq!(ask(2), (2, 5));
        assert_eq!(ask(3), (3, 8), "the latest ends at the log end");
        assert_eq!(ask(4), UNDEFINED, "above every epoch");
        assert_eq!(ask(-1), UNDEFINED);
        assert_eq!(e.latest(&tp), Some(3));
        // Leading at a newer epoch that wrote nothing yet.
        assert_eq!(e.end_offset_for(&tp, 3, range, Some(5)), (3, 8));
        assert_eq!(e.end_offset_for(&tp, 4, range, Some(5)), (3, 8));
        assert_eq!(e.end_offset_for(&tp, 5, range, Some(5)), (5, 8));
        // An epoch older than all known: itself, ending where history begins.
        let mut later = Epochs::default();
        later.logs.insert(
            tp.clone(),
            History {
                entries: vec![(4, 10)],
                scanned: 12,
            },
        );
        assert_eq!(later.end_offset_for(&tp, 2, (0, 12), None), (2, 10));
        // Below the log start, the last entry there starts at the start.
        assert_eq!(e.end_offset_for(&tp, 0, (4, 8), None), (0, 4));
        assert_eq!(e.end_offset_for(&tp, 2, (4, 8), None), (2, 5));
    }

    #[test]
    fn appends_are_read_incrementally_and_truncation_forgets_the_tail() {
        let (mut s, tp) = drawn();
        let mut e = Epochs::default();
        e.catch_up(&s, &tp);
        append(&mut s, &tp, 7, 1);
        assert_eq!(e.latest(&tp), Some(3), "not read yet");
        e.catch_up(&s, &tp);
        assert_eq!(e.latest(&tp), Some(7));
        assert_eq!(e.end_offset_for(&tp, 3, (0, 9), None), (3, 8));
        s.truncate_to(&tp, 5).unwrap();
        e.truncated(&tp, s.end_offset(&tp));
        assert_eq!(e.latest(&tp), Some(2));
        append(&mut s, &tp, 9, 2);
        e.catch_up(&s, &tp);
        assert_eq!(e.end_offset_for(&tp, 2, (0, 7), None), (2, 5));
        assert_eq!(e.end_offset_for(&tp, 8, (0, 7), None), (2, 5));
        assert_eq!(e.end_offset_for(&tp, 9, (0, 7), None), (9, 7));
        // A cut nobody announced is noticed by the next look.
        s.truncate_to(&tp, 3).unwrap();
        e.catch_up(&s, &tp);
        assert_eq!(e.latest(&tp), Some(0));
        e.forget(&tp);
        assert_eq!(e.latest(&tp), None);
    }

    #[test]
    fn a_lower_epoch_replaces_what_it_contradicts() {
        let mut h = History::default();
        h.observe(1, 0);
        h.observe(-1, 3);
        h.observe(4, 5);
        h.observe(2, 7);
        assert_eq!(h.entries, vec![(1, 0), (2, 7)]);
    }
}
