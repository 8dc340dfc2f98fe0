//! `--metrics HOST:PORT` (`metrics.listener`): the broker's metrics over
//! HTTP, `GET /metrics` in Prometheus's text format (0.0.4).
//!
//! The series are named as the Prometheus JMX exporter names Kafka's
//! MBeans with its usual Kafka rules (lower-cased, `_total` for meters'
//! counts), so dashboards and alerts made for Kafka read them:
//!
//! | series | labels | from |
//! |---|---|---|
//! | `kafka_server_brokertopicmetrics_messagesin_total`, `_bytesin_total`, `_bytesout_total` | `topic` (none: all topics) | the core's counters |
//! | `kafka_network_requestmetrics_requests_total` | `request`, `version` | the core's counters |
//! | `kafka_network_requestmetrics_totaltimems` (histogram, ms) | `request` | timed here |
//! | `kafka_server_replicamanager_underreplicatedpartitions` | | state |
//! | `kafka_controller_kafkacontroller_activecontrollercount`, `_offlinepartitionscount` | | state |
//! | `kafka_log_log_size` | `topic`, `partition` | storage |
//! | `kafka_server_socket_server_metrics_connection_count` | `listener` | connections |
//! | `kafka_server_delayedoperationpurgatory_purgatorysize` | `delayedOperation` (`Produce`, `Fetch`) | parked requests |
//! | `kafka_coordinator_group_groupmetadatamanager_numgroups`, `_numgroups<state>` | | groups |
//! | `kafka_consumergroup_group_lag`, `_offset` (kafka-lag-exporter's) | `group`, `topic`, `partition` | high watermark minus committed offset |
//!
//! Request names are Kafka's: the API's name, with Fetch split into
//! `FetchConsumer` and `FetchFollower`. The JMX exporter turns Kafka's
//! request-time histograms into quantile summaries; here
//! `kafka_network_requestmetrics_totaltimems` is a real histogram, so its
//! `_count` and `_sum` are the same series and quantiles come from
//! `histogram_quantile`.
//!
//! The owner task answers a scrape ([`Meter::render`]) between inputs: the
//! HTTP handler asks over the owner's channel and waits for the text, so
//! nothing is shared or locked. A request is timed from the moment its
//! frame reaches the owner until its response is handed to its
//! connection's writer (after the group commit's fsync).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Instant;

use anyhow::{Context as _, Result};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use spate_core::broker::{Broker, Completed, ConnId};
use spate_core::storage::Storage;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tracing::warn;

use super::reqlog::{self, Arrival};
use super::Input;

/// Upper bounds of the request-time buckets, in milliseconds.
const BUCKETS_MS: [f64; 16] = [
    0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0,
    10000.0, 30000.0,
];

/// One request's times.
#[derive(Debug, Default, Clone)]
struct Histogram {
    /// Not cumulative: `counts[i]` is the requests in bucket `i` alone,
    /// the last being above every bound.
    counts: [u64; BUCKETS_MS.len() + 1],
    sum_ms: f64,
}

impl Histogram {
    fn observe(&mut self, ms: f64) {
        let i = BUCKETS_MS.partition_point(|b| *b < ms);
        self.counts[i] += 1;
        self.sum_ms += ms;
    }
}

/// The driver's part of the metrics: when each request arrived, and the
/// request-time histograms; and the request log ([`reqlog`]), which pairs
/// the same arrivals with the same completions.
#[derive(Debug, Default)]
pub(crate) struct Meter {
    /// Each request not yet finished, per connection, oldest first (one
    /// connection's requests finish in the order they came).
    arrived: HashMap<ConnId, VecDeque<Arrival>>,
    /// `--metrics`: the histograms are kept.
    timed: bool,
    times: BTreeMap<&'static str, Histogram>,
    /// The request log is on: each connection's peer address.
    log: Option<HashMap<ConnId, String>>,
}

impl Meter {
    /// `timed`: `--metrics` request times; `log`: the request log.
    pub(crate) fn new(timed: bool, log: bool) -> Meter {
        Meter {
            timed,
            log: log.then(HashMap::new),
            ..Meter::default()
        }
    }

    /// `conn` opened, from `peer`.
    pub(crate) fn opened(&mut self, conn: ConnId, peer: &str) {
        if let Some(peers) = &mut self.log {
            peers.insert(conn, peer.to_owned());
        }
    }

    /// A frame (its size prefix removed) arrived on `conn`.
    pub(crate) fn arrived(&mut self, conn: ConnId, at: Instant, frame: &[u8]) {
        let client_id = self.log.as_ref().and_then(|_| reqlog::client_id(frame));
        self.arrived.entry(conn).or_default().push_back(Arrival {
            at,
            client_id,
            bytes: frame.len() + 4,
        });
    }

    /// `conn` is gone, and what it still waited for with it.
    pub(crate) fn closed(&mut self, conn: ConnId) {
        self.arrived.remove(&conn);
        if let Some(peers) = &mut self.log {
            peers.remove(&conn);
        }
    }

