//! KIP-227 incremental fetch sessions: the broker remembers what a fetcher
//! asked for, so that later requests list only what changed and responses
//! carry only partitions with something new.
//!
//! A session is named by its id and a sequence number, the epoch. What a
//! Fetch request's `(session_id, session_epoch)` means, as in Kafka's
//! `FetchManager.newContext`:
//!
//! ```text
//!   (0, -1)  FINAL, no session       sessionless full fetch (also every v0-6 request)
//!   (0,  0)  INITIAL                 full fetch; a session is created when the
//!                                    cache has room (response: its id, next epoch 1)
//!   (X, -1)                          close X; sessionless full fetch
//!   (X,  0)                          close X; full fetch that may create a new session
//!   (X,  N)  incremental             N must be X's next epoch:
//!              unknown X             -> FETCH_SESSION_ID_NOT_FOUND
//!              N is not X's epoch    -> INVALID_FETCH_SESSION_EPOCH
//!              v13+ on a by-name session, or v7-12 on a by-id one
//!                                    -> FETCH_SESSION_TOPIC_ID_ERROR
//!              all partitions forgotten -> X is closed, sessionless answer
//!
//!           create                incremental (epoch N)
//!   (none) --------> Open{epoch 1} --------------------> Open{epoch N+1}
//!                        |  close (X,-1) or (X,0), eviction, emptied
//!                        v
//!                     (none)
//! ```
//!
//! The cache holds at most [`Config::fetch_session_cache_slots`] sessions
//! and evicts as Kafka's `FetchSessionCacheShard` does: a session unused
//! for [`EVICTION_MS`] goes first; otherwise a session older than that may
//! be replaced by a proposed one with more partitions, and a follower's
//! (privileged) proposal may replace a consumer's session. When nothing
//! can be evicted the fetch is answered without a session (id 0). Kafka
//! splits the cache into shards for its threads; the broker here is one
//! state machine, so there is one shard holding every slot.
//!
//! [`Config::fetch_session_cache_slots`]: crate::state::Config::fetch_session_cache_slots

use std::collections::HashMap;

use crate::collections::Map;

use crate::protocol::messages::fetch_response::PartitionData;
use crate::protocol::Uuid;

use super::ids::Ids;
use super::Now;

/// The epoch of a request that opens a session.
pub(crate) const INITIAL_EPOCH: i32 = 0;
/// The epoch of a request that closes its session (or asks for none).
pub(crate) const FINAL_EPOCH: i32 = -1;
/// How long a session must go unused before any proposal may evict it,
/// and how old it must be before a larger one may (Kafka's
/// `MIN_INCREMENTAL_FETCH_SESSION_EVICTION_MS`).
pub(crate) const EVICTION_MS: i64 = 120_000;

/// The epoch that follows `epoch` (Kafka's `FetchMetadata.nextEpoch`).
pub(crate) fn next_epoch(epoch: i32) -> i32 {
    if epoch < 0 {
        FINAL_EPOCH
    } else if epoch == i32::MAX {
        1
    } else {
        epoch + 1
    }
}

/// How a partition is named within a session: by topic id in sessions of
/// v13+ requests, by topic name before (where ids are zero).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum PartKey {
    Id(Uuid, i32),
    Name(String, i32),
}

/// One partition of a session (or of a sessionless request): what the
/// fetcher last asked for and what it was last told.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CachedPartition {
    /// The topic id (zero for requests before v13).
    pub topic_id: Uuid,
    /// The topic name: `None` for an id this broker did not know when the
    /// partition was added (resolved later if the topic appears).
    pub topic: Option<String>,
    pub partition: i32,
    /// The fetcher's partition max bytes.
    pub max_bytes: i32,
    pub fetch_offset: i64,
    /// The leader epoch the fetcher believes in (-1: not checked).
    pub current_leader_epoch: i32,
    /// The fetcher's own log start offset (followers; -1 for consumers).
    pub fetcher_log_start_offset: i64,
    /// The high watermark last sent (-1: unknown, or an error was sent).
    pub high_watermark: i64,
    /// The log start offset last sent.
    pub log_start_offset: i64,
}

impl CachedPartition {
    /// The key equality is decided by (Kafka's `CachedPartition.equals`).
    pub fn key(&self) -> PartKey {
        if self.topic_id == Uuid::ZERO {
            PartKey::Name(self.topic.clone().unwrap_or_default(), self.partition)
        } else {
            PartKey::Id(self.topic_id, self.partition)
        }
    }

    /// Takes the request parameters of `req` (the same partition).
    fn update_request(&mut self, req: &CachedPartition) {
        self.max_bytes = req.max_bytes;
        self.fetch_offset = req.fetch_offset;
        self.current_leader_epoch = req.current_leader_epoch;
        self.fetcher_log_start_offset = req.fetcher_log_start_offset;
    }

