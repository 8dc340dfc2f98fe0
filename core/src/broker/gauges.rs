//! What a metrics endpoint reads besides the counters: gauges computed
//! from the broker's state when asked (getters: they change nothing).

use super::conn::InFlight;
use super::Broker;
use crate::api::Parked;
use crate::state::Metrics;
use crate::storage::{Storage, TopicPartition};

/// One partition's log, as a metrics endpoint shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogGauge {
    /// Its topic.
    pub topic: String,
    /// Its partition.
    pub partition: i32,
    /// Bytes on disk (Kafka's `Log.Size`).
    pub size: u64,
    /// Its high watermark: where consumers' lag is measured from.
    pub high_watermark: i64,
}

/// Requests parked, by what they wait for (Kafka's purgatories).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purgatory {
    /// acks=all produces waiting for the high watermark.
    pub produce: usize,
    /// Fetches waiting for data or their deadline.
    pub fetch: usize,
}

impl<S: Storage> Broker<S> {
    /// The counters produces, fetches and requests add to.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The counters, mutably: to turn request timing on and drain the
    /// requests finished ([`Metrics::set_timing`],
    /// [`Metrics::drain_completed`]).
    pub fn metrics_mut(&mut self) -> &mut Metrics {
        &mut self.metrics
    }

    /// Every partition of every topic this broker has a log of, with its
    /// size and high watermark.
    pub fn log_gauges(&self) -> Vec<LogGauge> {
        let mut logs: Vec<LogGauge> = self
            .cluster
            .topics
            .values()
            .flat_map(|t| (0..t.partitions.len() as i32).map(|p| (t.name.as_str(), p)))
            .map(|(topic, partition)| {
                let tp = TopicPartition::new(topic, partition);
                LogGauge {
                    size: self.storage.size(&tp),
                    high_watermark: self.cluster.high_watermark(&self.storage, &tp),
                    topic: topic.to_string(),
                    partition,
                }
            })
            .collect();
        logs.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
        logs
    }

    /// Open connections by listener name, in name order.
    pub fn connections_by_listener(&self) -> Vec<(String, usize)> {
        let mut by: crate::collections::Map<&str, usize> = Default::default();
        for l in &self.config.advertised_listeners {
            by.entry(l.listener.as_str()).or_default();
        }
        for c in self.conns.values() {
            let name = match c.peer.listener.as_str() {
                "" => self.config.listener_name.as_str(),
                n => n,
            };
            *by.entry(name).or_default() += 1;
        }
        by.into_iter().map(|(l, n)| (l.to_string(), n)).collect()
    }

    /// Requests parked now, by kind.
    pub fn purgatory(&self) -> Purgatory {
        let mut p = Purgatory::default();
        for c in self.conns.values() {
            match &c.in_flight {
                Some(InFlight::Parked(Parked::Produce(_))) => p.produce += 1,
                Some(InFlight::Parked(Parked::Fetch(_))) => p.fetch += 1,
                _ => {}
            }
        }
        p
    }

    /// Partitions led here with fewer replicas in sync than assigned.
    pub fn under_replicated_partitions(&self) -> usize {
        self.cluster.leadership.under_replicated()
    }

    /// Whether this broker is the cluster's controller (alone, it is its
    /// own).
    pub fn is_controller(&self) -> bool {
        self.members.controller_id() == self.config.node_id
    }

    /// Partitions without a live leader, as the controller counts them:
    /// 0 on any other broker (Kafka reports it on the active controller).
    pub fn offline_partitions(&self) -> usize {
        if !self.is_controller() {
            return 0;
        }
        self.cluster
            .leadership
            .offline(|id| self.members.is_live(id))
    }
}
