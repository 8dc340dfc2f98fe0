//! Carrying out the broker's side of the owner loop: an [`Input`] handed
//! to the core ([`apply`]), and an [`Output`] sent on to a client
//! connection or to the cluster's membership loop ([`send`]).

use super::*;

/// What [`apply`] works with besides the broker.
pub(super) struct Ctx<'a> {
    /// The connections' writers.
    pub conns: &'a mut HashMap<ConnId, ConnTx>,
    /// `--inspect`'s tap.
    pub tap: Option<&'a inspect::Tap>,
    /// `--metrics` request times and the request log.
    pub meter: Option<&'a mut metrics::Meter>,
    /// The broker's time.
    pub clock: &'a crate::clock::Clock,
}

/// Applies one input; true for a shutdown.
pub(super) fn apply<S: Storage>(broker: &mut Broker<S>, ctx: &mut Ctx<'_>, input: Input) -> bool {
    let (conns, tap) = (&mut *ctx.conns, ctx.tap);
    let now = ctx.clock.now();
    match input {
        Input::Connect(id, peer, out) => {
            info!(conn = id, peer = %peer.addr, "connection opened");
            if let Some(t) = tap {
                t.open(id, &peer.addr, now);
            }
            conns.insert(id, out);
            if let Some(m) = ctx.meter.as_deref_mut() {
                m.opened(id, &peer.addr);
            }
            broker.handle_connect(id, peer, now);
        }
        // The permit is dropped once the frame has been handled.
        Input::Frame(id, frame, _permit) => {
            debug!(
                conn = id,
                bytes = frame.len(),
                key = frame.get(..2).map(|k| i16::from_be_bytes([k[0], k[1]])),
                version = frame.get(2..4).map(|v| i16::from_be_bytes([v[0], v[1]])),
                correlation = frame
                    .get(4..8)
                    .map(|c| i32::from_be_bytes([c[0], c[1], c[2], c[3]])),
                "request"
            );
            if let Some(t) = tap {
                t.request(id, &frame, now);
            }
            if let Some(m) = ctx.meter.as_deref_mut() {
                m.arrived(id, std::time::Instant::now(), &frame);
            }
            broker.handle_request(id, frame, now);
        }
        Input::Disconnect(id) => {
            info!(conn = id, "connection closed by peer");
            if let Some(t) = tap {
                t.close(id, "closed by the client", now);
            }
            conns.remove(&id);
            if let Some(m) = ctx.meter.as_deref_mut() {
                m.closed(id);
            }
            broker.handle_disconnect(id, now);
        }
        Input::Cluster(News::Registered(epoch)) => {
            info!(broker_epoch = epoch.0, "the broker learns its broker epoch");
            broker.handle_registered(epoch.0, now);
        }
        Input::Cluster(News::TopicConfigs { topic, configs }) => {
            debug!(topic, ?configs, "topic configs from the cluster");
            broker.handle_topic_configs(&topic, configs, now);
        }
        Input::Cluster(News::BrokerConfigs {
            broker: id,
            configs,
        }) => {
            debug!(broker = ?id, ?configs, "dynamic broker configs from the cluster");
            broker.handle_broker_configs(id, configs, now);
        }
        Input::Cluster(News::IsrWritten {
            tp,
            leader_epoch,
            outcome,
        }) => {
            broker.handle_isr_written(&tp, leader_epoch, outcome, now);
        }
        Input::Cluster(News::Security(news)) => {
            use crate::cluster::security::SecurityNews;
            match news {
                SecurityNews::Acls(resource, acls) => {
                    debug!(?resource, n = acls.len(), "ACLs from the cluster");
                    broker.handle_resource_acls(&resource, acls);
                }
                SecurityNews::Scram(user, creds) => {
                    debug!(user, n = creds.len(), "SCRAM credentials from the cluster");
                    broker.handle_user_scram(&user, creds);
                }
                SecurityNews::Written(conn, results) => {
                    broker.handle_security_written(conn, results, now);
                }
            }
        }
        Input::Cluster(News::TopicsCreated { request, results }) => {
            broker.handle_topics_created(request, results, now);
        }
        Input::Cluster(News::ControllerAnswered { conn, answer }) => {
            broker.handle_controller_answer(conn, answer, now);
        }
        Input::ReplicaResponse(leader, frame) => {
            broker.handle_replica_response(leader, frame, now);
        }
        Input::ReplicaFailure(leader) => broker.handle_replica_failure(leader, now),
        Input::MarkersResponse(to, frame) => broker.handle_markers_response(to, frame, now),
        Input::MarkersFailure(to) => broker.handle_markers_failure(to, now),
        Input::Scrape(reply) => {
            // Requests finished earlier in this pass are timed first, so
            // that every request counted is also in the histograms (their
            // time then ends here, not when the group commit's fsync
            // lets their responses go).
            let text = match ctx.meter.as_deref_mut() {
                Some(m) => {
                    m.finished(
                        super::metrics::Meter::take(broker),
                        std::time::Instant::now(),
                    );
                    m.render(broker)
                }
                None => String::new(),
            };
            let _ = reply.send(text);
        }
        Input::Shutdown => return true,
        // The owner loop takes these itself.
        Input::Control(_) => {}
    }
    false
}

