//! Cluster membership: which brokers are alive and which one is the
//! controller, as the controller last said in UpdateMetadata (Kafka 2.x,
//! ZooKeeper mode).
//!
//! In a ZooKeeper-coordinated cluster the controller, elected in
//! ZooKeeper, tells every broker who is alive (each broker's id, its
//! endpoints by listener, its rack) and who the controller is. Each such
//! message carries the controller's epoch (raised at every election) and
//! the epoch of the broker it is for (the zxid that created the broker's
//! registration, new at every registration). [`Membership`] keeps the
//! newest view, and the two epochs that tell a stale sender from a current
//! one. Metadata and DescribeCluster list brokers and the controller from
//! here, each broker by its endpoint on the listener the client came in
//! on ([`Membership::brokers_on`]); a broker without one is left out, as
//! Kafka leaves it out.
//!
//! # States
//!
//! ```text
//!            update (epochs not stale)
//!   Alone ─────────────────────────────> Told { brokers, controller_id }
//!                                          │                ▲
//!                                          └────────────────┘
//!                                 update (epochs not stale): the new view
//!                                 replaces the old one whole
//! ```
//!
//! `Alone` is where every broker starts, and where a single broker (not in
//! ZooKeeper mode, [`Config::zk_mode`](super::Config::zk_mode)) stays: the
//! broker itself is the only broker and the controller. A stale update
//! changes nothing.
//!
//! # Partitions
//!
//! UpdateMetadata's partition states (every partition's leader, epochs,
//! ISR and replicas) are kept apart, in [`super::leadership`], with the
//! partitions LeaderAndIsr makes this broker host.

use bytestring::ByteString;

use super::Config;
use crate::protocol::ErrorCode;

/// The controller id reported when none is known.
pub(crate) const NO_CONTROLLER: i32 = -1;

/// The controller epoch a broker starts from (Kafka's
/// `KafkaController.InitialControllerEpoch`): a request below it is stale.
const INITIAL_CONTROLLER_EPOCH: i32 = 0;

/// A broker epoch that is not known: the check against it is skipped.
pub(crate) const UNKNOWN_BROKER_EPOCH: i64 = -1;

/// A live broker: its endpoint on the inter-broker listener
/// ([`Config::listener_name`]), where replicas reach it, and its endpoints
/// on every listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LiveBroker {
    pub id: i32,
    pub host: ByteString,
    pub port: i32,
    pub rack: Option<ByteString>,
    /// Every endpoint, as (listener, host, port).
    pub endpoints: Vec<(ByteString, ByteString, i32)>,
}

impl LiveBroker {
    /// Its endpoint on `listener`.
    pub fn on(&self, listener: &str) -> Option<(ByteString, i32)> {
        self.endpoints
            .iter()
            .find(|(l, _, _)| l == listener)
            .map(|(_, h, p)| (h.clone(), *p))
    }
}

/// What the broker knows of the cluster's members.
#[derive(Debug, Clone, PartialEq, Eq)]
enum View {
    /// No controller has spoken: this broker alone, itself the controller.
    Alone,
    /// The controller's last word: the live brokers (by id, one each) and
    /// the controller (`None` when the controller sent a negative id).
    Told {
        brokers: Vec<LiveBroker>,
        controller_id: Option<i32>,
    },
}

/// One UpdateMetadata's membership, as the API layer read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Update {
    pub controller_id: i32,
    pub controller_epoch: i32,
    /// The broker epoch the controller addressed ([`UNKNOWN_BROKER_EPOCH`]
    /// before v5).
    pub broker_epoch: i64,
    /// The live brokers; a repeated id keeps the last.
    pub brokers: Vec<LiveBroker>,
}

/// The live brokers, the controller, and the epochs that order what the
/// controller says.
#[derive(Debug, Clone)]
pub(crate) struct Membership {
    /// This broker, as its config describes it.
    me: LiveBroker,
    view: View,
    /// The newest controller epoch seen.
    controller_epoch: i32,
    /// This broker's epoch, as the driver registered it.
    broker_epoch: i64,
}

impl Membership {
    /// A broker that knows only itself.
    pub fn new(config: &Config) -> Membership {
        Membership {
            me: LiveBroker {
                id: config.node_id,
                host: config.advertised_host.as_str().into(),
                port: config.advertised_port,
                rack: config.rack.as_deref().map(Into::into),
                endpoints: (config.endpoints().into_iter())
                    .map(|e| (e.listener.into(), e.host.into(), e.port))
                    .collect(),
            },
            view: View::Alone,
            controller_epoch: INITIAL_CONTROLLER_EPOCH,
            broker_epoch: UNKNOWN_BROKER_EPOCH,
        }
    }

