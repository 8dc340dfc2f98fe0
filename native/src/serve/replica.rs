//! Outbound connections to partition leaders, for the core's replica
//! fetcher (ZooKeeper mode). It only moves bytes: for each leader the
//! broker names in an `Output::Replica`, one task keeps one TCP
//! connection, writes the request frame, reads one response frame (4-byte
//! size, then the frame) and hands it to the owner task as
//! [`Input::ReplicaResponse`]; any error (refused, dropped, timed out, a
//! frame too large) drops the connection and reports
//! [`Input::ReplicaFailure`], after which the core backs off and asks
//! again. What to send, and when, is the core's decision; it sends at
//! most one request per leader at a time, so a task serves its jobs in
//! order. A connection is opened with the inter-broker listener's
//! security ([`super::outbound`]: TLS, SASL), which the owner hands over.
//!
//! The transaction coordinator's WriteTxnMarkers requests
//! (`Output::TxnMarkers`) go through a second set of the same tasks
//! ([`Replicas::for_markers`]): their own connections, so that a marker
//! never waits behind a long-polled fetch, answered as
//! [`Input::MarkersResponse`] / [`Input::MarkersFailure`]. A task sends
//! the requests queued for its broker one after the other and reports
//! each, in order, which is all the core needs.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use super::outbound::{BrokerStream, InterBroker};
use super::Input;

/// How long connecting, writing a request or reading its response may
/// take (Kafka's `replica.socket.timeout.ms`); the leader holds a fetch
/// for at most `replica.fetch.wait.max.ms`, far less.
const SOCKET_TIMEOUT: Duration = Duration::from_secs(30);
/// A response larger than this is refused (the follower asks for at most
/// `replica.fetch.response.max.bytes`, 10 MiB by default).
const MAX_RESPONSE: usize = 256 << 20;

/// The client id of the SASL requests that open a connection (the core's
/// own requests name the broker).
const CLIENT_ID: &str = "spate-replica";

/// One request for a leader.
struct Job {
    frame: Bytes,
}

/// The connection task of each leader, by broker id, with the address it
/// connects to.
pub(crate) struct Replicas {
    tasks: HashMap<i32, (String, mpsc::UnboundedSender<Job>)>,
    /// Whether these carry transaction markers (else replica fetches).
    markers: bool,
    /// The security of the connections (the inter-broker listener's).
    security: Arc<InterBroker>,
}

impl Replicas {
    /// Connections for the replica fetcher, opened with `security`.
    pub fn new(security: Arc<InterBroker>) -> Replicas {
        Replicas {
            tasks: HashMap::new(),
            markers: false,
            security,
        }
    }

    /// Connections for the transaction coordinator's WriteTxnMarkers
    /// requests, opened with `security`.
    pub fn for_markers(security: Arc<InterBroker>) -> Replicas {
        Replicas {
            markers: true,
            ..Replicas::new(security)
        }
    }

