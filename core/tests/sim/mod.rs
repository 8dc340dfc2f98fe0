//! A virtual-time harness for the broker: requests go in as typed bodies,
//! responses come out decoded, and time jumps straight to the broker's next
//! deadline, so a 30-second wait takes microseconds.

#![allow(dead_code)]

pub mod coordinator;
pub mod pair;

use std::collections::{BTreeMap, BTreeSet};

use bytes::{Bytes, BytesMut};
use spate_core::broker::{Broker, Config, ConnId, NewTopic, Output, PeerInfo};
use spate_core::protocol::header::{decode_response, encode_request};
use spate_core::protocol::messages::request_header::RequestHeader;
use spate_core::protocol::{ApiKey, RequestBody, ResponseBody};
use spate_core::records::{Record, RecordBatchBuilder};
use spate_core::storage::{MemStorage, Storage};

/// Epoch milliseconds the simulations start at.
pub const T0: i64 = 1_700_000_000_000;

/// What arrived on a connection.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Event {
    /// A response (correlation id, body).
    Response(i32, ResponseBody),
    /// The broker closed the connection.
    Closed(String),
}

pub struct Sim<S: Storage = MemStorage> {
    pub broker: Broker<S>,
    pub now: i64,
    /// What each connection received, in order.
    pub events: BTreeMap<ConnId, Vec<Event>>,
    /// What the broker asked of its driver other than responses and
    /// closes (ZooKeeper mode's writes), in order.
    pub asked: Vec<Output>,
    /// (api, version) of each request sent, by (conn, correlation id).
    pending: BTreeMap<(ConnId, i32), (ApiKey, i16)>,
    next_corr: i32,
    /// Topics the broker asked the driver to create in ZooKeeper, by
    /// request, not yet reported back.
    pub creating: Vec<(u64, Vec<NewTopic>)>,
    /// Connections whose responses are kept as raw frames (size prefix
    /// included) in `raw`, undecoded: another broker's requests.
    pub raw_conns: BTreeSet<ConnId>,
    pub raw: BTreeMap<ConnId, Vec<Bytes>>,
    /// Replica requests the broker asked to send: (leader, host, port, frame).
    pub replica: Vec<(i32, String, i32, Bytes)>,
    /// The `Output::TxnMarkers` requests: broker, host, port, frame.
    pub markers: Vec<(i32, String, i32, Bytes)>,
}

impl Sim {
    pub fn new() -> Sim {
        Sim::with(Config::default(), MemStorage::new())
    }

    pub fn with(config: Config, storage: MemStorage) -> Sim {
        Sim::over(config, storage)
    }
}

impl<S: Storage + Clone> Sim<S> {
    /// A broker over the same storage: a restart.
    pub fn restart(&self) -> Sim<S> {
        self.restart_with(self.broker.config().clone())
    }

    /// A broker over the same storage with another config: a restart in
    /// another mode (topics a single broker created on its own
    /// controller, kept by a broker that joined a ZooKeeper cluster).
    pub fn restart_with(&self, config: Config) -> Sim<S> {
        let mut s = Sim::over(config, self.broker.storage().clone());
        s.now = self.now;
        s
    }
}

impl<S: Storage> Sim<S> {
    /// A broker over `storage`, of any kind.
    pub fn over(config: Config, storage: S) -> Sim<S> {
        let broker = Broker::new(config, storage, T0).expect("broker starts");
        Sim {
            broker,
            now: T0,
            events: BTreeMap::new(),
            asked: Vec::new(),
            pending: BTreeMap::new(),
            next_corr: 1,
            creating: Vec::new(),
            raw_conns: BTreeSet::new(),
            raw: BTreeMap::new(),
            replica: Vec::new(),
            markers: Vec::new(),
        }
    }

    pub fn connect(&mut self, conn: ConnId) {
        self.connect_as(
            conn,
            PeerInfo {
                addr: format!("sim:{conn}"),
                ..PeerInfo::default()
            },
        );
    }

    /// Connects with a peer of the test's making (a listener, a TLS
    /// principal, entropy).
    pub fn connect_as(&mut self, conn: ConnId, peer: PeerInfo) {
        self.broker.handle_connect(conn, peer, self.now);
        self.drain();
    }

