//! Replication, leader side (Kafka's `Partition` as a leader keeps it):
//! where each follower of a partition led here has got to, the in-sync
//! replicas, and the high watermark they allow.
//!
//! # The high watermark
//!
//! A partition led here has a [`LeaderLog`]: its ISR as the controller
//! last stated it (LeaderAndIsr), and for every other replica in the
//! assignment the log end offset its last Fetch reported (the fetch
//! offset a follower sends is its log end) and when it last caught up.
//! The high watermark is the smallest log end offset over the ISR, this
//! broker's own log end included, and it never goes backwards:
//!
//! ```text
//!   leader log end 12 ─┐
//!   ISR follower 2: 10 ├─ min = 10  ─ max(stored floor) ─ HW 10
//!   ISR follower 3: 11 ┘
//!   follower 4 (not in ISR): 3        (does not hold the HW back)
//! ```
//!
//! It is computed from the leader's log end when asked
//! ([`LeaderLog::high_watermark`]) rather than stored after every append:
//! with an ISR of this broker alone it simply follows the log end, so a
//! produce needs no write access to the replication state. What is stored
//! is a floor, raised whenever a follower's position is recorded, so the
//! answer never falls (a follower unknown since this broker became leader
//! holds it at the floor). A partition that is not a hosted leader (a
//! single broker's, or one led here from the image alone) has no
//! [`LeaderLog`], and its high watermark is its log end offset, as
//! before.
//!
//! A new leader starts its floor at the high watermark it knew as a
//! follower (its leader's, capped by its own log end), else at the log
//! start offset: Spate keeps no high-watermark checkpoint, and Kafka
//! starts there when it has none. Until every ISR follower has fetched
//! once, consumers see nothing past it.
//!
//! As in Kafka 2.x (ZooKeeper mode), the high watermark advances whatever
//! the ISR's size; `min.insync.replicas` only refuses acks=all produces
//! (see `api::produce`).
//!
//! # The ISR, as the leader changes it
//!
//! As Kafka 2.x's leader does in ZooKeeper mode (`Partition.
//! maybeShrinkIsr` / `maybeExpandIsr`, then `updateIsr`), the leader
//! proposes ISR changes itself ([`LeaderLog::isr_change`]):
//!
//! - shrink: an ISR follower that has not caught up with the leader's log
//!   end for `replica.lag.time.max.ms` leaves the ISR;
//! - expand: a follower outside the ISR whose log end reached the high
//!   watermark joins it.
//!
//! A change is a conditional write of the partition's state znode at the
//! version this leader knows ([`LeaderLog::propose`]); it counts only once
//! written ([`LeaderLog::written`]). A write that finds the znode moved
//! means a controller or another leader changed the partition since: this
//! broker is not the leader it thinks it is, and proposes nothing more
//! until the next LeaderAndIsr (a deposed leader cannot shrink the ISR to
//! itself and acknowledge acks=all writes alone). One change is in flight
//! at a time.
//!
//! Fetch's diverging-epoch answers (KIP-595, `last_fetched_epoch`) are not
//! given: followers truncate with OffsetForLeaderEpoch first, from the
//! leader epoch history in [`super::epochs`]. The follower's side of
//! replication is `coordinator::fetcher`.

use crate::collections::Map;

use super::Now;

/// A follower's position, as its fetches report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Follower {
    /// Its log end offset (-1: it has not fetched since this broker
    /// became leader).
    log_end: i64,
    /// When it last had everything the leader had.
    last_caught_up: Now,
    /// When its last fetch came, and the leader's log end then.
    last_fetch: Now,
    last_fetch_leader_end: i64,
}

/// The leader's view of one partition's replicas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LeaderLog {
    /// This broker.
    me: i32,
    /// The in-sync replicas, this broker among them.
    isr: Vec<i32>,
    /// Every other replica in the assignment.
    followers: Map<i32, Follower>,
    /// The high watermark's floor: it never answers below this.
    floor: i64,
    /// The state znode's version this leader knows (the LeaderAndIsr's
    /// partition epoch, then each write's).
    version: i32,
    /// The ISR of a write in flight.
    pending: Option<Vec<i32>>,
    /// A write found the znode moved: propose nothing more.
    fenced: bool,
}

