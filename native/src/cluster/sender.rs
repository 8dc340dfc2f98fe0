//! The controller's channels on the network: one tokio task per live
//! broker, as Kafka's `RequestSendThread`, carrying out the [`Step`]s of
//! [`super::channel`].
//!
//! Each task owns one connection to its broker and a queue. It sends the
//! queued requests one at a time, in order, each after the answer to the
//! one before. A request that cannot be sent (no connection, a dropped
//! one, no answer within [`REQUEST_TIMEOUT`]) is sent again on a new
//! connection after a pause that doubles from [`BACKOFF`] up to
//! [`BACKOFF_MAX`], until it goes through or the task is stopped: the
//! broker left the live set, or this broker stopped being the controller.
//! Stopping aborts the task, so a resigning controller sends nothing more.
//! An answer with an error (STALE_CONTROLLER_EPOCH, STALE_BROKER_EPOCH:
//! the target knows a newer controller, or is a newer incarnation than
//! the one addressed) is logged and not sent again: the controller's next
//! update, or the next controller's, is the one that counts.
//!
//! The connection goes to the broker's endpoint on the inter-broker
//! listener with that listener's security (TLS, SASL:
//! [`crate::serve::outbound`]), and is asynchronous and small: ApiVersions first (v3, or v0
//! when refused), then UpdateMetadata at [`update_metadata_version`],
//! LeaderAndIsr at [`leader_and_isr_version`] (built in [`super::leader_and_isr`]) and StopReplica at v3
//! (Kafka 2.8's, with a leader epoch and a delete flag per partition) or
//! the broker's newest when older. A LeaderAndIsr answered with errors
//! for some partitions (a stale leader epoch: the target has heard of a
//! newer state already) is logged; the partitions it took are taken. A
//! StopReplica's answer is logged likewise and reported ([`Stopped`]: each
//! partition's error) to the membership loop, for the controller machine,
//! which waits for a deleted topic's replicas to answer before it removes
//! the topic's znodes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use bytes::Bytes;
use bytestring::ByteString;
use spate_core::coordinator::controller::PartitionView;
use spate_core::protocol::header::{decode_response, encode_request};
use spate_core::protocol::messages::api_versions_request::ApiVersionsRequest;
use spate_core::protocol::messages::request_header::RequestHeader;
use spate_core::protocol::messages::update_metadata_request::{
    UpdateMetadataBroker, UpdateMetadataEndpoint, UpdateMetadataPartitionState,
    UpdateMetadataRequest, UpdateMetadataTopicState,
};
use spate_core::protocol::{ApiKey, ErrorCode, RequestBody, ResponseBody};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, error, info, warn};

use super::channel::{Request, Step, Update};
use super::engine::{BrokerId, BrokerInfo, Registered};
use super::leader_and_isr::{leader_and_isr, leader_and_isr_version};
use super::requests::{by_topic, version_for};
use super::stop_replica::{answers, stop_replica, STOP_REPLICA_VERSION};
use crate::serve::outbound::{BrokerStream, InterBroker};
use spate_core::storage::TopicPartition;

/// A StopReplica answered by a broker, reported to the membership loop
/// for the controller machine (`handle_stop_replica_answered`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stopped {
    /// The broker that answered.
    pub broker: BrokerId,
    /// The controller term the request was sent in.
    pub controller_epoch: i32,
    /// Each partition answered for: its leader epoch in the request and
    /// its error.
    pub partitions: Vec<(TopicPartition, i32, ErrorCode)>,
}

/// A request that cannot be encoded at the version the broker serves:
/// sending it again cannot help, so it is dropped (and logged) rather than
/// retried, which would hold every later request to that broker behind
/// it for ever.
#[derive(Debug)]
struct Unsendable(String);

impl std::fmt::Display for Unsendable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unsendable {}

/// Encodes a request frame; a request that cannot be is [`Unsendable`].
fn encode(header: &RequestHeader, body: &RequestBody) -> anyhow::Result<Bytes> {
    encode_request(header, body).map_err(|e| {
        anyhow::Error::new(Unsendable(format!(
            "encoding {} v{}: {e}",
            body.api_key().name(),
            header.request_api_version
        )))
    })
}

/// The first pause before sending again (Kafka's `RequestSendThread`
/// pauses 100 ms each time).
pub(crate) const BACKOFF: Duration = Duration::from_millis(100);

