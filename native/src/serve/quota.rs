//! Connection limits, as Kafka's `ConnectionQuotas` enforces them:
//!
//! - `max.connections`: connections of all listeners together. At the
//!   limit the listeners stop accepting (new connections wait in the
//!   kernel's backlog) until one closes; the inter-broker listener keeps
//!   accepting, so that brokers can always reach each other.
//! - `max.connections.per.ip`, with `max.connections.per.ip.overrides`
//!   (`host:N,ip:N`; a host name stands for every address it resolves
//!   to): a new connection from an address already at its limit is
//!   closed at once, before a byte is read.
//!
//! Both come from server.properties and follow the dynamic broker configs
//! (per broker, then the cluster-wide default, then the static value):
//! the owner loop hands the broker's current values to [`ConnQuota::follow`]
//! after each batch of inputs, so an AlterConfigs takes effect for the
//! next connection, as in Kafka. Connections already open are never
//! closed by a lowered limit.

use std::collections::HashMap;
use std::net::{IpAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;
use tracing::{info, warn};

/// The configs, as written, in one place: the static ones from
/// server.properties, or what is in force after the dynamic ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Written {
    /// `max.connections`.
    pub max: Option<String>,
    /// `max.connections.per.ip`.
    pub per_ip: Option<String>,
    /// `max.connections.per.ip.overrides`.
    pub overrides: Option<String>,
}

/// The limits in force.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Limits {
    max: usize,
    per_ip: usize,
    overrides: HashMap<IpAddr, usize>,
}

/// Kafka's default for both counts: `Int.MaxValue`, no limit in practice.
const UNLIMITED: usize = i32::MAX as usize;

impl Limits {
    /// Reads the written configs; `Err` names what is wrong.
    fn parse(w: &Written) -> Result<Limits, String> {
        let count = |key: &str, v: &Option<String>| -> Result<usize, String> {
            match v.as_deref().map(str::trim) {
                None | Some("") => Ok(UNLIMITED),
                Some(s) => s
                    .parse::<i32>()
                    .ok()
                    .filter(|n| *n >= 0)
                    .map(|n| n as usize)
                    .ok_or_else(|| format!("{key}: `{s}` is not a count of connections")),
            }
        };
        let max = count("max.connections", &w.max)?;
        let per_ip = count("max.connections.per.ip", &w.per_ip)?;
        let mut overrides = HashMap::new();
        for entry in w.overrides.as_deref().unwrap_or("").split(',') {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            let bad = || format!("max.connections.per.ip.overrides: `{entry}` is not host:count");
            let (host, n) = entry.rsplit_once(':').ok_or_else(bad)?;
            let n: usize = n.trim().parse::<u32>().map_err(|_| bad())? as usize;
            let host = host.trim().trim_start_matches('[').trim_end_matches(']');
            let addrs: Vec<IpAddr> = match host.parse::<IpAddr>() {
                Ok(ip) => vec![ip],
                Err(_) => (host, 0)
                    .to_socket_addrs()
                    .map_err(|e| format!("max.connections.per.ip.overrides: {host}: {e}"))?
                    .map(|a| a.ip())
                    .collect(),
            };
            for ip in addrs {
                overrides.insert(ip, n);
            }
        }
        if per_ip == 0 && overrides.is_empty() {
            // Kafka's own check: with no overrides, no address could connect.
            return Err(
                "max.connections.per.ip can be 0 only when max.connections.per.ip.overrides is set"
                    .into(),
            );
        }
        Ok(Limits {
            max,
            per_ip,
            overrides,
        })
    }

    fn of(&self, ip: IpAddr) -> usize {
        self.overrides.get(&ip).copied().unwrap_or(self.per_ip)
    }
}

/// The connections open, and the limits they are held to.
pub(crate) struct ConnQuota {
    state: Mutex<State>,
    /// Woken when a connection closes or the limits change.
    freed: Notify,
}

struct State {
    statics: Written,
    in_force: Written,
    limits: Limits,
    total: usize,
    by_ip: HashMap<IpAddr, usize>,
}

/// One admitted connection; dropping it frees its place.
pub(crate) struct Slot {
    quota: Arc<ConnQuota>,
    ip: IpAddr,
}

impl ConnQuota {
    /// The quota for server.properties' values; `Err` for a malformed one.
    pub(crate) fn new(statics: Written) -> Result<Arc<ConnQuota>, String> {
        let limits = Limits::parse(&statics)?;
        Ok(Arc::new(ConnQuota {
            state: Mutex::new(State {
                in_force: statics.clone(),
                statics,
                limits,
                total: 0,
                by_ip: HashMap::new(),
            }),
            freed: Notify::new(),
        }))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until a connection may be accepted: at once for the
    /// inter-broker listener (`exempt`), else while fewer than
    /// `max.connections` are open.
    pub(crate) async fn wait_for_slot(&self, exempt: bool) {
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            {
                let s = self.state();
                if exempt || s.total < s.limits.max {
                    return;
                }
            }
            freed.await;
        }
    }