/// How an ISR write went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsrOutcome {
    /// Written; the state znode's new version.
    Done(i32),
    /// The znode had moved on (another leader or the controller wrote
    /// it): nothing was written.
    Conflict,
    /// The write could not be made (the coordination service was not
    /// reachable): nothing is known; the change is proposed again later.
    Failed,
}

/// An ISR change to write: the partition's state znode becomes `isr`
/// (leader and epochs unchanged) if it is still at `version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IsrWrite {
    pub isr: Vec<i32>,
    pub version: i32,
}

impl LeaderLog {
    /// The state of a partition this broker (`me`) just became leader of,
    /// with these replicas and ISR, its high watermark starting at `floor`.
    /// Followers count as caught up at `now` (Kafka's `makeLeader` resets
    /// them so).
    pub fn new(me: i32, replicas: &[i32], isr: &[i32], floor: i64, now: Now) -> LeaderLog {
        let followers = replicas
            .iter()
            .filter(|&&id| id != me)
            .map(|&id| {
                let f = Follower {
                    log_end: -1,
                    last_caught_up: now,
                    last_fetch: now,
                    last_fetch_leader_end: -1,
                };
                (id, f)
            })
            .collect();
        LeaderLog {
            me,
            isr: isr.to_vec(),
            followers,
            floor,
            version: 0,
            pending: None,
            fenced: false,
        }
    }

    /// The same, with the state znode at `version` (LeaderAndIsr's
    /// partition epoch).
    pub fn at_version(mut self, version: i32) -> LeaderLog {
        self.version = version;
        self
    }

    /// The ISR change due at `now`, if any (see the module docs): ISR
    /// followers behind for more than `lag_ms` leave, followers outside
    /// it whose log end reached `hw` join. `None` while a write is in
    /// flight or after one was refused.
    pub fn isr_change(&self, hw: i64, now: Now, lag_ms: i64) -> Option<Vec<i32>> {
        if self.pending.is_some() || self.fenced {
            return None;
        }
        let mut isr: Vec<i32> = self
            .isr
            .iter()
            .copied()
            .filter(|id| {
                *id == self.me
                    || self
                        .followers
                        .get(id)
                        .is_none_or(|f| now - f.last_caught_up <= lag_ms)
            })
            .collect();
        // A follower joins once it reached the high watermark and is
        // caught up by the rule that would take it out again: one that
        // stopped fetching (dead, frozen) with a log end at the high
        // watermark would otherwise be taken out and back in by turns.
        for (id, f) in &self.followers {
            if !isr.contains(id)
                && !self.isr.contains(id)
                && f.log_end >= 0
                && f.log_end >= hw
                && now - f.last_caught_up <= lag_ms
            {
                isr.push(*id);
            }
        }
        (isr != self.isr).then_some(isr)
    }

    /// Marks `isr` as being written; what to write.
    pub fn propose(&mut self, isr: Vec<i32>) -> IsrWrite {
        self.pending = Some(isr.clone());
        IsrWrite {
            isr,
            version: self.version,
        }
    }

    /// How the write of the pending ISR went. Returns whether the ISR
    /// changed.
    pub fn written(&mut self, outcome: IsrOutcome) -> bool {
        let Some(isr) = self.pending.take() else {
            return false;
        };
        match outcome {
            IsrOutcome::Done(version) => {
                self.version = version;
                self.isr = isr;
                true
            }
            IsrOutcome::Conflict => {
                self.fenced = true;
                false
            }
            IsrOutcome::Failed => false,
        }
    }

