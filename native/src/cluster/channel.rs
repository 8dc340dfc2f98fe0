//! What the controller tells whom: the decisions of Kafka's
//! `ControllerChannelManager`, for membership. Sans-I/O: [`Channels`]
//! takes the role and the live brokers and returns [`Step`]s, which
//! [`super::sender`] carries out over the network.
//!
//! While this broker is the controller it keeps one channel (a queue and
//! a connection) to every live broker, itself included, and sends each of
//! them an [`Update`] (UpdateMetadata):
//!
//! - on winning the election, to every live broker (Kafka's
//!   `onControllerFailover`);
//! - whenever the live brokers change, to every live broker (Kafka's
//!   `onBrokerStartup` and `onBrokerFailure`). A broker that registered
//!   again (a new broker epoch, or a new address) gets a new channel, as
//!   Kafka treats a bounced broker as one that failed and started.
//!
//! A broker that leaves the live set loses its channel, and with it what
//! was queued for it; a controller that resigns (or whose term changes)
//! closes every channel at once, so nothing more goes out in its name.

use std::sync::Arc;

use super::engine::{BrokerEpoch, BrokerId, BrokerInfo, Registered};

/// One UpdateMetadata, for one broker: the controller, its term, the
/// broker epoch of the registration it is meant for, and the live brokers
/// (no partition states yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Update {
    /// This broker, the controller.
    pub controller_id: BrokerId,
    /// The controller's term.
    pub controller_epoch: i32,
    /// The epoch of the target's registration, as the controller read it.
    pub broker_epoch: BrokerEpoch,
    /// The live brokers, by id (shared by the updates of one round).
    pub brokers: Arc<[BrokerInfo]>,
}

/// What the I/O part does, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// Open a channel to this broker (it will connect, and reconnect, by
    /// itself).
    Open(Registered),
    /// Close the channel to this broker now, dropping what is queued.
    Close(BrokerId),
    /// Queue this update on the broker's channel.
    Send(BrokerId, Update),
}

/// The channels the controller keeps, and what it last told.
#[derive(Debug, Default)]
pub(crate) struct Channels {
    /// The term the channels belong to (`None`: not the controller).
    term: Option<i32>,
    /// The live brokers last told, by id: one channel each.
    open: Vec<Registered>,
}

