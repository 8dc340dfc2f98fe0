//! Coordinators: sans-I/O machines that own a kind of shared client state
//! (consumer groups, transactions) and keep it in an internal log;
//! [`controller`], the ZooKeeper-mode cluster controller, the one public
//! machine here, whose outputs the native driver carries out; and
//! `fetcher`, the follower's side of replication, a client of other
//! brokers whose requests the broker hands the driver to send.
//!
//! A coordinator never sees the broker. Each operation takes a request and
//! `now` and returns what happened: the reply, the records its internal
//! log must get, answers to requests it held earlier, and its next
//! deadline. The caller (the API handler, or the broker's timer) appends
//! the records through `state::internal_log` and settles the
//! decision, which the coordinator keeps or undoes depending on whether the
//! append worked. See `group` for the first of them.

pub mod controller;
pub(crate) mod fetcher;
pub(crate) mod group;
pub(crate) mod txn;

use crate::collections::{Map, Set};

use crate::state::{ConnId, Now};

/// A request a coordinator holds to answer later: the connection it came
/// on and the version to answer it in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Waiter {
    pub conn: ConnId,
    pub version: i16,
}

/// Deadlines by key, each key at most once, earliest first.
#[derive(Debug, Clone)]
pub(crate) struct Deadlines<K: Ord + Clone> {
    queue: Set<(Now, K)>,
    of: Map<K, Now>,
}

impl<K: Ord + Clone> Default for Deadlines<K> {
    fn default() -> Self {
        Deadlines {
            queue: Set::new(),
            of: Map::new(),
        }
    }
}

impl<K: Ord + Clone> Deadlines<K> {
    /// Sets (or moves, or with `None` clears) the deadline of `key`.
    pub fn set(&mut self, key: &K, at: Option<Now>) {
        if let Some(old) = self.of.remove(key) {
            self.queue.remove(&(old, key.clone()));
        }
        if let Some(at) = at {
            self.queue.insert((at, key.clone()));
            self.of.insert(key.clone(), at);
        }
    }

    /// The earliest deadline.
    pub fn first(&self) -> Option<Now> {
        self.queue.first().map(|(at, _)| *at)
    }

    /// Removes and returns a key whose deadline is at or before `now`,
    /// earliest first.
    pub fn pop_due(&mut self, now: Now) -> Option<K> {
        let (at, key) = self.queue.first()?.clone();
        if at > now {
            return None;
        }
        self.queue.remove(&(at, key.clone()));
        self.of.remove(&key);
        Some(key)
    }
}
