//! The broker's part in sending transaction markers (ZooKeeper mode), as
//! Kafka 2.x's `TransactionMarkerChannelManager`: the coordinator
//! ([`crate::coordinator::txn::remote`]) says which markers are due; this
//! looks up each partition's leader, writes the marker itself when that
//! is this broker, and sends the rest as one WriteTxnMarkers request per
//! leader ([`Output::TxnMarkers`]). Each partition's answer settles it:
//! NONE (or a stale marker, or a topic gone) is done, anything else
//! (NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS, REQUEST_TIMED_OUT...) is
//! sent again after a backoff to whichever broker leads it then; a lost
//! request sends all it carried again. A marker written here counts as
//! the leader's answer would: once every ISR replica has it (the
//! coordinator looks again whenever the broker handles something, as a
//! follower's fetch moves the high watermark), its failures retried the
//! same way. When a transaction's markers are all written and replicated
//! its completion is written to `__transaction_state`.

use crate::collections::Map;
use bytes::Bytes;
use bytestring::ByteString;

use super::timer::TimerKind;
use super::{Broker, Now, Output};
use crate::api::txn::{carry_out, marker_of, write_marker_acks_all, TxnParts};
use crate::coordinator::txn::remote::{Outcome, Part, Sent};
use crate::coordinator::txn::{Markers, Plan, Step};
use crate::protocol::header::{decode_response_of, encode_request_of};
use crate::protocol::messages::request_header::RequestHeader;
use crate::protocol::messages::write_txn_markers_request::{
    WritableTxnMarker, WritableTxnMarkerTopic, WriteTxnMarkersRequest,
};
use crate::protocol::messages::write_txn_markers_response::WriteTxnMarkersResponse;
use crate::protocol::{ApiKey, ErrorCode};
use crate::state::leadership::Lead;
use crate::storage::{Storage, TopicPartition};

/// The WriteTxnMarkers version sent (flexible).
const VERSION: i16 = 1;

/// Whether a partition's answer ends its marker: written, or not to be
/// written (a stale marker, as the local write skips it).
fn outcome(code: ErrorCode) -> Outcome {
    match code {
        ErrorCode::NONE
        | ErrorCode::INVALID_PRODUCER_EPOCH
        | ErrorCode::TRANSACTION_COORDINATOR_FENCED => Outcome::Done,
        _ => Outcome::Retry,
    }
}

impl<S: Storage> Broker<S> {
    /// The response to the oldest [`Output::TxnMarkers`] request in flight
    /// to `broker` (its size prefix removed): each partition's marker is
    /// done or sent again later; transactions whose markers are all
    /// written complete.
    pub fn handle_markers_response(&mut self, broker: i32, frame: Bytes, now: Now) {
        let Some(sent) = self.txns.markers_answered(broker) else {
            return;
        };
        let mut codes: Map<(i64, ByteString, i32), i16> = Map::new();
        // By its own type: `decode_response` would link every response's decoder.
        match decode_response_of::<WriteTxnMarkersResponse>(
            &frame,
            ApiKey::WriteTxnMarkers,
            VERSION,
        ) {
            Ok((head, r)) if head.correlation_id == sent.correlation_id => {
                for m in r.markers {
                    for t in m.topics {
                        for p in t.partitions {
                            let key = (m.producer_id, t.name.clone(), p.partition_index);
                            codes.insert(key, p.error_code);
                        }
                    }
                }
            }
            // An answer that makes no sense counts as lost.
            _ => {}
        }
        for (id, pid, parts) in &sent.txns {
            for part in parts {
                let code = codes.get(&(*pid, part.0.clone(), part.1));
                let o = code.map_or(Outcome::Retry, |c| outcome(ErrorCode(*c)));
                self.txns.settle(id, part, o, now);
            }
        }
        self.set_txn_timer(now);
    }

    /// The oldest [`Output::TxnMarkers`] request to `broker` is lost
    /// (connection refused, dropped or timed out): its markers are sent
    /// again after a backoff.
    pub fn handle_markers_failure(&mut self, broker: i32, now: Now) {
        if let Some(sent) = self.txns.markers_answered(broker) {
            for (id, _, parts) in &sent.txns {
                for part in parts {
                    self.txns.settle(id, part, Outcome::Retry, now);
                }
            }
        }
        self.set_txn_timer(now);
    }

    /// Sends (or writes) the markers due, completes the transactions
    /// whose markers are all written and replicated, then sets the
    /// transaction timer to the coordinator's earliest deadline.
    pub(super) fn set_txn_timer(&mut self, now: Now) {
        self.send_markers(now);
        match self.txns.next_deadline() {
            Some(at) => self.timers.set(at, TimerKind::Transactions),
            None => self.timers.cancel(TimerKind::Transactions),
        }
    }