    /// Whether ISR writes were refused: another leader or the controller
    /// moved the partition on.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn fenced(&self) -> bool {
        self.fenced
    }

    /// The high watermark when the leader's log ends at `log_end`.
    pub fn high_watermark(&self, log_end: i64) -> i64 {
        let lowest = self
            .isr
            .iter()
            .filter_map(|id| self.followers.get(id))
            .map(|f| f.log_end)
            .fold(log_end, i64::min);
        self.floor.max(lowest).min(log_end)
    }

    /// Raises the high watermark's floor to `hw` (a follower promoted to
    /// leader starts from the high watermark it knew as follower, as
    /// Kafka's new leader starts from its own).
    pub fn raise_floor(&mut self, hw: i64) {
        self.floor = self.floor.max(hw);
    }

    /// The in-sync replicas.
    pub fn isr(&self) -> &[i32] {
        &self.isr
    }

    /// Whether `replica` is a follower in the assignment.
    pub fn is_follower(&self, replica: i32) -> bool {
        self.followers.contains_key(&replica)
    }

    /// When `replica` last caught up with the leader's log end (what ISR
    /// shrinking reads).
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn last_caught_up(&self, replica: i32) -> Option<Now> {
        self.followers.get(&replica).map(|f| f.last_caught_up)
    }

    /// The log end offset `replica` last reported (-1: none yet).
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn follower_log_end(&self, replica: i32) -> Option<i64> {
        self.followers.get(&replica).map(|f| f.log_end)
    }

    /// Records a fetch by `replica` from `fetch_offset` (its log end),
    /// served when the leader's log ended at `leader_end` (Kafka's
    /// `Replica.updateFetchStateOrThrow`, then `maybeIncrementLeaderHW`).
    /// Returns whether the high watermark moved. A replica outside the
    /// assignment changes nothing.
    pub fn record_fetch(
        &mut self,
        replica: i32,
        fetch_offset: i64,
        leader_end: i64,
        now: Now,
    ) -> bool {
        let before = self.high_watermark(leader_end);
        let Some(f) = self.followers.get_mut(&replica) else {
            return false;
        };
        // Caught up now when it has all the leader has; caught up at its
        // previous fetch when it has what the leader had then.
        if fetch_offset >= leader_end {
            f.last_caught_up = f.last_caught_up.max(now);
        } else if fetch_offset >= f.last_fetch_leader_end {
            f.last_caught_up = f.last_caught_up.max(f.last_fetch);
        }
        f.log_end = fetch_offset;
        f.last_fetch = now;
        f.last_fetch_leader_end = leader_end;
        let after = self.high_watermark(leader_end);
        self.floor = after;
        after > before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leader(isr: &[i32]) -> LeaderLog {
        LeaderLog::new(1, &[1, 2, 3], isr, 0, 1000)
    }

    #[test]
    fn the_slowest_in_sync_follower_sets_the_high_watermark() {
        let mut l = leader(&[1, 2, 3]);
        assert_eq!(l.high_watermark(10), 0, "followers not heard from yet");
        assert!(!l.record_fetch(2, 10, 10, 1001));
        assert_eq!(l.high_watermark(10), 0, "follower 3 holds it");
        assert!(l.record_fetch(3, 7, 10, 1002));
        assert_eq!(l.high_watermark(10), 7);
        assert!(l.record_fetch(3, 10, 12, 1003));
        assert_eq!(l.high_watermark(12), 10);
        // A follower going back (after truncating) does not move it back.
        assert!(!l.record_fetch(2, 4, 12, 1004));
        assert_eq!(l.high_watermark(12), 10);
    }

    #[test]
    fn replicas_out_of_sync_or_unknown_do_not_count() {
        let mut l = leader(&[1, 2]);
        assert!(!l.record_fetch(9, 5, 5, 1001), "not in the assignment");
        assert!(!l.record_fetch(3, 1, 5, 1001), "follower 2 still unknown");
        assert_eq!(l.high_watermark(5), 0);
        assert!(l.record_fetch(2, 5, 5, 1002));
        assert_eq!(l.high_watermark(5), 5, "follower 3 is not in the ISR");
        // Alone in the ISR the leader's log end is the high watermark.
        assert_eq!(leader(&[1]).high_watermark(42), 42);
    }

    #[test]
    fn caught_up_time_follows_kafka() {
        let mut l = leader(&[1, 2]);
        l.record_fetch(2, 3, 5, 2000);
        assert_eq!(l.last_caught_up(2), Some(1000), "behind the log end");
        // It now has what the leader had at its previous fetch.
        l.record_fetch(2, 5, 8, 3000);
        assert_eq!(l.last_caught_up(2), Some(2000));
        l.record_fetch(2, 8, 8, 4000);
        assert_eq!(l.last_caught_up(2), Some(4000));
        assert_eq!(l.follower_log_end(2), Some(8));
    }

    #[test]
    fn a_follower_behind_too_long_leaves_the_isr_once_written() {
        let mut l = leader(&[1, 2, 3]).at_version(4);
        l.record_fetch(2, 10, 10, 1500);
        l.record_fetch(3, 10, 10, 1500);
        assert_eq!(l.isr_change(10, 20_000, 30_000), None);
        // Follower 3 stops fetching; 2 keeps up.
        l.record_fetch(2, 20, 20, 31_000);
        assert_eq!(l.isr_change(10, 31_000, 30_000), None, "3 is 29.5 s behind");
        assert_eq!(l.isr_change(10, 31_501, 30_000), Some(vec![1, 2]));
        let w = l.propose(vec![1, 2]);
        assert_eq!(
            w,
            IsrWrite {
                isr: vec![1, 2],
                version: 4
            }
        );
        assert_eq!(
            l.isr_change(10, 40_000, 30_000),
            None,
            "one write at a time"
        );
        assert_eq!(l.isr(), [1, 2, 3], "not before it is written");
        assert_eq!(l.high_watermark(20), 10, "3 still holds it");
        assert!(l.written(IsrOutcome::Done(5)));
        assert_eq!(l.isr(), [1, 2]);
        assert_eq!(l.high_watermark(20), 20, "3 no longer holds it");
        // It catches up to the high watermark: back in, at version 5.
        l.record_fetch(3, 20, 20, 41_000);
        assert_eq!(l.isr_change(20, 41_000, 30_000), Some(vec![1, 2, 3]));
        assert_eq!(l.propose(vec![1, 2, 3]).version, 5);
    }

    #[test]
    fn a_refused_write_fences_the_leader() {
        let mut l = leader(&[1, 2]).at_version(7);
        assert_eq!(l.isr_change(0, 40_000, 30_000), Some(vec![1]));
        let _ = l.propose(vec![1]);
        // A write that could not be made is proposed again.
        assert!(!l.written(IsrOutcome::Failed));
        assert!(!l.fenced());
        assert_eq!(l.isr_change(0, 40_500, 30_000), Some(vec![1]));
        let _ = l.propose(vec![1]);
        assert!(!l.written(IsrOutcome::Conflict));
        assert!(l.fenced());
        assert_eq!(l.isr(), [1, 2], "the ISR is what the controller said");
        assert_eq!(l.isr_change(0, 90_000, 30_000), None, "nothing more");
        assert_eq!(l.high_watermark(5), 0, "follower 2 still holds it");
    }

    #[test]
    fn a_follower_below_the_high_watermark_stays_out() {
        let mut l = leader(&[1]);
        assert_eq!(l.isr_change(0, 1000, 30_000), None, "2 and 3 never fetched");
        l.record_fetch(2, 4, 10, 1100);
        assert_eq!(l.isr_change(10, 1100, 30_000), None);
        l.record_fetch(2, 10, 12, 1200);
        assert_eq!(l.isr_change(10, 1200, 30_000), Some(vec![1, 2]));
    }

    #[test]
    fn a_follower_that_stopped_fetching_is_not_taken_back_in() {
        // 2 copied everything, then died; nothing more is written.
        let mut l = leader(&[1, 2]);
        l.record_fetch(2, 10, 10, 1100);
        l.record_fetch(3, 10, 10, 1100);
        assert_eq!(l.isr_change(10, 1100, 30_000), Some(vec![1, 2, 3]));
        l.propose(vec![1, 2, 3]);
        l.written(IsrOutcome::Done(1));
        l.record_fetch(3, 10, 10, 40_000);
        // Out after the lag, though its log end is at the high watermark ...
        let out = l.isr_change(10, 40_000, 30_000);
        assert_eq!(out, Some(vec![1, 3]));
        l.propose(vec![1, 3]);
        l.written(IsrOutcome::Done(2));
        // ... and not back in while it does not fetch.
        assert_eq!(l.isr_change(10, 40_500, 30_000), None);
        // A fetch that finds it caught up takes it back.
        l.record_fetch(2, 10, 10, 41_000);
        assert_eq!(l.isr_change(10, 41_000, 30_000), Some(vec![1, 3, 2]));
    }
}
