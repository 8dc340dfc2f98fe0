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
//! The connection is asynchronous and small: ApiVersions first (v3, or v0
//! when refused), then UpdateMetadata at [`update_metadata_version`].

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use bytes::Bytes;
use bytestring::ByteString;
use spate_core::protocol::header::{decode_response, encode_request};
use spate_core::protocol::messages::api_versions_request::ApiVersionsRequest;
use spate_core::protocol::messages::request_header::RequestHeader;
use spate_core::protocol::messages::update_metadata_request::{
    UpdateMetadataBroker, UpdateMetadataEndpoint, UpdateMetadataRequest,
};
use spate_core::protocol::{ApiKey, ErrorCode, RequestBody, ResponseBody};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use super::channel::{Step, Update};
use super::engine::{BrokerId, Registered};

/// The first pause before sending again (Kafka's `RequestSendThread`
/// pauses 100 ms each time).
pub(crate) const BACKOFF: Duration = Duration::from_millis(100);

/// The longest pause between two tries.
pub(crate) const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long an answer may take (Kafka's `controller.socket.timeout.ms`).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Largest answer accepted (UpdateMetadata and ApiVersions answers are
/// small; this bounds garbage).
const MAX_FRAME: usize = 1 << 20;

/// The UpdateMetadata version Kafka's ZooKeeper controller sent from
/// inter-broker protocol 2.8 on. (From 3.4 it sent v8, whose additions
/// only matter while migrating to KRaft.)
const UPDATE_METADATA_VERSION: i16 = 7;

/// The UpdateMetadata version to send a broker that serves
/// `min..=max` of it (`None`: not at all): [`UPDATE_METADATA_VERSION`],
/// or the broker's newest when it is older.
pub(crate) fn update_metadata_version(served: Option<(i16, i16)>) -> anyhow::Result<i16> {
    let Some((min, max)) = served else {
        bail!("it does not serve UpdateMetadata (is it in this ZooKeeper cluster?)");
    };
    let v = UPDATE_METADATA_VERSION.min(max);
    if v < min || v < 0 {
        bail!("it serves UpdateMetadata v{min}-{max} only; the controller sends v0-{UPDATE_METADATA_VERSION}");
    }
    Ok(v)
}

/// The request for `update`. Every broker has one endpoint: its listener
/// as registered (`PLAINTEXT`, security protocol 0). v0's own host and
/// port fields carry the same endpoint.
pub(crate) fn request(update: &Update) -> UpdateMetadataRequest {
    let live_brokers = update
        .brokers
        .iter()
        .map(|b| {
            let host = ByteString::from(b.host.as_str());
            UpdateMetadataBroker {
                id: b.id,
                v0_host: host.clone(),
                v0_port: b.port,
                endpoints: vec![UpdateMetadataEndpoint {
                    port: b.port,
                    host,
                    listener: ByteString::from_static("PLAINTEXT"),
                    security_protocol: 0,
                    ..Default::default()
                }],
                rack: b.rack.as_deref().map(ByteString::from),
                ..Default::default()
            }
        })
        .collect();
    UpdateMetadataRequest {
        controller_id: update.controller_id,
        controller_epoch: update.controller_epoch,
        broker_epoch: update.broker_epoch.0,
        live_brokers,
        ..Default::default()
    }
}

/// The controller's channels: a task and a queue per live broker.
pub(crate) struct Senders {
    /// This broker, the controller.
    me: BrokerId,
    targets: HashMap<BrokerId, Target>,
}

struct Target {
    queue: mpsc::UnboundedSender<Update>,
    task: JoinHandle<()>,
}

impl Senders {
    /// No channels.
    pub(crate) fn new(me: BrokerId) -> Senders {
        Senders {
            me,
            targets: HashMap::new(),
        }
    }

    /// Carries out `steps` in order.
    pub(crate) fn apply(&mut self, steps: Vec<Step>) {
        let mut told = Vec::new();
        let mut epoch = None;
        for step in steps {
            match step {
                Step::Open(r) => {
                    debug!(broker = r.info.id, "opening the controller's channel");
                    let (queue, rx) = mpsc::unbounded_channel();
                    let id = r.info.id;
                    let task = tokio::spawn(run(self.me, r, rx));
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
                Step::Send(id, update) => {
                    epoch = Some(update.controller_epoch);
                    told.push(id.to_string());
                    match self.targets.get(&id) {
                        Some(t) => {
                            let _ = t.queue.send(update);
                        }
                        None => warn!(broker = id, "no channel to broker {id}; update dropped"),
                    }
                }
            }
        }
        if let Some(epoch) = epoch {
            info!(
                "sending UpdateMetadata to brokers {} (controller epoch {epoch})",
                told.join(", ")
            );
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

/// One broker's channel: sends what is queued, in order, until aborted.
async fn run(me: BrokerId, target: Registered, mut queue: mpsc::UnboundedReceiver<Update>) {
    let id = target.info.id;
    let addr = format!("{}:{}", target.info.host, target.info.port);
    let mut conn: Option<Peer> = None;
    let mut failures = 0u32;
    while let Some(update) = queue.recv().await {
        let req = request(&update);
        loop {
            match attempt(&mut conn, me, &target, &req).await {
                Ok(code) => {
                    if failures > 0 {
                        info!(broker = id, "reached broker {id} at {addr} again");
                    }
                    failures = 0;
                    if code == ErrorCode::NONE {
                        debug!(
                            broker = id,
                            epoch = update.controller_epoch,
                            "broker {id} took the update"
                        );
                    } else {
                        warn!(
                            broker = id,
                            "broker {id} refused UpdateMetadata (controller epoch {}, broker epoch {}): {code}",
                            update.controller_epoch,
                            update.broker_epoch.0
                        );
                    }
                    break;
                }
                Err(e) => {
                    conn = None;
                    if failures == 0 {
                        warn!(
                            broker = id,
                            "cannot send UpdateMetadata to broker {id} at {addr}: {e:#}; retrying"
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

/// Sends `req` on `conn`, connecting first when there is none; the
/// answer's error code.
async fn attempt(
    conn: &mut Option<Peer>,
    me: BrokerId,
    target: &Registered,
    req: &UpdateMetadataRequest,
) -> anyhow::Result<ErrorCode> {
    let peer = match conn {
        Some(p) => p,
        None => conn.insert(Peer::open(me, &target.info.host, target.info.port).await?),
    };
    let version = peer.update_metadata;
    let body = RequestBody::UpdateMetadata(req.clone());
    let frame = peer.exchange(&body, version).await?;
    match decode_response(&frame, ApiKey::UpdateMetadata, version) {
        Ok((_, ResponseBody::UpdateMetadata(r))) => Ok(ErrorCode(r.error_code)),
        Ok(_) => bail!("UpdateMetadata answered with another API"),
        Err(e) => Err(anyhow!(
            "decoding the UpdateMetadata v{version} response: {e}"
        )),
    }
}

/// A connection from the controller to one broker.
struct Peer {
    stream: TcpStream,
    /// The client id in every header: the controller's broker id, as
    /// Kafka's controller names itself.
    client_id: ByteString,
    next_correlation: i32,
    /// The UpdateMetadata version to send.
    update_metadata: i16,
}

impl Peer {
    /// Connects and negotiates the UpdateMetadata version.
    async fn open(me: BrokerId, host: &str, port: i32) -> anyhow::Result<Peer> {
        let port = u16::try_from(port).map_err(|_| anyhow!("bad port {port}"))?;
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect((host, port)))
            .await
            .map_err(|_| anyhow!("no connection within {CONNECT_TIMEOUT:?}"))?
            .context("connecting")?;
        stream.set_nodelay(true)?;
        let mut peer = Peer {
            stream,
            client_id: ByteString::from(me.to_string()),
            next_correlation: 0,
            update_metadata: 0,
        };
        let served = peer.api_versions().await?;
        peer.update_metadata = update_metadata_version(served)?;
        Ok(peer)
    }

    /// ApiVersions (v3, or v0 when refused): the UpdateMetadata versions
    /// the broker serves.
    async fn api_versions(&mut self) -> anyhow::Result<Option<(i16, i16)>> {
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
                .find(|a| a.api_key == ApiKey::UpdateMetadata as i16)
                .map(|a| (a.min_version, a.max_version)));
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
        let frame = encode_request(&header, body)
            .map_err(|e| anyhow!("encoding {} v{version}: {e}", body.api_key().name()))?;
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
                },
                BrokerInfo {
                    id: 2,
                    host: "b".into(),
                    port: 9093,
                    rack: Some("r2".into()),
                },
            ]),
        };
        let req = request(&update);
        // Through the codec at every version a broker may take.
        for version in [0, 5, 7] {
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