    fn send_markers(&mut self, now: Now) {
        let mut by_leader: Map<i32, Vec<(Markers, Vec<Part>)>> = Map::new();
        let mut appended = Vec::new();
        let (cluster, storage) = (&self.cluster, &self.storage);
        let acks = |tp: &TopicPartition, end: i64| cluster.acks_all(storage, tp, end);
        for (m, parts) in self.txns.due_markers(now, acks) {
            let id = m.transactional_id.clone();
            for part in parts {
                let tp = TopicPartition::new(&*part.0, part.1);
                let o = match self.cluster.lead(&tp.topic, tp.partition) {
                    // Led here now: written here, done once replicated.
                    Lead::Here(_) => {
                        let marker = marker_of(&self.cluster, &self.txns, &m);
                        let r = write_marker_acks_all(
                            &mut self.storage,
                            &self.cluster,
                            &mut self.producers,
                            &mut self.groups,
                            &tp,
                            &marker,
                            now,
                        );
                        match r {
                            Ok(end) => {
                                let acked = self.cluster.acks_all(&self.storage, &tp, end);
                                appended.push(tp);
                                match acked {
                                    None => Outcome::Replicating(end),
                                    Some(code) => outcome(code),
                                }
                            }
                            Err(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION) => Outcome::Done,
                            Err(code) => outcome(code),
                        }
                    }
                    Lead::Elsewhere { leader, .. } if self.endpoint(leader).is_some() => {
                        let list = by_leader.entry(leader).or_default();
                        match list.iter_mut().find(|(x, _)| x.transactional_id == id) {
                            Some((_, ps)) => ps.push(part),
                            None => list.push((m.clone(), vec![part])),
                        }
                        continue;
                    }
                    // A topic gone is done, as Kafka's channel drops it.
                    _ if self.cluster.topic(&tp.topic).is_none() => Outcome::Done,
                    // No live leader yet: later.
                    _ => Outcome::Retry,
                };
                self.txns.settle(&id, &part, o, now);
            }
        }
        for (leader, txns) in by_leader {
            self.send_to(leader, txns, now);
        }
        for then in self.txns.completed() {
            let mut p = TxnParts {
                storage: &mut self.storage,
                cluster: &self.cluster,
                producers: &mut self.producers,
                groups: &mut self.groups,
                txns: &mut self.txns,
            };
            let plan = Plan {
                reply: (),
                steps: vec![Step::Write(then)],
            };
            // A failed write leaves the transaction prepared: the
            // coordinator's deadline tries it again.
            let _ = carry_out(&mut p, plan, now, &mut appended);
        }
        self.wake(&appended, now);
    }

    /// The live broker `id`'s endpoint: UpdateMetadata's, else
    /// LeaderAndIsr's.
    fn endpoint(&self, id: i32) -> Option<(String, i32)> {
        match self.members.broker(id) {
            Some(b) => Some((b.host.to_string(), b.port)),
            None => self.cluster.leadership.leader_endpoint(id),
        }
    }

    /// One WriteTxnMarkers request to `leader` with these transactions'
    /// markers.
    fn send_to(&mut self, leader: i32, txns: Vec<(Markers, Vec<Part>)>, now: Now) {
        let correlation_id = self.txns.next_marker_correlation();
        let markers = txns
            .iter()
            .map(|(m, parts)| {
                let marker = marker_of(&self.cluster, &self.txns, m);
                let mut by_topic: Map<ByteString, Vec<i32>> = Map::new();
                for (t, p) in parts {
                    by_topic.entry(t.clone()).or_default().push(*p);
                }
                WritableTxnMarker {
                    producer_id: marker.producer_id,
                    producer_epoch: marker.producer_epoch,
                    transaction_result: marker.commit,
                    coordinator_epoch: marker.coordinator_epoch,
                    topics: by_topic
                        .into_iter()
                        .map(|(name, ps)| WritableTxnMarkerTopic {
                            name,
                            partition_indexes: ps.into(),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                }
            })
            .collect();
        let head = RequestHeader {
            request_api_key: ApiKey::WriteTxnMarkers as i16,
            request_api_version: VERSION,
            correlation_id,
            client_id: Some(format!("broker-{}-txn-markers", self.config.node_id).into()),
            ..Default::default()
        };
        let body = WriteTxnMarkersRequest {
            markers,
            ..Default::default()
        };
        let sent = Sent {
            correlation_id,
            txns: txns
                .into_iter()
                .map(|(m, parts)| (m.transactional_id, m.producer_id, parts))
                .collect(),
        };
        let (Ok(frame), Some((host, port))) = (
            encode_request_of(ApiKey::WriteTxnMarkers, &head, &body),
            self.endpoint(leader),
        ) else {
            // Cannot happen but for a bug: the markers are tried again.
            for (id, _, parts) in &sent.txns {
                for part in parts {
                    self.txns.settle(id, part, Outcome::Retry, now);
                }
            }
            return;
        };
        self.txns.markers_sent(leader, sent);
        self.outputs.push_back(Output::TxnMarkers {
            broker: leader,
            host,
            port,
            frame,
        });
    }
}