    /// Counts a new connection from `ip`, or `Err(limit)` when its address
    /// already has as many as it may.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, usize> {
        let mut s = self.state();
        let limit = s.limits.of(ip);
        let n = s.by_ip.entry(ip).or_insert(0);
        if *n >= limit {
            return Err(limit);
        }
        *n += 1;
        s.total += 1;
        Ok(Slot {
            quota: self.clone(),
            ip,
        })
    }

    /// Takes the dynamic values in force (`None`: not set dynamically,
    /// the static value holds). A malformed value (the dynamic config
    /// check should have refused it) keeps the limits as they were.
    pub(crate) fn follow(&self, dynamic: Written) {
        let mut s = self.state();
        let w = Written {
            max: dynamic.max.or_else(|| s.statics.max.clone()),
            per_ip: dynamic.per_ip.or_else(|| s.statics.per_ip.clone()),
            overrides: dynamic.overrides.or_else(|| s.statics.overrides.clone()),
        };
        if w == s.in_force {
            return;
        }
        match Limits::parse(&w) {
            Ok(limits) => {
                info!(
                    max = limits.max,
                    per_ip = limits.per_ip,
                    overrides = limits.overrides.len(),
                    "connection limits changed"
                );
                s.limits = limits;
            }
            Err(e) => warn!(error = %e, "connection limits: the new values are ignored"),
        }
        s.in_force = w;
        drop(s);
        self.freed.notify_waiters();
    }

    /// Connections open now (all listeners).
    #[cfg(test)]
    fn open(&self) -> usize {
        self.state().total
    }
}

/// The owner loop's side: hands the broker's dynamic values to the
/// quota when they change (a cheap comparison otherwise).
pub(crate) struct Follower {
    quota: Arc<ConnQuota>,
    seen: Written,
}

impl Follower {
    pub(crate) fn new(quota: Arc<ConnQuota>) -> Follower {
        Follower {
            quota,
            seen: Written::default(),
        }
    }

    /// `dynamic(name)`: the dynamic value in force for a config, if any.
    pub(crate) fn check<'a>(&mut self, dynamic: impl Fn(&str) -> Option<&'a str>) {
        let max = dynamic("max.connections");
        let per_ip = dynamic("max.connections.per.ip");
        let overrides = dynamic("max.connections.per.ip.overrides");
        if (max, per_ip, overrides)
            == (
                self.seen.max.as_deref(),
                self.seen.per_ip.as_deref(),
                self.seen.overrides.as_deref(),
            )
        {
            return;
        }
        self.seen = Written {
            max: max.map(str::to_string),
            per_ip: per_ip.map(str::to_string),
            overrides: overrides.map(str::to_string),
        };
        self.quota.follow(self.seen.clone());
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut s = self.quota.state();
        s.total = s.total.saturating_sub(1);
        if let Some(n) = s.by_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                s.by_ip.remove(&self.ip);
            }
        }
        drop(s);
        self.quota.freed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn written(max: &str, per_ip: &str, overrides: &str) -> Written {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
        Written {
            max: some(max),
            per_ip: some(per_ip),
            overrides: some(overrides),
        }
    }

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn an_address_at_its_limit_is_refused_until_one_of_its_connections_closes() {
        let q = ConnQuota::new(written("", "2", "10.0.0.2:3")).unwrap();
        let a1 = q.admit(A).unwrap();
        let _a2 = q.admit(A).unwrap();
        assert_eq!(q.admit(A).err(), Some(2));
        let b: Vec<_> = (0..3).map(|_| q.admit(B).unwrap()).collect();
        assert_eq!(q.admit(B).err(), Some(3));
        drop(a1);
        assert!(q.admit(A).is_ok());
        // _a2 and the three of B (the slot admitted above was dropped at once).
        assert_eq!(q.open(), 1 + b.len());
    }

    #[test]
    fn malformed_values_are_named() {
        for (w, needle) in [
            (written("-1", "", ""), "max.connections:"),
            (written("", "x", ""), "max.connections.per.ip:"),
            (written("", "", "10.0.0.1"), "not host:count"),
            (written("", "0", ""), "only when"),
        ] {
            let e = ConnQuota::new(w).err().unwrap();
            assert!(e.contains(needle), "{e}");
        }
    }

    #[tokio::test]
    async fn the_listener_waits_at_max_connections_and_goes_on_when_one_closes() {
        let q = ConnQuota::new(written("1", "", "")).unwrap();
        let one = q.admit(A).unwrap();
        let waiting = tokio::time::timeout(Duration::from_millis(50), q.wait_for_slot(false));
        assert!(waiting.await.is_err(), "a second connection was let in");
        // The inter-broker listener is not held back.
        q.wait_for_slot(true).await;
        let q2 = q.clone();
        let waiter = tokio::spawn(async move { q2.wait_for_slot(false).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(one);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("the listener still waits after a connection closed")
            .unwrap();
    }

    #[tokio::test]
    async fn dynamic_values_override_the_static_ones_and_raising_the_limit_frees_the_listener() {
        let q = ConnQuota::new(written("1", "5", "")).unwrap();
        let _one = q.admit(A).unwrap();
        let q2 = q.clone();
        let waiter = tokio::spawn(async move { q2.wait_for_slot(false).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        q.follow(written("2", "", ""));
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("raising max.connections did not free the listener")
            .unwrap();
        // A per-IP limit set dynamically; the static max.connections
        // returns when the dynamic one is deleted.
        q.follow(written("", "1", ""));
        assert_eq!(q.admit(A).err(), Some(1));
        q.follow(Written::default());
        assert!(q.admit(A).is_ok());
        // A malformed dynamic value leaves the limits alone.
        q.follow(written("", "nope", ""));
        let _more: Vec<_> = (0..4).map(|_| q.admit(A).unwrap()).collect();
        assert_eq!(q.admit(A).err(), Some(5));
    }
}