    /// The requests the broker finished since the last call, to be timed
    /// by [`Meter::finished`] when their responses leave (after the
    /// group commit's fsync).
    pub(crate) fn take<S: Storage>(broker: &mut Broker<S>) -> Vec<Completed> {
        broker.metrics_mut().drain_completed().collect()
    }

    /// Times (and logs) finished requests ([`Meter::take`]), as of `now`.
    pub(crate) fn finished(&mut self, done: Vec<Completed>, now: Instant) {
        for c in done {
            let Some(a) = self.arrived.get_mut(&c.conn).and_then(VecDeque::pop_front) else {
                continue;
            };
            if self.timed {
                let ms = now.saturating_duration_since(a.at).as_secs_f64() * 1000.0;
                self.times.entry(c.name).or_default().observe(ms);
            }
            if let Some(peers) = &self.log {
                reqlog::log(&c, &a, peers.get(&c.conn).map(String::as_str), now);
            }
        }
    }

    /// The whole scrape, in Prometheus's text format.
    pub(crate) fn render<S: Storage>(&self, broker: &Broker<S>) -> String {
        let mut out = String::with_capacity(8 << 10);
        let w = &mut out;
        let topics: std::collections::BTreeSet<String> = broker.topic_names().into_iter().collect();
        let m = broker.metrics();
        let all = m.all_topics();
        for (series, help, get) in [
            (
                "kafka_server_brokertopicmetrics_messagesin_total",
                "Records appended by produce requests.",
                (|c| c.messages_in) as fn(&spate_core::broker::TopicCounts) -> u64,
            ),
            (
                "kafka_server_brokertopicmetrics_bytesin_total",
                "Bytes of record batches appended by produce requests.",
                |c| c.bytes_in,
            ),
            (
                "kafka_server_brokertopicmetrics_bytesout_total",
                "Bytes of records returned to consumers' fetches.",
                |c| c.bytes_out,
            ),
        ] {
            family(w, series, help, "counter");
            sample(w, series, &[], get(&all));
            for (t, c) in m.topics().filter(|(t, _)| topics.contains(*t)) {
                sample(w, series, &[("topic", t)], get(c));
            }
        }
        let series = "kafka_network_requestmetrics_requests_total";
        family(
            w,
            series,
            "Requests completed, by API and version.",
            "counter",
        );
        for (name, version, n) in m.requests() {
            let v = version.to_string();
            sample(w, series, &[("request", name), ("version", &v)], n);
        }
        let series = "kafka_network_requestmetrics_totaltimems";
        family(
            w,
            series,
            "Milliseconds from a request's arrival to its response, by API.",
            "histogram",
        );
        for (name, h) in &self.times {
            let mut cumulative = 0;
            for (i, n) in h.counts.iter().enumerate() {
                cumulative += n;
                let le = BUCKETS_MS
                    .get(i)
                    .map_or("+Inf".to_string(), |b| format!("{b}"));
                let labels = [("request", *name), ("le", le.as_str())];
                sample(w, &format!("{series}_bucket"), &labels, cumulative);
            }
            sample_f(w, &format!("{series}_sum"), &[("request", name)], h.sum_ms);
            sample(
                w,
                &format!("{series}_count"),
                &[("request", name)],
                cumulative,
            );
        }
        gauge(
            w,
            "kafka_server_replicamanager_underreplicatedpartitions",
            "Partitions led here whose ISR is smaller than their replicas.",
            broker.under_replicated_partitions() as u64,
        );
        gauge(
            w,
            "kafka_controller_kafkacontroller_activecontrollercount",
            "1 on the cluster's controller (a broker alone is its own).",
            u64::from(broker.is_controller()),
        );
        gauge(
            w,
            "kafka_controller_kafkacontroller_offlinepartitionscount",
            "Partitions without a live leader (on the controller).",
            broker.offline_partitions() as u64,
        );
        let logs = broker.log_gauges();
        let series = "kafka_log_log_size";
        family(w, series, "Bytes of a partition's log.", "gauge");
        for l in &logs {
            let p = l.partition.to_string();
            sample(w, series, &[("topic", &l.topic), ("partition", &p)], l.size);
        }
        let series = "kafka_server_socket_server_metrics_connection_count";
        family(w, series, "Open client connections, by listener.", "gauge");
        for (listener, n) in broker.connections_by_listener() {
            sample(w, series, &[("listener", &listener)], n as u64);
        }
        let series = "kafka_server_delayedoperationpurgatory_purgatorysize";
        family(
            w,
            series,
            "Requests parked, by what they wait for.",
            "gauge",
        );
        let parked = broker.purgatory();
        sample(
            w,
            series,
            &[("delayedOperation", "Produce")],
            parked.produce as u64,
        );
        sample(
            w,
            series,
            &[("delayedOperation", "Fetch")],
            parked.fetch as u64,
        );
        self.render_groups(w, broker, &logs);
        out
    }