/// Topics to create through ZooKeeper, asked of a broker that has no
/// session (the core asks only in ZooKeeper mode, which always has one):
/// they fail at once rather than keep their request waiting.
pub(super) fn not_in_a_cluster<S: Storage>(
    broker: &mut Broker<S>,
    request: u64,
    topics: Vec<spate_core::broker::NewTopic>,
    now: i64,
) {
    let names: Vec<String> = topics.into_iter().map(|t| t.name).collect();
    error!(request, topics = ?names, "topics to create, but no ZooKeeper session");
    let results = names
        .into_iter()
        .map(|n| (n, Err(ErrorCode::UNKNOWN_SERVER_ERROR)))
        .collect();
    broker.handle_topics_created(request, results, now);
}

pub(super) fn send(
    conns: &mut HashMap<ConnId, ConnTx>,
    out: Output,
    cluster: Option<&mpsc::UnboundedSender<cluster::Command>>,
    (tap, clock): (Option<&inspect::Tap>, &crate::clock::Clock),
) {
    match out {
        Output::Response { conn, chunks } => {
            debug!(
                conn,
                bytes = chunks.iter().map(|c| c.len()).sum::<usize>(),
                // A frame starts with its length, then the correlation id.
                correlation = chunks
                    .first()
                    .and_then(|c| c.get(4..8))
                    .map(|c| { i32::from_be_bytes([c[0], c[1], c[2], c[3]]) }),
                "response"
            );
            if let Some(t) = tap {
                t.response(conn, &chunks, clock.now());
            }
            if let Some(tx) = conns.get(&conn) {
                tx.frame(conn, chunks);
            }
        }
        Output::WriteIsr {
            tp,
            leader,
            leader_epoch,
            isr,
            controller_epoch,
            version,
        } => {
            let state = LeaderIsr {
                leader,
                leader_epoch,
                isr,
                controller_epoch,
            };
            debug!(partition = %tp, isr = ?state.isr, version, "asking to write an ISR change");
            // Only a broker in a cluster leads with followers.
            if let Some(c) = cluster {
                let _ = c.send(cluster::Command::WriteIsr { tp, state, version });
            }
        }
        Output::CreateTopics { request, topics } => {
            let names: Vec<&str> = topics.iter().map(|t| t.name.as_str()).collect();
            info!(request, topics = ?names, "creating topics in the cluster");
            // The owner loop kept these when there is no cluster.
            if let Some(c) = cluster {
                let _ = c.send(cluster::Command::CreateTopics { request, topics });
            }
        }
        Output::AskController { conn, ask } => {
            debug!(conn, ?ask, "asking the controller");
            // The core asks only in ZooKeeper mode, which always has a
            // session.
            if let Some(c) = cluster {
                let _ = c.send(cluster::Command::AskController { conn, ask });
            }
        }
        Output::CreatePartitions { request, topics } => {
            let names: Vec<&str> = topics.iter().map(|t| t.name.as_str()).collect();
            info!(request, topics = ?names, "adding partitions in the cluster");
            if let Some(c) = cluster {
                let _ = c.send(cluster::Command::CreatePartitions { request, topics });
            }
        }
        Output::WriteTopicConfigs { topic, configs } => {
            info!(topic = %topic, "changing the topic's configs in the cluster");
            if let Some(c) = cluster {
                let _ = c.send(cluster::Command::WriteTopicConfigs { topic, configs });
            }
        }
        Output::WriteBrokerConfigs { broker, configs } => {
            info!(?broker, "changing dynamic broker configs in the cluster");
            if let Some(c) = cluster {
                let _ = c.send(cluster::Command::WriteBrokerConfigs { broker, configs });
            }
        }
        Output::WriteSecurity { conn, write } => {
            info!(conn, "writing ACLs or SCRAM credentials to the cluster");
            if let Some(c) = cluster {
                let _ = c.send(cluster::Command::WriteSecurity { conn, write });
            }
        }
        Output::DeleteTopics { topics } => {
            info!(topics = ?topics, "marking topics for deletion in the cluster");
            if let Some(c) = cluster {
                let _ = c.send(cluster::Command::DeleteTopics { topics });
            }
        }
        Output::Close { conn, reason } => {
            info!(conn, reason = %reason, "closing connection");
            if let Some(t) = tap {
                t.close(conn, &reason, clock.now());
            }
            if let Some(tx) = conns.remove(&conn) {
                tx.close();
            }
        }
        // The owner loop hands these to its replica connections.
        Output::Replica { leader, .. } | Output::TxnMarkers { broker: leader, .. } => {
            warn!(
                leader,
                "an inter-broker request reached the client connections"
            )
        }
    }
}