/// The longest pause between two tries.
pub(crate) const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long an answer may take (Kafka's `controller.socket.timeout.ms`).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Largest answer accepted (the controller's requests get small answers:
/// a LeaderAndIsr's has an error code per partition; this bounds garbage).
const MAX_FRAME: usize = 16 << 20;

/// The UpdateMetadata version Kafka's ZooKeeper controller sent from
/// inter-broker protocol 2.8 on. (From 3.4 it sent v8, whose additions
/// only matter while migrating to KRaft.)
const UPDATE_METADATA_VERSION: i16 = 7;

/// The UpdateMetadata version to send a broker that serves `min..=max`
/// of it: [`UPDATE_METADATA_VERSION`], or the broker's newest when older.
pub(crate) fn update_metadata_version(served: Option<(i16, i16)>) -> anyhow::Result<i16> {
    version_for(ApiKey::UpdateMetadata, UPDATE_METADATA_VERSION, served)
}

/// The UpdateMetadata request for `update` at `version`. Every broker has
/// its endpoints as registered, by listener and security protocol (one
/// `PLAINTEXT` endpoint for a registration without them). v0's own host
/// and port fields carry its plaintext endpoint.
/// Partition states are grouped by topic from v5 on.
pub(crate) fn request(update: &Update, version: i16) -> UpdateMetadataRequest {
    let live_brokers = update
        .brokers
        .iter()
        .map(|b| {
            let host = ByteString::from(b.host.as_str());
            UpdateMetadataBroker {
                id: b.id,
                v0_host: host.clone(),
                v0_port: b.port,
                endpoints: if b.endpoints.is_empty() {
                    vec![UpdateMetadataEndpoint {
                        port: b.port,
                        host,
                        listener: ByteString::from_static("PLAINTEXT"),
                        security_protocol: 0,
                        ..Default::default()
                    }]
                } else {
                    (b.endpoints.iter())
                        .map(|e| UpdateMetadataEndpoint {
                            port: e.port,
                            host: ByteString::from(e.host.as_str()),
                            listener: ByteString::from(e.listener.as_str()),
                            security_protocol: e.protocol.id(),
                            ..Default::default()
                        })
                        .collect()
                },
                rack: b.rack.as_deref().map(ByteString::from),
                ..Default::default()
            }
        })
        .collect();
    let state = |p: &PartitionView| UpdateMetadataPartitionState {
        topic_name: ByteString::from(p.tp.topic.as_str()),
        partition_index: p.tp.partition,
        controller_epoch: p.state.controller_epoch,
        leader: p.state.leader,
        leader_epoch: p.state.leader_epoch,
        isr: p.state.isr.clone().into(),
        zk_version: p.version,
        replicas: p.replicas.clone().into(),
        offline_replicas: p.offline.clone().into(),
        ..Default::default()
    };
    let mut req = UpdateMetadataRequest {
        controller_id: update.controller_id,
        controller_epoch: update.controller_epoch,
        broker_epoch: update.broker_epoch.0,
        live_brokers,
        ..Default::default()
    };
    if version < 5 {
        req.ungrouped_partition_states = update.partitions.iter().map(state).collect();
    } else {
        req.topic_states = by_topic(&update.partitions)
            .into_iter()
            .map(|(first, ps)| UpdateMetadataTopicState {
                topic_name: ByteString::from(first.tp.topic.as_str()),
                topic_id: first.topic_id,
                partition_states: ps.into_iter().map(state).collect(),
                ..Default::default()
            })
            .collect();
    }
    req
}

/// The controller's channels: a task and a queue per live broker.
pub(crate) struct Senders {
    /// This broker, the controller.
    me: BrokerId,
    /// Where the channels report StopReplica answers.
    stopped: mpsc::UnboundedSender<Stopped>,
    /// The security of the channels' connections.
    security: Arc<InterBroker>,
    targets: HashMap<BrokerId, Target>,
}

struct Target {
    queue: mpsc::UnboundedSender<Request>,
    task: JoinHandle<()>,
}

impl Senders {
    /// No channels; StopReplica answers go to `stopped`; channels connect
    /// with `security`.
    pub(crate) fn new(
        me: BrokerId,
        stopped: mpsc::UnboundedSender<Stopped>,
        security: Arc<InterBroker>,
    ) -> Senders {
        Senders {
            me,
            stopped,
            security,
            targets: HashMap::new(),
        }
    }

    /// Carries out `steps` in order.
    pub(crate) fn apply(&mut self, steps: Vec<Step>) {
        let mut told = Vec::new();
        let mut assigned = Vec::new();
        let mut epoch = None;
        for step in steps {
            match step {
                Step::Open(r) => {
                    debug!(broker = r.info.id, "opening the controller's channel");
                    let (queue, rx) = mpsc::unbounded_channel();
                    let id = r.info.id;
                    let to = (self.me, self.security.clone());
                    let task = tokio::spawn(run(to, r, rx, self.stopped.clone()));
                    if let Some(old) = self.targets.insert(id, Target { queue, task }) {
                        old.task.abort();
                    }
                }
                Step::Close(id) => {
                    if let Some(t) = self.targets.remove(&id) {
                        debug!(broker = id, "closing the controller's channel");
                        t.task.abort();
                    }
                }
                Step::Send(id, request) => {
                    epoch = Some(request.controller_epoch());
                    match &request {
                        Request::Metadata(_) => told.push(id.to_string()),
                        Request::LeaderAndIsr(a) => {
                            assigned.push(format!("{id} ({} partitions)", a.partitions.len()));
                        }
                        Request::StopReplica(s) => info!(
                            "sending StopReplica to broker {id} ({} partitions, delete {})",
                            s.partitions.len(),
                            s.delete
                        ),
                    }
                    match self.targets.get(&id) {
                        Some(t) => {
                            let _ = t.queue.send(request);
                        }
                        None => warn!(broker = id, "no channel to broker {id}; request dropped"),
                    }
                }
            }
        }
        if let Some(epoch) = epoch {
            if !assigned.is_empty() {
                info!(
                    "sending LeaderAndIsr to brokers {} (controller epoch {epoch})",
                    assigned.join(", ")
                );
            }
            if !told.is_empty() {
                info!(
                    "sending UpdateMetadata to brokers {} (controller epoch {epoch})",
                    told.join(", ")
                );
            }
        }
    }
}

impl Drop for Senders {
    fn drop(&mut self) {
        for t in self.targets.values() {
            t.task.abort();
        }
    }
}

/// One broker's channel: sends what is queued, in order, until aborted,
/// and reports each StopReplica's answer to `stopped`.
async fn run(
    (me, security): (BrokerId, Arc<InterBroker>),
    target: Registered,
    mut queue: mpsc::UnboundedReceiver<Request>,
    stopped: mpsc::UnboundedSender<Stopped>,
) {
    let id = target.info.id;
    let (host, port) = security.endpoint(&target.info);
    let addr = format!("{host}:{port}");
    let mut conn: Option<Peer> = None;
    let mut failures = 0u32;
    while let Some(request) = queue.recv().await {
        let (api, broker_epoch) = match &request {
            Request::Metadata(u) => (ApiKey::UpdateMetadata, u.broker_epoch),
            Request::LeaderAndIsr(a) => (ApiKey::LeaderAndIsr, a.broker_epoch),
            Request::StopReplica(s) => (ApiKey::StopReplica, s.broker_epoch),
        };
        let name = api.name();
        let epoch = request.controller_epoch();
        loop {
            match attempt(&mut conn, (me, &security), &target, &request).await {
                Ok(Answer {
                    code,
                    refused,
                    partitions,
                }) => {
                    if let Request::StopReplica(_) = &request {
                        let _ = stopped.send(Stopped {
                            broker: id,
                            controller_epoch: epoch,
                            partitions,
                        });
                    }
                    if failures > 0 {
                        info!(broker = id, "reached broker {id} at {addr} again");
                    }
                    failures = 0;
                    if code != ErrorCode::NONE {
                        warn!(
                            broker = id,
                            "broker {id} refused {name} (controller epoch {epoch}, broker epoch {}): {code}",
                            broker_epoch.0
                        );
                    } else if !refused.is_empty() {
                        warn!(
                            broker = id,
                            "broker {id} refused {name} for {} (controller epoch {epoch})",
                            refused.join(", ")
                        );
                    } else {
                        debug!(broker = id, epoch, "broker {id} took the {name}");
                    }
                    break;
                }
                Err(e) if e.downcast_ref::<Unsendable>().is_some() => {
                    error!(broker = id, "dropping {name} to broker {id}: {e:#}");
                    // A deletion waiting for this answer hears it failed,
                    // and asks again later.
                    if let Request::StopReplica(s) = &request {
                        let _ = stopped.send(Stopped {
                            broker: id,
                            controller_epoch: epoch,
                            partitions: s
                                .partitions
                                .iter()
                                .map(|(tp, e)| (tp.clone(), *e, ErrorCode::UNKNOWN_SERVER_ERROR))
                                .collect(),
                        });
                    }
                    break;
                }
                Err(e) => {
                    conn = None;
                    if failures == 0 {
                        warn!(
                            broker = id,
                            "cannot send {name} to broker {id} at {addr}: {e:#}; retrying"
                        );
                    } else {
                        debug!(
                            broker = id,
                            "still cannot reach broker {id} at {addr}: {e:#}"
                        );
                    }
                    failures += 1;
                    tokio::time::sleep(backoff(failures)).await;
                }
            }
        }
    }
}

/// The pause after `failures` failed tries in a row.
pub(crate) fn backoff(failures: u32) -> Duration {
    BACKOFF
        .saturating_mul(1 << failures.saturating_sub(1).min(16))
        .min(BACKOFF_MAX)
}

/// What a broker answered.
struct Answer {
    /// The request's error.
    code: ErrorCode,
    /// Partitions refused, with why (`t-0: FENCED_LEADER_EPOCH`).
    refused: Vec<String>,
    /// A StopReplica's: each partition, its leader epoch and its error.
    partitions: Vec<(TopicPartition, i32, ErrorCode)>,
}

/// Sends `request` on `conn`, connecting first when there is none.
async fn attempt(
    conn: &mut Option<Peer>,
    (me, security): (BrokerId, &InterBroker),
    target: &Registered,
    request: &Request,
) -> anyhow::Result<Answer> {
    let peer = match conn {
        Some(p) => p,
        None => conn.insert(Peer::open(me, &target.info, security).await?),
    };
    let (body, version) = match request {
        Request::Metadata(u) => {
            let v = peer.update_metadata;
            (RequestBody::UpdateMetadata(self::request(u, v)), v)
        }
        Request::LeaderAndIsr(a) => {
            let v = peer.leader_and_isr;
            (RequestBody::LeaderAndIsr(leader_and_isr(a, v)), v)
        }
        Request::StopReplica(s) => {
            let v = peer.stop_replica;
            (RequestBody::StopReplica(stop_replica(s, v)), v)
        }
    };
    let api = body.api_key();
    let frame = peer.exchange(&body, version).await?;
    let decoded = decode_response(&frame, api, version)
        .map_err(|e| anyhow!("decoding the {} v{version} response: {e}", api.name()))?;
    match decoded.1 {
        ResponseBody::UpdateMetadata(r) => Ok(Answer {
            code: ErrorCode(r.error_code),
            refused: Vec::new(),
            partitions: Vec::new(),
        }),
        ResponseBody::LeaderAndIsr(r) => {
            let mut refused = Vec::new();
            let mut note = |topic: &str, p: i32, code: i16| {
                if code != 0 {
                    refused.push(format!("{topic}-{p}: {}", ErrorCode(code)));
                }
            };
            for e in &r.partition_errors {
                note(&e.topic_name, e.partition_index, e.error_code);
            }
            for t in &r.topics {
                let name = match request {
                    Request::LeaderAndIsr(a) => a
                        .partitions
                        .iter()
                        .find(|p| p.topic_id == t.topic_id)
                        .map_or_else(|| t.topic_id.to_string(), |p| p.tp.topic.clone()),
                    _ => t.topic_id.to_string(),
                };
                for e in &t.partition_errors {
                    note(&name, e.partition_index, e.error_code);
                }
            }
            Ok(Answer {
                code: ErrorCode(r.error_code),
                refused,
                partitions: Vec::new(),
            })
        }
        ResponseBody::StopReplica(r) => Ok(Answer {
            code: ErrorCode(r.error_code),
            partitions: match request {
                Request::StopReplica(s) => answers(s, &r),
                _ => Vec::new(),
            },
            refused: r
                .partition_errors
                .iter()
                .filter(|e| e.error_code != 0)
                .map(|e| {
                    let code = ErrorCode(e.error_code);
                    format!("{}-{}: {code}", e.topic_name, e.partition_index)
                })
                .collect(),
        }),
        _ => bail!("{} answered with another API", api.name()),
    }
}

/// Sends one request to a broker on a connection of its own, as broker
/// `me` with `security`, and decodes the answer: a broker's ControlledShutdown to the
/// controller. The connection is closed after.
pub(crate) async fn ask_once(
    (me, security): (BrokerId, &InterBroker),
    to: &BrokerInfo,
    body: &RequestBody,
    version: i16,
) -> anyhow::Result<ResponseBody> {
    let mut peer = Peer::open(me, to, security).await?;
    let frame = peer.exchange(body, version).await?;
    let key = body.api_key();
    let (_, answer) = decode_response(&frame, key, version)
        .map_err(|e| anyhow!("decoding the {} response: {e}", key.name()))?;
    Ok(answer)
}

/// A connection from the controller to one broker.
struct Peer {
    stream: BrokerStream,
    /// The client id in every header: the controller's broker id, as
    /// Kafka's controller names itself.
    client_id: ByteString,
    next_correlation: i32,
    /// The UpdateMetadata version to send.
    update_metadata: i16,
    /// The LeaderAndIsr version to send.
    leader_and_isr: i16,
    /// The StopReplica version to send.
    stop_replica: i16,
}

impl Peer {
    /// Connects to broker `to` on the inter-broker listener, with its
    /// security (TLS, SASL: [`outbound`]), and negotiates the versions.
    async fn open(me: BrokerId, to: &BrokerInfo, ib: &InterBroker) -> anyhow::Result<Peer> {
        let (host, port) = ib.endpoint(to);
        let client_id = me.to_string();
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, ib.connect(&host, port, &client_id))
            .await
            .map_err(|_| anyhow!("no connection within {CONNECT_TIMEOUT:?}"))?
            .context("connecting")?;
        let mut peer = Peer {
            stream,
            client_id: ByteString::from(client_id),
            next_correlation: 0,
            update_metadata: 0,
            leader_and_isr: 0,
            stop_replica: 0,
        };
        let served = peer.api_versions().await?;
        let range = |api: ApiKey| {
            served
                .iter()
                .find(|a| a.0 == api as i16)
                .map(|a| (a.1, a.2))
        };
        peer.update_metadata = update_metadata_version(range(ApiKey::UpdateMetadata))?;
        peer.leader_and_isr = leader_and_isr_version(range(ApiKey::LeaderAndIsr))?;
        peer.stop_replica = version_for(
            ApiKey::StopReplica,
            STOP_REPLICA_VERSION,
            range(ApiKey::StopReplica),
        )?;
        Ok(peer)
    }

    /// ApiVersions (v3, or v0 when refused): the APIs the broker serves,
    /// as (key, min, max).
    async fn api_versions(&mut self) -> anyhow::Result<Vec<(i16, i16, i16)>> {
        let body = RequestBody::ApiVersions(ApiVersionsRequest {
            client_software_name: ByteString::from_static("spate-controller"),
            client_software_version: ByteString::from_static(env!("CARGO_PKG_VERSION")),
            ..Default::default()
        });
        for version in [3, 0] {
            let frame = self.exchange(&body, version).await?;
            // A broker that does not know the version answers in v0's shape.
            let decoded = decode_response(&frame, ApiKey::ApiVersions, version)
                .or_else(|_| decode_response(&frame, ApiKey::ApiVersions, 0))
                .map_err(|e| anyhow!("decoding the ApiVersions response: {e}"))?;
            let ResponseBody::ApiVersions(r) = decoded.1 else {
                bail!("ApiVersions answered with another API");
            };
            let code = ErrorCode(r.error_code);
            if code == ErrorCode::UNSUPPORTED_VERSION && version != 0 {
                continue;
            }
            if code != ErrorCode::NONE {
                bail!("ApiVersions failed: {code}");
            }
            return Ok(r
                .api_keys
                .iter()
                .map(|a| (a.api_key, a.min_version, a.max_version))
                .collect());
        }
        bail!("the broker refused ApiVersions")
    }

    /// Writes a request and reads its answer (size prefix removed), within
    /// [`REQUEST_TIMEOUT`], checking the correlation id.
    async fn exchange(&mut self, body: &RequestBody, version: i16) -> anyhow::Result<Bytes> {
        let correlation_id = self.next_correlation;
        self.next_correlation = self.next_correlation.wrapping_add(1);
        let header = RequestHeader {
            request_api_key: body.api_key() as i16,
            request_api_version: version,
            correlation_id,
            client_id: Some(self.client_id.clone()),
            ..Default::default()
        };
        let frame = encode(&header, body)?;
        let stream = &mut self.stream;
        let answer = async {
            stream.write_all(&frame).await.context("writing")?;
            let size = stream.read_u32().await.context("reading")? as usize;
            if size > MAX_FRAME {
                bail!("an answer of {size} bytes");
            }
            let mut buf = vec![0; size];
            stream.read_exact(&mut buf).await.context("reading")?;
            Ok(Bytes::from(buf))
        };
        let frame = tokio::time::timeout(REQUEST_TIMEOUT, answer)
            .await
            .map_err(|_| anyhow!("no answer within {REQUEST_TIMEOUT:?}"))??;
        let got = frame
            .get(..4)
            .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        if got != Some(correlation_id) {
            bail!("answered correlation id {got:?}, expected {correlation_id}");
        }
        Ok(frame)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use spate_core::protocol::header::decode_request;

    use super::super::engine::{BrokerEpoch, BrokerInfo};
    use super::*;

    #[test]
    fn v7_unless_the_broker_serves_only_older_ones() {
        assert_eq!(update_metadata_version(Some((0, 8))).unwrap(), 7);
        assert_eq!(update_metadata_version(Some((0, 5))).unwrap(), 5);
        assert!(update_metadata_version(Some((8, 8))).is_err());
        assert!(update_metadata_version(None).is_err());
    }

    #[test]
    fn a_request_that_cannot_be_encoded_is_unsendable_not_retried() {
        let body = RequestBody::StopReplica(Default::default());
        let header = |v| RequestHeader {
            request_api_key: ApiKey::StopReplica as i16,
            request_api_version: v,
            ..Default::default()
        };
        let e = encode(&header(99), &body).expect_err("no StopReplica v99");
        assert!(e.downcast_ref::<Unsendable>().is_some(), "{e:#}");
        assert!(encode(&header(3), &body).is_ok());
    }

    #[test]
    fn retries_back_off_from_100ms_to_2s() {
        let pauses: Vec<u128> = (1..=7).map(|n| backoff(n).as_millis()).collect();
        assert_eq!(pauses, [100, 200, 400, 800, 1600, 2000, 2000]);
        assert_eq!(backoff(u32::MAX), BACKOFF_MAX);
    }

    #[test]
    fn the_request_names_the_controller_the_target_epoch_and_plaintext_endpoints() {
        let update = Update {
            controller_id: 1,
            controller_epoch: 3,
            broker_epoch: BrokerEpoch(77),
            brokers: Arc::from(vec![
                BrokerInfo {
                    id: 1,
                    host: "a".into(),
                    port: 9092,
                    rack: None,
                    endpoints: Vec::new(),
                },
                BrokerInfo {
                    id: 2,
                    host: "b".into(),
                    port: 9093,
                    rack: Some("r2".into()),
                    endpoints: Vec::new(),
                },
            ]),
            partitions: Vec::new(),
        };
        // Through the codec at every version a broker may take.
        for version in [0, 5, 7] {
            let req = request(&update, version);
            let header = RequestHeader {
                request_api_key: ApiKey::UpdateMetadata as i16,
                request_api_version: version,
                correlation_id: 9,
                client_id: Some("1".into()),
                ..Default::default()
            };
            let frame = encode_request(&header, &RequestBody::UpdateMetadata(req.clone())).unwrap();
            let (_, body) = decode_request(&frame.slice(4..)).unwrap();
            let RequestBody::UpdateMetadata(got) = body else {
                panic!("another API");
            };
            assert_eq!((got.controller_id, got.controller_epoch), (1, 3));
            let b = &got.live_brokers[1];
            if version == 0 {
                assert_eq!((b.id, b.v0_host.as_ref(), b.v0_port), (2, "b", 9093));
                continue;
            }
            let ep = &b.endpoints[0];
            assert_eq!(
                (ep.host.as_ref(), ep.port, ep.security_protocol),
                ("b", 9093, 0)
            );
            if version >= 5 {
                assert_eq!(got.broker_epoch, 77);
                assert_eq!(
                    (ep.listener.as_ref(), b.rack.as_deref()),
                    ("PLAINTEXT", Some("r2"))
                );
                assert!(got.topic_states.is_empty(), "no partition states yet");
            }
        }
    }
}