    /// Sends a typed request; returns its correlation id.
    pub fn send(&mut self, conn: ConnId, version: i16, body: RequestBody) -> i32 {
        let corr = self.next_corr;
        self.next_corr += 1;
        let key = body.api_key();
        let header = RequestHeader {
            request_api_key: key as i16,
            request_api_version: version,
            correlation_id: corr,
            client_id: Some("sim".into()),
            ..Default::default()
        };
        let frame = encode_request(&header, &body).expect("request encodes");
        self.pending.insert((conn, corr), (key, version));
        self.send_raw(conn, frame.slice(4..));
        corr
    }

    /// Says a raw frame with this correlation id is a request of `key` at `version`.
    pub fn expect(&mut self, conn: ConnId, corr: i32, key: ApiKey, version: i16) {
        self.pending.insert((conn, corr), (key, version));
    }

    /// Sends raw frame bytes (no size prefix).
    pub fn send_raw(&mut self, conn: ConnId, frame: Bytes) {
        self.broker.handle_request(conn, frame, self.now);
        self.drain();
    }

    pub fn disconnect(&mut self, conn: ConnId) {
        self.broker.handle_disconnect(conn, self.now);
        self.drain();
    }

    /// Collects every output.
    pub fn drain(&mut self) {
        while let Some(out) = self.broker.poll_output() {
            match out {
                Output::Response { conn, chunks } => {
                    let mut buf = BytesMut::new();
                    for c in chunks {
                        buf.extend_from_slice(&c);
                    }
                    let frame = buf.freeze();
                    let size = i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
                    assert_eq!(size as usize, frame.len() - 4, "size prefix");
                    if self.raw_conns.contains(&conn) {
                        self.raw.entry(conn).or_default().push(frame);
                        continue;
                    }
                    let corr = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
                    let (key, version) = self
                        .pending
                        .remove(&(conn, corr))
                        .expect("a response to a request we sent");
                    // ApiVersions errors come back in a v0 body.
                    let (_, body) = decode_response(&frame.slice(4..), key, version)
                        .or_else(|_| decode_response(&frame.slice(4..), key, 0))
                        .expect("response decodes");
                    self.events
                        .entry(conn)
                        .or_default()
                        .push(Event::Response(corr, body));
                }
                Output::CreateTopics { request, topics } => {
                    self.creating.push((request, topics));
                }
                Output::Close { conn, reason } => {
                    self.events
                        .entry(conn)
                        .or_default()
                        .push(Event::Closed(reason));
                }
                Output::Replica {
                    leader,
                    host,
                    port,
                    frame,
                } => self.replica.push((leader, host, port, frame)),
                Output::TxnMarkers {
                    broker,
                    host,
                    port,
                    frame,
                } => self.markers.push((broker, host, port, frame)),
                other => self.asked.push(other),
            }
        }
    }

    /// Jumps to the broker's next deadline (if it is at most `limit` away) and fires it.
    pub fn step(&mut self, limit: i64) -> bool {
        match self.broker.poll_timeout() {
            Some(at) if at <= self.now + limit => {
                self.now = self.now.max(at);
                self.broker.handle_timeout(self.now);
                self.drain();
                true
            }
            _ => false,
        }
    }

    /// Moves the clock forward by `ms`, firing every timer on the way.
    pub fn advance(&mut self, ms: i64) {
        let until = self.now + ms;
        while let Some(at) = self.broker.poll_timeout() {
            if at > until {
                break;
            }
            self.now = self.now.max(at);
            self.broker.handle_timeout(self.now);
            self.drain();
        }
        self.now = until;
        self.broker.handle_timeout(self.now);
        self.drain();
    }

    /// The driver reports the ZooKeeper writes of request `request`.
    pub fn topics_created(
        &mut self,
        request: u64,
        results: Vec<(String, Result<(), spate_core::protocol::ErrorCode>)>,
    ) {
        self.creating.retain(|(r, _)| *r != request);
        self.broker
            .handle_topics_created(request, results, self.now);
        self.drain();
    }

    /// Everything `conn` received so far, cleared.
    pub fn take(&mut self, conn: ConnId) -> Vec<Event> {
        self.events.remove(&conn).unwrap_or_default()
    }

    /// The one response `conn` received (panics otherwise).
    pub fn one(&mut self, conn: ConnId) -> ResponseBody {
        let ev = self.take(conn);
        match ev.as_slice() {
            [Event::Response(_, body)] => body.clone(),
            other => panic!("expected one response on {conn}, got {other:?}"),
        }
    }