impl Channels {
    /// This broker (`me`) is the controller in term `term` (or, `None`,
    /// is not), and `live` are the live brokers it last read: the steps
    /// that bring the channels and what they were told up to date. Calling
    /// it again with nothing changed returns no steps.
    #[must_use]
    pub(crate) fn handle(
        &mut self,
        me: BrokerId,
        term: Option<i32>,
        live: &[Registered],
    ) -> Vec<Step> {
        let mut steps = Vec::new();
        let new_term = term != self.term;
        if new_term {
            steps.extend(self.open.drain(..).map(|r| Step::Close(r.info.id)));
            self.term = term;
        }
        let Some(epoch) = term else {
            return steps;
        };
        let mut live = live.to_vec();
        live.sort_by_key(|r| r.info.id);
        live.dedup_by_key(|r| r.info.id);
        if !new_term && live == self.open {
            return steps;
        }
        for old in &self.open {
            if !live.contains(old) {
                steps.push(Step::Close(old.info.id));
            }
        }
        for r in &live {
            if !self.open.contains(r) {
                steps.push(Step::Open(r.clone()));
            }
        }
        let brokers: Arc<[BrokerInfo]> = live.iter().map(|r| r.info.clone()).collect();
        for r in &live {
            steps.push(Step::Send(
                r.info.id,
                Update {
                    controller_id: me,
                    controller_epoch: epoch,
                    broker_epoch: r.epoch,
                    brokers: brokers.clone(),
                },
            ));
        }
        self.open = live;
        steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: BrokerId = 1;

    fn reg(id: BrokerId, epoch: i64) -> Registered {
        Registered {
            info: BrokerInfo {
                id,
                host: "127.0.0.1".into(),
                port: 9090 + id,
                rack: None,
            },
            epoch: BrokerEpoch(epoch),
        }
    }

    /// The steps, written short: `open 2`, `close 2`, `send 2 e7 [1,2]`
    /// (target, controller epoch, live ids), after checking every update
    /// names this controller and its target's own broker epoch.
    fn show(steps: &[Step], live: &[Registered]) -> Vec<String> {
        steps
            .iter()
            .map(|s| match s {
                Step::Open(r) => format!("open {}", r.info.id),
                Step::Close(id) => format!("close {id}"),
                Step::Send(id, u) => {
                    assert_eq!(u.controller_id, ME);
                    let target = live.iter().find(|r| r.info.id == *id).expect("live");
                    assert_eq!(u.broker_epoch, target.epoch, "the target's own epoch");
                    let ids: Vec<String> = u.brokers.iter().map(|b| b.id.to_string()).collect();
                    format!("send {id} e{} [{}]", u.controller_epoch, ids.join(","))
                }
            })
            .collect()
    }

    #[test]
    fn a_new_controller_tells_every_live_broker_itself_included() {
        let mut c = Channels::default();
        let live = [reg(2, 20), reg(1, 10), reg(3, 30)];
        let steps = c.handle(ME, Some(4), &live);
        assert_eq!(
            show(&steps, &live),
            [
                "open 1",
                "open 2",
                "open 3",
                "send 1 e4 [1,2,3]",
                "send 2 e4 [1,2,3]",
                "send 3 e4 [1,2,3]"
            ]
        );
        assert!(c.handle(ME, Some(4), &live).is_empty(), "nothing changed");
    }

    #[test]
    fn a_broker_that_goes_loses_its_channel_and_the_others_hear_of_it() {
        let mut c = Channels::default();
        let _ = c.handle(ME, Some(1), &[reg(1, 10), reg(2, 20), reg(3, 30)]);
        let live = [reg(1, 10), reg(3, 30)];
        assert_eq!(
            show(&c.handle(ME, Some(1), &live), &live),
            ["close 2", "send 1 e1 [1,3]", "send 3 e1 [1,3]"]
        );
        // It comes back, registered anew: a channel of its own, and all hear.
        let live = [reg(1, 10), reg(2, 40), reg(3, 30)];
        assert_eq!(
            show(&c.handle(ME, Some(1), &live), &live),
            [
                "open 2",
                "send 1 e1 [1,2,3]",
                "send 2 e1 [1,2,3]",
                "send 3 e1 [1,2,3]"
            ]
        );
    }

    #[test]
    fn a_bounced_broker_gets_a_new_channel() {
        let mut c = Channels::default();
        let _ = c.handle(ME, Some(1), &[reg(1, 10), reg(2, 20)]);
        // Broker 2 restarted between two reads: same id, a new registration.
        let live = [reg(1, 10), reg(2, 25)];
        assert_eq!(
            show(&c.handle(ME, Some(1), &live), &live),
            ["close 2", "open 2", "send 1 e1 [1,2]", "send 2 e1 [1,2]"]
        );
    }

    #[test]
    fn a_resigning_controller_closes_every_channel_at_once() {
        let mut c = Channels::default();
        let live = [reg(1, 10), reg(2, 20)];
        let _ = c.handle(ME, Some(1), &live);
        assert_eq!(
            show(&c.handle(ME, None, &live), &live),
            ["close 1", "close 2"]
        );
        assert!(c.handle(ME, None, &live).is_empty());
        // Elected again, later: a new term, everything again.
        assert_eq!(
            show(&c.handle(ME, Some(3), &live), &live),
            ["open 1", "open 2", "send 1 e3 [1,2]", "send 2 e3 [1,2]"]
        );
    }

    #[test]
    fn a_new_term_starts_over_even_with_the_same_brokers() {
        let mut c = Channels::default();
        let live = [reg(1, 10), reg(2, 20)];
        let _ = c.handle(ME, Some(1), &live);
        assert_eq!(
            show(&c.handle(ME, Some(2), &live), &live),
            [
                "close 1",
                "close 2",
                "open 1",
                "open 2",
                "send 1 e2 [1,2]",
                "send 2 e2 [1,2]"
            ]
        );
    }

    #[test]
    fn a_controller_that_has_not_read_the_brokers_yet_sends_nothing() {
        let mut c = Channels::default();
        assert!(c.handle(ME, Some(1), &[]).is_empty());
        let live = [reg(1, 10)];
        assert_eq!(
            show(&c.handle(ME, Some(1), &live), &live),
            ["open 1", "send 1 e1 [1]"]
        );
    }
}