    /// The live brokers, by id.
    pub fn brokers(&self) -> &[LiveBroker] {
        match &self.view {
            View::Alone => std::slice::from_ref(&self.me),
            View::Told { brokers, .. } => brokers,
        }
    }

    /// The controller's id ([`NO_CONTROLLER`] when the controller said none).
    pub fn controller_id(&self) -> i32 {
        match &self.view {
            View::Alone => self.me.id,
            View::Told { controller_id, .. } => controller_id.unwrap_or(NO_CONTROLLER),
        }
    }

    /// This broker's epoch ([`UNKNOWN_BROKER_EPOCH`] until the driver
    /// registers it).
    pub fn broker_epoch(&self) -> i64 {
        self.broker_epoch
    }

    /// This broker (re)registered with epoch `epoch`: requests addressed to
    /// an older incarnation are stale from now on.
    pub fn set_broker_epoch(&mut self, epoch: i64) {
        self.broker_epoch = epoch;
    }

    /// Whether a controller request stamped with these epochs may be
    /// applied, in Kafka's order: STALE_BROKER_EPOCH when it was meant for
    /// an older incarnation of this broker (a broker that restarted quickly
    /// can still receive those), then STALE_CONTROLLER_EPOCH when it comes
    /// from a controller older than the newest one seen. A broker epoch
    /// unknown on either side is not checked; a newer one than this
    /// broker's is accepted (the controller can learn of a registration
    /// before the broker does).
    pub fn admit(&self, controller_epoch: i32, broker_epoch: i64) -> Result<(), ErrorCode> {
        let known =
            broker_epoch != UNKNOWN_BROKER_EPOCH && self.broker_epoch != UNKNOWN_BROKER_EPOCH;
        if known && broker_epoch < self.broker_epoch {
            return Err(ErrorCode::STALE_BROKER_EPOCH);
        }
        if controller_epoch < self.controller_epoch {
            return Err(ErrorCode::STALE_CONTROLLER_EPOCH);
        }
        Ok(())
    }

    /// Admits a controller request ([`Membership::admit`]) and, when it
    /// passes, makes its controller epoch the newest seen: LeaderAndIsr,
    /// StopReplica and UpdateMetadata share one controller epoch, as
    /// Kafka's replica manager keeps one for all three.
    pub fn accept(&mut self, controller_epoch: i32, broker_epoch: i64) -> Result<(), ErrorCode> {
        self.admit(controller_epoch, broker_epoch)?;
        self.controller_epoch = controller_epoch;
        Ok(())
    }

    /// Whether broker `id` is alive (this broker alone until told).
    pub fn is_live(&self, id: i32) -> bool {
        self.broker(id).is_some()
    }