    fn render_groups<S: Storage>(
        &self,
        w: &mut String,
        broker: &Broker<S>,
        logs: &[spate_core::broker::LogGauge],
    ) {
        let groups = broker.groups();
        let prefix = "kafka_coordinator_group_groupmetadatamanager_numgroups";
        gauge(
            w,
            prefix,
            "Groups this coordinator holds.",
            groups.len() as u64,
        );
        let mut by_state: BTreeMap<String, u64> = [
            "Stable",
            "PreparingRebalance",
            "CompletingRebalance",
            "Empty",
            "Dead",
        ]
        .into_iter()
        .map(|s| (s.to_lowercase(), 0))
        .collect();
        for g in &groups {
            *by_state.entry(g.state.to_lowercase()).or_default() += 1;
        }
        for (state, n) in by_state {
            let help = format!("Groups in state {state}.");
            gauge(w, &format!("{prefix}{state}"), &help, n);
        }
        let hw: HashMap<(&str, i32), i64> = logs
            .iter()
            .map(|l| ((l.topic.as_str(), l.partition), l.high_watermark))
            .collect();
        let lag = "kafka_consumergroup_group_lag";
        let offset = "kafka_consumergroup_group_offset";
        let mut lags = String::new();
        family(
            &mut lags,
            lag,
            "A group's lag on a partition: its high watermark minus the committed offset.",
            "gauge",
        );
        family(
            w,
            offset,
            "A group's committed offset on a partition.",
            "gauge",
        );
        for g in &groups {
            for (topic, partition, committed) in &g.offsets {
                let p = partition.to_string();
                let labels = [
                    ("group", g.id.as_str()),
                    ("topic", topic),
                    ("partition", &p),
                ];
                sample_i(w, offset, &labels, *committed);
                if let Some(end) = hw.get(&(topic.as_str(), *partition)) {
                    sample_i(&mut lags, lag, &labels, (end - committed).max(0));
                }
            }
        }
        w.push_str(&lags);
    }
}

fn family(w: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(w, "# HELP {name} {help}");
    let _ = writeln!(w, "# TYPE {name} {kind}");
}

fn gauge(w: &mut String, name: &str, help: &str, v: u64) {
    family(w, name, help, "gauge");
    sample(w, name, &[], v);
}

fn labels(w: &mut String, name: &str, labels: &[(&str, &str)]) {
    w.push_str(name);
    if labels.is_empty() {
        return;
    }
    w.push('{');
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            w.push(',');
        }
        w.push_str(k);
        w.push_str("=\"");
        // The text format escapes backslash, double quote and newline in
        // label values.
        for ch in v.chars() {
            match ch {
                '\\' => w.push_str("\\\\"),
                '"' => w.push_str("\\\""),
                '\n' => w.push_str("\\n"),
                c => w.push(c),
            }
        }
        w.push('"');
    }
    w.push('}');
}

fn sample(w: &mut String, name: &str, l: &[(&str, &str)], v: u64) {
    labels(w, name, l);
    let _ = writeln!(w, " {v}");
}

fn sample_i(w: &mut String, name: &str, l: &[(&str, &str)], v: i64) {
    labels(w, name, l);
    let _ = writeln!(w, " {v}");
}

fn sample_f(w: &mut String, name: &str, l: &[(&str, &str)], v: f64) {
    labels(w, name, l);
    let _ = writeln!(w, " {v}");
}

/// Binds `addr` and serves `GET /metrics` in a task of its own, asking
/// the owner (through `owner`) for each scrape, until `stop` turns true
/// (the broker stopping, so an embedded broker's `close()` frees the
/// port too). Returns the bound address.
pub(crate) async fn start(
    addr: &str,
    owner: mpsc::WeakUnboundedSender<Input>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<SocketAddr> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("metrics: listening on {addr}"))?;
    let local = listener.local_addr()?;
    let app = Router::new()
        .route("/metrics", get(scrape))
        .with_state(owner);
    tokio::spawn(async move {
        let stopped = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(stopped)
            .await
        {
            warn!(error = %e, "metrics: the server stopped");
        }
    });
    Ok(local)
}

async fn scrape(State(owner): State<mpsc::WeakUnboundedSender<Input>>) -> Response {
    let (tx, rx) = oneshot::channel();
    let asked = owner
        .upgrade()
        .is_some_and(|o| o.send(Input::Scrape(tx)).is_ok());
    match (asked, rx.await) {
        (true, Ok(text)) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "the broker is stopping\n").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_take_what_is_at_most_their_bound() {
        let mut h = Histogram::default();
        for ms in [0.1, 0.25, 0.3, 30000.0, 40000.0] {
            h.observe(ms);
        }
        assert_eq!(h.counts[0], 2);
        assert_eq!(h.counts[1], 1);
        assert_eq!(h.counts[BUCKETS_MS.len() - 1], 1);
        assert_eq!(h.counts[BUCKETS_MS.len()], 1);
    }

    #[test]
    fn label_values_are_escaped() {
        let mut w = String::new();
        sample(&mut w, "x", &[("a", "q\"b\\n\nz")], 1);
        assert_eq!(w, "x{a=\"q\\\"b\\\\n\\nz\"} 1\n");
    }
}
