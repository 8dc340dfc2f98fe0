//! What handling a request decides ([`Handled`], [`Reply`]), how its
//! response is addressed ([`Answering`]), and the requests the broker
//! keeps waiting ([`Parked`]).

use crate::coordinator::group::Settled;
use crate::protocol::{ApiKey, ErrorCode, ResponseBody};
use crate::state::assignment::NewTopic;
use crate::state::{ConnId, Now};
use crate::storage::TopicPartition;

use super::{fetch::ParkedFetch, produce::ParkedProduce, replicated};

/// A request waiting in the broker, indexed by the partitions it waits on
/// and timed by its deadline.
#[derive(Debug)]
pub(crate) enum Parked {
    /// A Fetch waiting for data.
    Fetch(Box<ParkedFetch>),
    /// An acks=all Produce waiting for the high watermark.
    Produce(Box<ParkedProduce>),
    /// An offset commit's (or SyncGroup's, or a transaction coordinator's)
    /// answer waiting for the high watermark of its internal partition.
    Answer(Box<replicated::ParkedAnswer>),
}

impl Parked {
    /// When it is answered with whatever there is.
    pub fn deadline(&self) -> Now {
        match self {
            Parked::Fetch(f) => f.deadline,
            Parked::Produce(p) => p.deadline,
            Parked::Answer(a) => a.deadline,
        }
    }

    /// The partitions whose news may answer it.
    pub fn partitions(&self) -> Vec<TopicPartition> {
        match self {
            Parked::Fetch(f) => f.partitions(),
            Parked::Produce(p) => p.partitions(),
            Parked::Answer(a) => a.partitions(),
        }
    }

    /// How to answer it.
    pub fn answering(&self) -> Answering {
        match self {
            Parked::Fetch(f) => f.answering,
            Parked::Produce(p) => p.answering,
            Parked::Answer(a) => a.answering,
        }
    }
}
/// Who a response goes to and how it is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Answering {
    pub correlation_id: i32,
    pub key: ApiKey,
    /// The version to encode the response in.
    pub version: i16,
    /// Kafka's name of the request in its request metrics: the API's
    /// name, but `FetchConsumer` or `FetchFollower` for a Fetch.
    pub metric: &'static str,
}

/// The outcome of handling a request.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // made once per request and moved, never stored
pub(crate) enum Reply {
    /// Send this response.
    Response(ResponseBody),
    /// Send nothing (Produce with acks=0).
    NoResponse,
    /// Wait: a Fetch with too little to return, parked until a partition
    /// it reads gets records or its deadline passes; an acks=all Produce
    /// until the high watermark passes what it appended.
    Park(Parked),
    /// Close the connection (a request the broker cannot serve).
    Close(String),
    /// Held by the group coordinator, which answers it later (a JoinGroup
    /// or SyncGroup waiting for the other members).
    Hold,
    /// Held as this request of [`Creates`] (a CreateTopics or DeleteTopics
    /// in ZooKeeper mode): answered when the driver has written its topics
    /// and the controller has elected their leaders (or dropped the
    /// deleted topics), or at its deadline.
    Creating(u64),
}

/// What handling a request decided, for the broker to carry out.
#[derive(Debug)]
#[must_use]
pub(crate) struct Handled {
    /// The request's header, when the frame had one the broker can answer.
    pub request: Option<Answering>,
    pub reply: Reply,
    /// Partitions that got records, or whose high watermark or leadership
    /// changed: requests parked on them may be answered now.
    pub appended: Vec<TopicPartition>,
    /// Responses to requests the group coordinator held, by connection.
    pub answers: Vec<(ConnId, ResponseBody)>,
    /// The group metadata record [`answers`](Self::answers) wait for
    /// (SyncGroup in a ZooKeeper cluster, see [`sync_group`]).
    pub stored: Option<crate::coordinator::group::GroupStore>,
    /// The group coordinator's next deadline, when the request moved it.
    pub group_deadline: Option<Option<Now>>,
    /// Topics for the driver to create in ZooKeeper, with the request id
    /// it reports back with (ZooKeeper mode).
    pub create: Option<(u64, Vec<NewTopic>)>,
    /// The controller's partition states changed (UpdateMetadata): held
    /// CreateTopics requests may be answered now.
    pub metadata_updated: bool,
    /// What the held request asks of the controller (ZooKeeper mode).
    pub ask: Option<crate::coordinator::controller::ControllerAsk>,
    /// Topics for the driver to mark for deletion in ZooKeeper.
    pub delete: Vec<String>,
    /// Partitions for the driver to add in ZooKeeper, with the request id
    /// it reports back with.
    pub add: Option<(u64, Vec<crate::state::assignment::NewPartitions>)>,
    /// ACLs or SCRAM credentials for the driver to write to ZooKeeper,
    /// and the held answer (ZooKeeper mode).
    pub zk_write: Option<super::ZkWrite>,
}

impl Handled {
    pub(super) fn reply(reply: Reply) -> Handled {
        Handled {
            request: None,
            reply,
            appended: Vec::new(),
            answers: Vec::new(),
            stored: None,
            group_deadline: None,
            create: None,
            metadata_updated: false,
            ask: None,
            delete: Vec::new(),
            add: None,
            zk_write: None,
        }
    }

    pub(super) fn respond(body: ResponseBody) -> Handled {
        Handled::reply(Reply::Response(body))
    }

    /// What a group decision settled: the reply `reply` makes of its
    /// outcome, its answers to held requests, and the coordinator's next
    /// deadline.
    pub(super) fn group<T>(
        s: Settled<T>,
        reply: impl FnOnce(Result<T, ErrorCode>) -> Reply,
    ) -> Handled {
        Handled {
            appended: s.written.into_iter().map(|(tp, _)| tp).collect(),
            answers: s.answers,
            group_deadline: Some(s.next_deadline),
            ..Handled::reply(reply(s.reply))
        }
    }
}