    /// Sends and returns the response.
    pub fn call(&mut self, conn: ConnId, version: i16, body: RequestBody) -> ResponseBody {
        self.send(conn, version, body);
        self.one(conn)
    }
}

/// A v2 batch of `n` records with values `"{prefix}-{i}"`.
pub fn batch(n: i32, prefix: &str) -> Bytes {
    let mut b = RecordBatchBuilder::new(0, T0);
    for i in 0..n {
        b = b.record(Record::new(
            i,
            i64::from(i),
            Some(Bytes::from(format!("k{i}"))),
            Some(Bytes::from(format!("{prefix}-{i}"))),
        ));
    }
    b.build().expect("batch")
}

/// Shortcuts for setting up data.
impl<S: Storage> Sim<S> {
    /// Creates a topic (CreateTopics v7 on connection 99); returns its id.
    pub fn create_topic(&mut self, name: &str, partitions: i32) -> spate_core::protocol::Uuid {
        let r = self.create_topic_with(name, partitions, &[]);
        assert_eq!(r.error_code, 0, "create {name}");
        r.topic_id
    }

    /// Creates a topic with topic configs (CreateTopics v7 on connection
    /// 99); returns the topic's result, whatever its error.
    pub fn create_topic_with(
        &mut self,
        name: &str,
        partitions: i32,
        configs: &[(&str, &str)],
    ) -> spate_core::protocol::messages::create_topics_response::CreatableTopicResult {
        use spate_core::protocol::messages::create_topics_request::{
            CreatableTopic, CreatableTopicConfig, CreateTopicsRequest,
        };
        let req = CreateTopicsRequest {
            topics: vec![CreatableTopic {
                name: name.into(),
                num_partitions: partitions,
                replication_factor: -1,
                configs: configs
                    .iter()
                    .map(|(k, v)| CreatableTopicConfig {
                        name: (*k).into(),
                        value: Some((*v).into()),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            timeout_ms: 1000,
            ..Default::default()
        };
        match self.call(99, 7, RequestBody::CreateTopics(req)) {
            ResponseBody::CreateTopics(mut r) => r.topics.remove(0),
            other => panic!("{other:?}"),
        }
    }

    /// Produces `records` to one partition with Produce `version` (acks -1)
    /// on connection `conn`; the partition's answer.
    pub fn produce_to(
        &mut self,
        conn: ConnId,
        version: i16,
        topic: &str,
        partition: i32,
        records: Bytes,
    ) -> spate_core::protocol::messages::produce_response::PartitionProduceResponse {
        match self.call(
            conn,
            version,
            produce_request(topic, partition, records, -1),
        ) {
            ResponseBody::Produce(mut r) => r.responses.remove(0).partition_responses.remove(0),
            other => panic!("{other:?}"),
        }
    }

    /// Produces `records` to one partition with Produce `version` (acks -1,
    /// connection 98); panics unless it succeeds.
    pub fn produce_ok(&mut self, version: i16, topic: &str, partition: i32, records: Bytes) {
        let p = self.produce_to(98, version, topic, partition, records);
        assert_eq!(p.error_code, 0, "produce to {topic}-{partition}: {p:?}");
    }

    /// The id Metadata v12 (connection 97) reports for topic `name`.
    pub fn topic_id(&mut self, name: &str) -> spate_core::protocol::Uuid {
        use spate_core::protocol::messages::metadata_request::{
            MetadataRequest, MetadataRequestTopic,
        };
        let req = MetadataRequest {
            topics: Some(vec![MetadataRequestTopic {
                name: Some(name.into()),
                ..Default::default()
            }]),
            ..Default::default()
        };
        match self.call(97, 12, RequestBody::Metadata(req)) {
            ResponseBody::Metadata(r) => r.topics[0].topic_id,
            other => panic!("{other:?}"),
        }
    }
}

/// A Produce request (timeout 1 s) of `records` to one partition.
pub fn produce_request(topic: &str, partition: i32, records: Bytes, acks: i16) -> RequestBody {
    use spate_core::protocol::messages::produce_request::{
        PartitionProduceData, ProduceRequest, TopicProduceData,
    };
    RequestBody::Produce(ProduceRequest {
        acks,
        timeout_ms: 1000,
        topic_data: vec![TopicProduceData {
            name: topic.into(),
            partition_data: vec![PartitionProduceData {
                index: partition,
                records: Some(records.into()),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    })
}