    /// The live brokers as clients of `listener` reach them: each with
    /// its (host, port) there, by id; a broker without an endpoint on
    /// `listener` is left out.
    pub fn brokers_on<'a>(
        &'a self,
        listener: &'a str,
    ) -> impl Iterator<Item = (&'a LiveBroker, ByteString, i32)> + 'a {
        self.brokers()
            .iter()
            .filter_map(move |b| self.endpoint_of(b, listener).map(|(h, p)| (b, h, p)))
    }

    /// Live broker `b`'s endpoint on `listener`, as the controller passed
    /// it on (Kafka's metadata cache); for this broker, its own config's
    /// when the controller's lacks that listener.
    pub fn endpoint_of(&self, b: &LiveBroker, listener: &str) -> Option<(ByteString, i32)> {
        b.on(listener)
            .or_else(|| (b.id == self.me.id).then(|| self.me.on(listener)).flatten())
    }

    /// Live broker `id`, as replicas reach it (its inter-broker endpoint).
    pub fn broker(&self, id: i32) -> Option<&LiveBroker> {
        self.brokers().iter().find(|b| b.id == id)
    }

    /// Applies an update the epochs admit: its brokers and controller
    /// replace the view whole (a broker it leaves out is gone), and its
    /// controller epoch becomes the newest seen. A stale update changes
    /// nothing and returns the error for the response.
    pub fn update(&mut self, u: Update) -> Result<(), ErrorCode> {
        self.admit(u.controller_epoch, u.broker_epoch)?;
        let mut brokers: Vec<LiveBroker> = Vec::with_capacity(u.brokers.len());
        for b in u.brokers {
            match brokers.iter_mut().find(|x| x.id == b.id) {
                Some(x) => *x = b,
                None => brokers.push(b),
            }
        }
        brokers.sort_by_key(|b| b.id);
        self.view = View::Told {
            brokers,
            controller_id: (u.controller_id >= 0).then_some(u.controller_id),
        };
        self.controller_epoch = u.controller_epoch;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broker(id: i32) -> LiveBroker {
        LiveBroker {
            id,
            host: format!("b{id}").into(),
            port: 9092,
            rack: None,
            endpoints: vec![
                ("PLAINTEXT".into(), format!("b{id}").into(), 9092),
                ("SSL".into(), format!("b{id}").into(), 9093),
            ],
        }
    }

    fn update(controller_epoch: i32, broker_epoch: i64, ids: &[i32]) -> Update {
        Update {
            controller_id: ids[0],
            controller_epoch,
            broker_epoch,
            brokers: ids.iter().map(|&i| broker(i)).collect(),
        }
    }

    #[test]
    fn alone_until_told() {
        let m = Membership::new(&Config::default());
        assert_eq!(m.brokers().len(), 1);
        assert_eq!(m.brokers()[0].id, 1);
        assert_eq!(m.controller_id(), 1);
        let on: Vec<_> = m
            .brokers_on("PLAINTEXT")
            .map(|(b, h, p)| (b.id, h, p))
            .collect();
        assert_eq!(on, [(1, "127.0.0.1".into(), 9092)]);
        assert_eq!(m.brokers_on("SSL").count(), 0);
    }

    #[test]
    fn each_listener_sees_the_brokers_that_have_it() {
        let config = Config {
            advertised_listeners: vec![
                crate::state::Endpoint {
                    listener: "PLAINTEXT".into(),
                    host: "h".into(),
                    port: 1,
                    protocol: crate::security::SecurityProtocol::Plaintext,
                },
                crate::state::Endpoint {
                    listener: "SSL".into(),
                    host: "h".into(),
                    port: 2,
                    protocol: crate::security::SecurityProtocol::Ssl,
                },
            ],
            ..Config::default()
        };
        let mut m = Membership::new(&config);
        assert_eq!(
            m.brokers_on("SSL").map(|(_, _, p)| p).collect::<Vec<_>>(),
            [2]
        );
        let mut u = update(1, -1, &[1, 2]);
        u.brokers[1].endpoints.retain(|(l, _, _)| l != "SSL");
        m.update(u).unwrap();
        // Broker 1 is this one: the controller's endpoints for it count,
        // as in Kafka's metadata cache.
        let ssl: Vec<_> = m.brokers_on("SSL").map(|(b, _, p)| (b.id, p)).collect();
        assert_eq!(ssl, [(1, 9093)]);
        assert_eq!(m.brokers_on("PLAINTEXT").count(), 2);
        let mut u = update(1, -1, &[1, 2]);
        u.brokers[1].endpoints.retain(|(l, _, _)| l == "SSL");
        u.brokers[0].endpoints.clear();
        m.update(u).unwrap();
        // With none from the controller, its own config's fill in.
        let ssl: Vec<_> = m.brokers_on("SSL").map(|(b, _, p)| (b.id, p)).collect();
        assert_eq!(ssl, [(1, 2), (2, 9093)]);
        assert_eq!(m.brokers_on("PLAINTEXT").count(), 1);
    }

    #[test]
    fn newest_view_wins_and_stale_ones_change_nothing() {
        let mut m = Membership::new(&Config::default());
        m.update(update(3, -1, &[2, 1, 3, 2])).unwrap();
        let ids: Vec<i32> = m.brokers().iter().map(|b| b.id).collect();
        assert_eq!(ids, [1, 2, 3]);
        assert_eq!(m.controller_id(), 2);
        assert_eq!(
            m.update(update(2, -1, &[1])),
            Err(ErrorCode::STALE_CONTROLLER_EPOCH)
        );
        assert_eq!(m.brokers().len(), 3);
        // The same epoch is current: the controller sends many updates.
        m.update(update(3, -1, &[1, 3])).unwrap();
        assert_eq!(m.brokers().len(), 2);
    }

    #[test]
    fn broker_epoch_is_checked_first_and_only_when_known() {
        let mut m = Membership::new(&Config::default());
        m.update(update(0, 5, &[1])).unwrap();
        m.set_broker_epoch(10);
        assert_eq!(m.admit(-1, 9), Err(ErrorCode::STALE_BROKER_EPOCH));
        assert_eq!(m.admit(-1, 10), Err(ErrorCode::STALE_CONTROLLER_EPOCH));
        assert_eq!(m.admit(0, UNKNOWN_BROKER_EPOCH), Ok(()));
        assert_eq!(m.admit(0, 11), Ok(()));
    }

    #[test]
    fn a_negative_controller_id_is_no_controller() {
        let mut m = Membership::new(&Config::default());
        let mut u = update(1, -1, &[1]);
        u.controller_id = -1;
        m.update(u).unwrap();
        assert_eq!(m.controller_id(), NO_CONTROLLER);
    }
}