    /// Whether an incremental response must carry this partition's `data`,
    /// remembering what it tells the fetcher (Kafka's
    /// `maybeUpdateResponseData`): new records, a changed high watermark or
    /// log start offset, a preferred read replica, a diverging epoch, or
    /// an error (which also forgets the high watermark, so that the
    /// partition is sent again once the error clears).
    pub fn must_respond(&mut self, data: &PartitionData) -> bool {
        let mut must = data.records.as_ref().is_some_and(|r| !r.is_empty());
        if self.high_watermark != data.high_watermark {
            must = true;
            self.high_watermark = data.high_watermark;
        }
        if self.log_start_offset != data.log_start_offset {
            must = true;
            self.log_start_offset = data.log_start_offset;
        }
        if data.preferred_read_replica != -1 || data.diverging_epoch != Default::default() {
            must = true;
        }
        if data.error_code != 0 {
            self.high_watermark = -1;
            must = true;
        }
        must
    }
}

/// One incremental fetch session.
#[derive(Debug, Clone)]
pub(crate) struct FetchSession {
    pub id: i32,
    /// Created by a follower (replica id >= 0).
    pub privileged: bool,
    /// Created by a v13+ request: partitions are named by topic id.
    pub uses_topic_ids: bool,
    pub created_ms: Now,
    pub last_used_ms: Now,
    /// The epoch the next incremental request must carry.
    pub epoch: i32,
    /// The partitions, in the order they are read (those that returned
    /// records move to the back, so that every partition gets its turn).
    pub partitions: Vec<CachedPartition>,
    /// Partition count when last touched (the eviction weight).
    cached_size: usize,
    evictable_by_all: bool,
    evictable_by_privileged: bool,
}

impl FetchSession {
    /// The session's partitions after a request that adds or updates
    /// `fetch` and removes `forget` (Kafka's `FetchSession.update`),
    /// without changing the session: new partitions go to the back,
    /// updated ones keep their place.
    pub fn updated(&self, fetch: &[CachedPartition], forget: &[PartKey]) -> Vec<CachedPartition> {
        let mut parts = self.partitions.clone();
        let mut index: HashMap<PartKey, usize> = parts
            .iter()
            .enumerate()
            .map(|(i, p)| (p.key(), i))
            .collect();
        for req in fetch {
            match index.get(&req.key()) {
                Some(&i) => parts[i].update_request(req),
                None => {
                    index.insert(req.key(), parts.len());
                    parts.push(CachedPartition {
                        high_watermark: -1,
                        log_start_offset: -1,
                        ..req.clone()
                    });
                }
            }
        }
        if !forget.is_empty() {
            parts.retain(|p| !forget.contains(&p.key()));
        }
        parts
    }
}

/// The session cache (Kafka's `FetchSessionCache`).
#[derive(Debug, Clone)]
pub(crate) struct FetchSessions {
    slots: usize,
    sessions: Map<i32, FetchSession>,
}

impl FetchSessions {
    /// An empty cache of `slots` sessions at most.
    pub fn new(slots: usize) -> Self {
        FetchSessions {
            slots,
            sessions: Map::new(),
        }
    }

    /// Number of sessions held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    pub fn get(&self, id: i32) -> Option<&FetchSession> {
        self.sessions.get(&id)
    }

    pub fn remove(&mut self, id: i32) -> Option<FetchSession> {
        self.sessions.remove(&id)
    }

    /// Creates a session holding `partitions` if there is room or something
    /// can be evicted; its id, or 0 when no session was created.
    pub fn maybe_create(
        &mut self,
        now: Now,
        privileged: bool,
        uses_topic_ids: bool,
        partitions: Vec<CachedPartition>,
        ids: &mut Ids,
    ) -> i32 {
        if self.sessions.len() >= self.slots && !self.try_evict(privileged, partitions.len(), now) {
            return 0;
        }
        let id = loop {
            // A positive i32 that no live session uses.
            let id = (ids.next_u64() >> 33) as i32;
            if id != 0 && !self.sessions.contains_key(&id) {
                break id;
            }
        };
        let mut session = FetchSession {
            id,
            privileged,
            uses_topic_ids,
            created_ms: now,
            last_used_ms: now,
            epoch: next_epoch(INITIAL_EPOCH),
            partitions,
            cached_size: 0,
            evictable_by_all: false,
            evictable_by_privileged: false,
        };
        touch(&mut session, now);
        self.sessions.insert(id, session);
        id
    }

    /// An incremental request on session `id` was answered: it now holds
    /// `partitions` and expects the next epoch.
    pub fn advance(&mut self, id: i32, partitions: Vec<CachedPartition>, now: Now) {
        if let Some(s) = self.sessions.get_mut(&id) {
            s.partitions = partitions;
            s.epoch = next_epoch(s.epoch);
            touch(s, now);
        }
    }

    /// Evicts one session to make room for a proposed one, if Kafka's
    /// rules allow (`FetchSessionCacheShard.tryEvict`).
    fn try_evict(&mut self, privileged: bool, size: usize, now: Now) -> bool {
        let Some(stalest) = self
            .sessions
            .values()
            .min_by_key(|s| (s.last_used_ms, s.id))
        else {
            return false;
        };
        if now - stalest.last_used_ms > EVICTION_MS {
            let id = stalest.id;
            self.sessions.remove(&id);
            return true;
        }
        // The least valuable evictable session: consumers' before
        // followers', then fewest partitions, then lowest id.
        let victim = self
            .sessions
            .values()
            .filter(|s| {
                if privileged {
                    s.evictable_by_privileged
                } else {
                    s.evictable_by_all
                }
            })
            .min_by_key(|s| (s.privileged, s.cached_size, s.id));
        match victim {
            // The proposal (privileged, size, id 0) must not rank below it.
            Some(v) if (privileged, size, 0) >= (v.privileged, v.cached_size, v.id) => {
                let id = v.id;
                self.sessions.remove(&id);
                true
            }
            _ => false,
        }
    }
}