    /// Sends `frame` (size prefix included) to broker `leader` at
    /// `host`:`port`, starting its task (or a new one, when the leader
    /// moved to another address).
    pub fn send(
        &mut self,
        leader: i32,
        host: &str,
        port: i32,
        frame: Bytes,
        owner: &mpsc::UnboundedSender<Input>,
    ) {
        let addr = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let job = Job { frame };
        let job = match self.tasks.get(&leader) {
            Some((a, tx)) if *a == addr => match tx.send(job) {
                Ok(()) => return,
                Err(mpsc::error::SendError(job)) => job,
            },
            _ => job,
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let _ = tx.send(job);
        let markers = self.markers;
        let target = (host.to_string(), port);
        let security = self.security.clone();
        tokio::spawn(run(leader, target, rx, owner.clone(), (markers, security)));
        // Replacing the old sender ends the old task once its queue drains.
        self.tasks.insert(leader, (addr, tx));
    }
}

/// A leader's task: one connection, one request at a time.
async fn run(
    leader: i32,
    (host, port): (String, i32),
    mut jobs: mpsc::UnboundedReceiver<Job>,
    owner: mpsc::UnboundedSender<Input>,
    (markers, security): (bool, Arc<InterBroker>),
) {
    let mut stream: Option<BrokerStream> = None;
    // Whether the last exchange failed: a leader that stays unreachable is
    // retried every second or so, and its failure is said once (then at
    // debug level) rather than on every retry.
    let mut failing = false;
    while let Some(job) = jobs.recv().await {
        let ask = exchange(&mut stream, &security, (&host, port), &job.frame);
        let result = tokio::time::timeout(SOCKET_TIMEOUT, ask)
            .await
            .unwrap_or_else(|_| Err("timed out".to_string()));
        if result.is_ok() && failing {
            failing = false;
            info!(leader, %host, port, markers, "inter-broker connection works again");
        }
        let input = match result {
            Ok(frame) if markers => Input::MarkersResponse(leader, frame),
            Ok(frame) => {
                debug!(leader, bytes = frame.len(), "replica response");
                Input::ReplicaResponse(leader, frame)
            }
            Err(e) => {
                if failing {
                    debug!(leader, %host, port, error = %e, markers, "inter-broker connection failed");
                } else {
                    warn!(leader, %host, port, error = %e, markers, "inter-broker connection failed");
                }
                failing = true;
                stream = None;
                if markers {
                    Input::MarkersFailure(leader)
                } else {
                    Input::ReplicaFailure(leader)
                }
            }
        };
        if owner.send(input).is_err() {
            return;
        }
    }
}

/// Writes `frame` on the connection (opening it first if need be) and
/// reads one response frame, its size prefix removed.
async fn exchange(
    stream: &mut Option<BrokerStream>,
    security: &InterBroker,
    (host, port): (&str, i32),
    frame: &[u8],
) -> Result<Bytes, String> {
    if stream.is_none() {
        let s = security
            .connect(host, port, CLIENT_ID)
            .await
            .map_err(|e| format!("connect: {e:#}"))?;
        *stream = Some(s);
    }
    let s = stream.as_mut().expect("just connected");
    s.write_all(frame)
        .await
        .map_err(|e| format!("write: {e}"))?;
    let mut size = [0u8; 4];
    s.read_exact(&mut size)
        .await
        .map_err(|e| format!("read: {e}"))?;
    let n = i32::from_be_bytes(size);
    if n < 0 || n as usize > MAX_RESPONSE {
        return Err(format!("a response frame of {n} bytes"));
    }
    let mut buf = BytesMut::zeroed(n as usize);
    s.read_exact(&mut buf)
        .await
        .map_err(|e| format!("read: {e}"))?;
    Ok(buf.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A leader that answers each frame with its own bytes reversed.
    async fn echo_leader() -> (String, i32) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = i32::from(l.local_addr().unwrap().port());
        tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            loop {
                let mut size = [0u8; 4];
                if s.read_exact(&mut size).await.is_err() {
                    return;
                }
                let mut body = vec![0; i32::from_be_bytes(size) as usize];
                s.read_exact(&mut body).await.unwrap();
                body.reverse();
                s.write_all(&size).await.unwrap();
                s.write_all(&body).await.unwrap();
            }
        });
        ("127.0.0.1".into(), port)
    }

    fn framed(body: &[u8]) -> Bytes {
        let mut f = (body.len() as i32).to_be_bytes().to_vec();
        f.extend_from_slice(body);
        Bytes::from(f)
    }

    #[tokio::test]
    async fn responses_come_back_in_order_on_one_connection_and_failures_are_reported() {
        let (host, port) = echo_leader().await;
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut r = Replicas::new(Arc::default());
        r.send(7, &host, port, framed(b"abc"), &tx);
        r.send(7, &host, port, framed(b"xy"), &tx);
        for want in [&b"cba"[..], b"yx"] {
            match rx.recv().await.unwrap() {
                Input::ReplicaResponse(7, f) => assert_eq!(&f[..], want),
                _ => panic!("not a response"),
            }
        }
        // The echo leader accepts one connection only: a second task (the
        // leader "moved" to a port nobody listens on) fails.
        let dead = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let dead_port = i32::from(dead.local_addr().unwrap().port());
        drop(dead);
        r.send(7, &host, dead_port, framed(b"z"), &tx);
        assert!(matches!(rx.recv().await.unwrap(), Input::ReplicaFailure(7)));
    }
}