/// Records a use of `s` at `now` and decides whom it may be evicted by
/// (Kafka's `touch`): anyone once it is older than [`EVICTION_MS`],
/// followers at once if it is a consumer's.
fn touch(s: &mut FetchSession, now: Now) {
    s.last_used_ms = now;
    s.cached_size = s.partitions.len();
    let old = now - s.created_ms > EVICTION_MS;
    s.evictable_by_privileged = !s.privileged || old;
    s.evictable_by_all = old;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(topic: &str, partition: i32) -> CachedPartition {
        CachedPartition {
            topic_id: Uuid::ZERO,
            topic: Some(topic.into()),
            partition,
            max_bytes: 100,
            fetch_offset: 0,
            current_leader_epoch: -1,
            fetcher_log_start_offset: -1,
            high_watermark: -1,
            log_start_offset: -1,
        }
    }

    fn ids() -> Ids {
        Ids::new(7)
    }

    #[test]
    fn epochs_wrap_to_one_and_stay_final() {
        assert_eq!(next_epoch(0), 1);
        assert_eq!(next_epoch(i32::MAX), 1);
        assert_eq!(next_epoch(-1), -1);
    }

    #[test]
    fn updates_keep_order_append_new_and_forget() {
        let mut c = FetchSessions::new(1);
        let mut ids = ids();
        let id = c.maybe_create(0, false, false, vec![part("a", 0), part("a", 1)], &mut ids);
        assert!(id > 0);
        let s = c.get(id).unwrap();
        assert_eq!(s.epoch, 1);
        let mut moved = part("a", 0);
        moved.fetch_offset = 5;
        let next = s.updated(&[part("b", 0), moved], &[PartKey::Name("a".into(), 1)]);
        let keys: Vec<_> = next
            .iter()
            .map(|p| (p.topic.clone().unwrap(), p.partition, p.fetch_offset))
            .collect();
        assert_eq!(keys, vec![("a".into(), 0, 5), ("b".into(), 0, 0)]);
    }

    #[test]
    fn eviction_follows_kafka() {
        let mut c = FetchSessions::new(1);
        let mut ids = ids();
        let a = c.maybe_create(0, false, false, vec![part("a", 0)], &mut ids);
        // Young and no smaller than the proposal: kept.
        assert_eq!(
            c.maybe_create(10, false, false, vec![part("b", 0); 5], &mut ids),
            0
        );
        // A follower may evict a consumer's session at once.
        let f = c.maybe_create(20, true, false, vec![part("c", 0)], &mut ids);
        assert!(f > 0 && c.get(a).is_none());
        // Unused for longer than EVICTION_MS: anyone may take its slot.
        let d = c.maybe_create(
            20 + EVICTION_MS + 1,
            false,
            false,
            vec![part("d", 0)],
            &mut ids,
        );
        assert!(d > 0 && c.get(f).is_none());
        // Older than EVICTION_MS and smaller than the proposal: replaced.
        c.advance(d, vec![part("d", 0)], 3 * EVICTION_MS);
        let e = c.maybe_create(
            3 * EVICTION_MS + 10,
            false,
            false,
            vec![part("e", 0), part("e", 1)],
            &mut ids,
        );
        assert!(e > 0 && c.get(d).is_none());
        assert_eq!(c.len(), 1);
    }
}
