//! The membership loop: one task per broker that keeps it registered,
//! runs the controller election, and follows who the controller is, as
//! Kafka's controller event thread does for its `Startup`, `Reelect`,
//! `ControllerChange`, `Expire` and `RegisterBrokerAndReelect` events.
//!
//! The loop owns the [`Engine`]. What to do next is decided by
//! [`on_event`], a pure function of the [`Role`] and the [`Event`]; the
//! loop then does the engine calls it asks for ([`Todo`]), retrying failed
//! ones after [`RETRY`].
//!
//! Each registration's broker epoch goes to the broker's owner task
//! ([`Tell`], [`News::Registered`]), and so do the configs of every topic
//! that appears under `/brokers/topics` ([`News::TopicConfigs`], read from
//! `/config/topics/<topic>` by every broker, as Kafka's brokers read
//! them), and its dynamic configs ([`News::BrokerConfigs`], from
//! `/config/brokers`: `super::broker_configs`). While this broker is the
//! controller, the loop also
//! keeps the controller's channels to the live brokers ([`Channels`]
//! decides, [`Senders`] sends): after every change of role or of the live
//! brokers it read, and right after an event, so a resigning controller
//! stops sending before it does anything else. The channels' StopReplica
//! answers come back to the loop, which hands them to the controller's
//! driver (`Control::stop_replica_answered`).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use spate_core::broker::{ControllerAnswer, ControllerAsk};
use spate_core::protocol::ErrorCode;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tracing::{debug, error, info, warn};

use super::admin::{
    add_partitions, create_topics, mark_deletions, write_isr, write_topic_configs, Command,
};
use super::channel::Channels;
use super::config_changes::{now_ms, read_config_changes, tell_configs};
use super::control::{Answer, Asker, Control};
use super::engine::{
    BrokerId, BrokerInfo, ControllerEpoch, Election, Engine, EngineError, Event, Registered,
};
use super::news::{News, Tell};
use super::rebalance::{RebalanceConfig, RebalanceTimer};
use super::sender::Senders;
use super::shutdown::{self, Leaving};
use crate::serve::outbound::InterBroker;

/// Pause before retrying a failed registration or election.
pub(crate) const RETRY: Duration = Duration::from_secs(1);

/// Pause before trying again to register an id another broker holds
/// (it may be going away; if not, the log says so now and then).
const RETRY_TAKEN: Duration = Duration::from_secs(10);

/// What this broker is in the cluster.
///
/// ```text
///            registered at startup
///                    |
///                    v          ControllerChanged(other)
///      +----> Broker { controller } <------------------+
///      |         |        ^                            |
///      |   elect: won     | elect: lost,               |
///      |         |        | ControllerGone (resign)    |
///      |         v        |                            |
///      |      Controller { epoch } --------------------+
///      |
///      |  register, elect       SessionExpired (from either state)
///      +------------------ Detached <------------------
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Role {
    /// Registered; `controller` is the broker that claims the role, if
    /// known.
    Broker {
        /// The controller's id.
        controller: Option<BrokerId>,
    },
    /// This broker is the controller, in this term.
    Controller {
        /// The term.
        epoch: ControllerEpoch,
    },
    /// The session is gone: not registered, not the controller. Leaves by
    /// registering again once a new session is open.
    Detached,
}

/// Engine calls the loop owes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Todo {
    /// Register this broker.
    pub register: bool,
    /// Run the election (after registering, when both are due).
    pub elect: bool,
    /// Read the live brokers (the controller, when they changed).
    pub brokers: bool,
    /// Read the topics (the controller, when they changed).
    pub topics: bool,
    /// Read the ISR change notifications (the controller, when there are).
    pub isr_changes: bool,
    /// Read the topics marked for deletion (the controller, when there are).
    pub deletions: bool,
}

/// Applies `event` to `role` and says which engine calls follow.
pub(crate) fn on_event(me: BrokerId, role: &mut Role, todo: &mut Todo, event: Event) {
    match event {
        Event::SessionExpired => {
            match role {
                Role::Controller { epoch } => warn!(
                    "session expired: this broker is no longer the controller (epoch {}) nor registered",
                    epoch.epoch
                ),
                _ => warn!("session expired: this broker is no longer registered"),
            }
            *role = Role::Detached;
            *todo = Todo::default();
        }
        Event::SessionReestablished => {
            info!("new session: registering again");
            *todo = Todo {
                register: true,
                elect: true,
                ..Todo::default()
            };
        }
        Event::ControllerGone => match role {
            Role::Detached => {}
            Role::Controller { epoch } => {
                warn!(
                    "the controller claim of this broker is gone: resigning (epoch {})",
                    epoch.epoch
                );
                *role = Role::Broker { controller: None };
                todo.elect = true;
            }
            Role::Broker { controller } => {
                if let Some(old) = controller.take() {
                    info!("controller broker {old} is gone: electing");
                }
                todo.elect = true;
            }
        },
        Event::ControllerChanged(id) => match role {
            Role::Controller { .. } if id == me => {}
            Role::Controller { epoch } => {
                warn!(
                    "controller moved to broker {id}: resigning (epoch {})",
                    epoch.epoch
                );
                *role = Role::Broker {
                    controller: Some(id),
                };
                info!("controller is broker {id}");
            }
            Role::Broker { controller } if *controller != Some(id) => {
                if id == me {
                    // A claim of ours the loop did not see succeed (an
                    // answer lost with the connection): the election
                    // learns its epoch.
                    todo.elect = true;
                } else {
                    *controller = Some(id);
                    info!("controller is broker {id}");
                }
            }
            Role::Broker { .. } | Role::Detached => {}
        },
        // The controller acts on membership (Kafka's BrokerChange): it
        // reads the live brokers and tells them all.
        Event::BrokersChanged(ids) => match role {
            Role::Controller { .. } => todo.brokers = true,
            _ => debug!(brokers = ?ids, "registered brokers changed"),
        },
        // And on leaders' ISR changes (Kafka's IsrChangeNotification).
        Event::IsrChangesNotified(names) => {
            if matches!(role, Role::Controller { .. }) && !names.is_empty() {
                todo.isr_changes = true;
            }
        }
        // A topic's assignment changed (Kafka's PartitionModifications):
        // the loop hands it to the controller's driver itself.
        Event::DataChanged(_) => {}
        // Every broker reads config changes (Kafka's ConfigChangeListener);
        // the loop does it itself.
        Event::ConfigChanges(_) | Event::AclChanges { .. } => {}
        // And on deletions (Kafka's TopicDeletion).
        Event::DeletionsRequested(names) => {
            if matches!(role, Role::Controller { .. }) && !names.is_empty() {
                todo.deletions = true;
            }
        }
        // And on topics (Kafka's TopicChange): it reads the new ones.
        Event::TopicsChanged(names) => match role {
            Role::Controller { .. } => todo.topics = true,
            _ => debug!(topics = names.len(), "topics changed"),
        },
    }
}

/// Records an election's outcome in `role`.
pub(crate) fn on_election(role: &mut Role, outcome: Election) {
    match outcome {
        Election::Won(epoch) => {
            info!("this broker is the controller (epoch {})", epoch.epoch);
            *role = Role::Controller { epoch };
        }
        Election::Lost(controller) => {
            let known = matches!(role, Role::Broker { controller: c } if *c == controller);
            if !known {
                match controller {
                    Some(id) => info!("controller is broker {id}"),
                    None => debug!(
                        "the elected controller already resigned; waiting for the next election"
                    ),
                }
            }
            *role = Role::Broker { controller };
        }
    }
}

/// The controller term of `role`, if it is the controller.
fn term(role: &Role) -> Option<i32> {
    controller_epoch(role).map(|e| e.epoch)
}

/// The controller epoch of `role`, if it is the controller.
fn controller_epoch(role: &Role) -> Option<ControllerEpoch> {
    match role {
        Role::Controller { epoch } => Some(*epoch),
        _ => None,
    }
}

/// Does what `todo` asks, in order, clearing each item done.
async fn work<E: Engine>(
    engine: &mut E,
    me: &BrokerInfo,
    tell: &Tell,
    role: &mut Role,
    todo: &mut Todo,
    known: &mut Vec<Registered>,
) -> Result<(), EngineError> {
    if todo.register {
        let epoch = engine.register(me).await?;
        info!("registered broker {} (broker epoch {})", me.id, epoch.0);
        tell(News::Registered(epoch));
        todo.register = false;
        *role = Role::Broker { controller: None };
    }
    if todo.elect && !matches!(role, Role::Detached) {
        let outcome = engine.try_elect(me.id).await?;
        todo.elect = false;
        // A new controller starts from the live brokers (Kafka's
        // onControllerFailover).
        if matches!(outcome, Election::Won(_)) {
            todo.brokers = true;
            known.clear();
        }
        on_election(role, outcome);
    }
    if todo.brokers && matches!(role, Role::Controller { .. }) {
        let brokers = engine.live_brokers().await?;
        if brokers != *known {
            let list: Vec<String> = brokers
                .iter()
                .map(|b| {
                    let b = &b.info;
                    format!("{} at {}:{}", b.id, b.host, b.port)
                })
                .collect();
            info!("live brokers: {}", list.join(", "));
            *known = brokers;
        }
    }
    todo.brokers = false;
    Ok(())
}

/// Runs until `stop` fires (or its sender is dropped), then closes the
/// engine's session. `me` is registered already (and `tell` was told).
pub(crate) async fn run<E: Engine>(
    mut engine: E,
    me: BrokerInfo,
    tell: Tell,
    mut commands: mpsc::UnboundedReceiver<Command>,
    mut stop: oneshot::Receiver<()>,
    (rebalance, inter_broker): (RebalanceConfig, Arc<InterBroker>),
) {
    let mut rebalance_timer = RebalanceTimer::default();
    let mut role = Role::Broker { controller: None };
    let mut todo = Todo {
        elect: true,
        ..Todo::default()
    };
    let mut retry_at: Option<Instant> = None;
    // The live brokers the controller last read.
    let mut known = Vec::new();
    let mut channels = Channels::default();
    let (stopped, mut stop_answers) = mpsc::unbounded_channel();
    let mut senders = Senders::new(me.id, stopped, inter_broker.clone());
    let mut control = Control::default();
    // The topics under /brokers/topics as last seen, and those whose
    // configs the broker has not been told yet.
    let mut topics = BTreeSet::new();
    let mut configs_owed = BTreeSet::new();
    // A controlled shutdown in progress.
    let mut leaving: Option<Leaving> = None;
    // The sequence number of the last config change announcement read.
    let mut last_change: Option<u64> = None;
    let mut security = super::security::Follow::default();
    let tell_security = |news| tell(News::Security(news));
    if let Err(e) = security.load(&engine, &tell_security).await {
        warn!(error = %e, "reading ACLs and users failed; they are read at the next change");
    }
    let mut broker_configs = super::broker_configs::Follow::default();
    if let Err(e) = broker_configs.load(&engine, me.id, &tell).await {
        warn!(error = %e, "reading dynamic broker configs failed; they are read at the next change");
    }
    loop {
        if retry_at.is_none() && (todo.register || todo.elect || todo.brokers) {
            // A call waits while the engine is unreachable; shutdown does not.
            let done = tokio::select! {
                done = work(&mut engine, &me, &tell, &mut role, &mut todo, &mut known) => done,
                _ = &mut stop => break,
            };
            match done {
                Ok(()) => {}
                // The engine reports the end of the session as an event.
                Err(EngineError::SessionLost) => {}
                Err(e @ EngineError::BrokerIdTaken { .. }) => {
                    error!("{e}");
                    retry_at = Some(Instant::now() + RETRY_TAKEN);
                }
                Err(e) => {
                    warn!(error = %e, "cluster membership: retrying");
                    retry_at = Some(Instant::now() + RETRY);
                }
            }
        }
        senders.apply(channels.handle(me.id, term(&role), &known));
        if std::mem::take(&mut todo.topics) {
            control.topics_changed();
        }
        if std::mem::take(&mut todo.isr_changes) {
            control.isr_changes_notified();
        }
        if std::mem::take(&mut todo.deletions) {
            control.deletions_requested();
        }
        if retry_at.is_none() && !configs_owed.is_empty() {
            let done = tokio::select! {
                done = tell_configs(&engine, &tell, &mut configs_owed) => done,
                _ = &mut stop => break,
            };
            if let Err(e) = done {
                warn!(error = %e, "reading topic configs: retrying");
                retry_at = Some(Instant::now() + RETRY);
            }
        }
        if let Some(l) = leaving.as_mut().filter(|l| l.due()) {
            let outcome = match &role {
                Role::Controller { .. } => {
                    match shutdown::check(&known, me.id, -1)
                        .and_then(|()| control.controlled_shutdown(me.id, Asker::Me))
                    {
                        Ok(()) => None,
                        Err(code) => Some(Err(format!("this broker's controller: {code}"))),
                    }
                }
                Role::Broker {
                    controller: Some(id),
                } => Some(tokio::select! {
                    o = shutdown::ask_controller(&engine, (me.id, &inter_broker), *id) => o,
                    _ = &mut stop => break,
                }),
                _ => Some(Err("no controller known".to_string())),
            };
            match outcome {
                None => l.asked_myself(),
                Some(outcome) => {
                    l.asked();
                    if l.answered(outcome) {
                        leaving = None;
                    }
                }
            }
        }
        // The controller's partition work, once it knows the live brokers
        // (deciding with none read would take every partition offline).
        match controller_epoch(&role) {
            Some(epoch) if retry_at.is_none() && !todo.brokers && !known.is_empty() => {
                let done = tokio::select! {
                    done = control.step(&engine, me.id, epoch, &known, &channels, &mut senders) => done,
                    _ = &mut stop => break,
                };
                if let Err(e) = done {
                    warn!(error = %e, "controller: retrying");
                    retry_at = Some(Instant::now() + RETRY);
                }
            }
            Some(_) => {}
            None => control.resign(),
        }
        if rebalance_timer.due(&rebalance, term(&role).is_some(), Instant::now()) {
            control.rebalance_check(rebalance.percentage);
        }
        for answer in control.take_answers() {
            match answer {
                Answer::Shutdown(Asker::Conn(conn), result) => tell(News::ControllerAnswered {
                    conn,
                    answer: ControllerAnswer::ControlledShutdown(result),
                }),
                Answer::Shutdown(Asker::Me, result) => {
                    let outcome =
                        result.map_err(|code| format!("this broker's controller: {code}"));
                    if leaving.as_mut().is_some_and(|l| l.answered(outcome)) {
                        leaving = None;
                    }
                }
                Answer::Elected(conn, results) => tell(News::ControllerAnswered {
                    conn,
                    answer: ControllerAnswer::ElectLeaders(results),
                }),
                Answer::Reassigned(conn, results, allow) => tell(News::ControllerAnswered {
                    conn,
                    answer: ControllerAnswer::AlterReassignments(Ok(results), allow),
                }),
            }
        }
        let leave_at = leaving.as_ref().and_then(Leaving::wake_at);
        let check_at = rebalance_timer.wake_at();
        let control_at = control.wake_at();
        tokio::select! {
            _ = async { match check_at { Some(t) => tokio::time::sleep_until(t).await, None => std::future::pending().await } } => {}
            _ = async { match control_at { Some(t) => tokio::time::sleep_until(t).await, None => std::future::pending().await } } => {}
            Some(stopped) = stop_answers.recv() => control.stop_replica_answered(stopped),
            _ = async { match leave_at { Some(t) => tokio::time::sleep_until(t).await, None => std::future::pending().await } } => {}
            _ = &mut stop => break,
            _ = async { match retry_at { Some(t) => tokio::time::sleep_until(t).await, None => std::future::pending().await } } => {
                retry_at = None;
            }
            Some(command) = commands.recv() => match command {
                Command::CreateTopics { request, topics } => {
                    let results = tokio::select! {
                        r = create_topics(&engine, &topics) => r,
                        _ = &mut stop => break,
                    };
                    tell(News::TopicsCreated { request, results });
                }
                Command::CreatePartitions { request, topics } => {
                    let results = tokio::select! {
                        r = add_partitions(&engine, &topics) => r,
                        _ = &mut stop => break,
                    };
                    tell(News::TopicsCreated { request, results });
                }
                Command::WriteTopicConfigs { topic, configs } => {
                    tokio::select! {
                        () = write_topic_configs(&engine, &topic, &configs) => {}
                        _ = &mut stop => break,
                    }
                }
                Command::WriteBrokerConfigs { broker, configs } => tokio::select! {
                    () = super::broker_configs::write_broker_configs(&engine, broker, &configs) => {}
                    _ = &mut stop => break,
                },
                Command::WriteSecurity { conn, write } => {
                    let results = tokio::select! {
                        r = super::security::write_security(&engine, write, &tell_security) => r,
                        _ = &mut stop => break,
                    };
                    tell(News::Security(super::security::SecurityNews::Written(conn, results)));
                }
                Command::DeleteTopics { topics } => {
                    tokio::select! {
                        () = mark_deletions(&engine, &topics) => {}
                        _ = &mut stop => break,
                    }
                }
                Command::WriteIsr { tp, state, version } => {
                    let outcome = tokio::select! {
                        o = write_isr(&engine, &tp, &state, version) => o,
                        _ = &mut stop => break,
                    };
                    let leader_epoch = state.leader_epoch;
                    tell(News::IsrWritten { tp, leader_epoch, outcome });
                }
                Command::AskController { conn, ask: ControllerAsk::ControlledShutdown { broker, broker_epoch } } => {
                    let asked = match term(&role) {
                        None => Err(ErrorCode::NOT_CONTROLLER),
                        Some(_) => shutdown::check(&known, broker, broker_epoch)
                            .and_then(|()| control.controlled_shutdown(broker, Asker::Conn(conn))),
                    };
                    // Otherwise the machine answers once its moves are settled.
                    if let Err(code) = asked {
                        tell(News::ControllerAnswered {
                            conn,
                            answer: ControllerAnswer::ControlledShutdown(Err(code)),
                        });
                    }
                }
                Command::AskController { conn, ask: ControllerAsk::ElectLeaders { preferred, partitions, timeout_ms } } => {
                    match term(&role) {
                        Some(_) => control.elect_leaders(conn, preferred, partitions, timeout_ms),
                        None => {
                            let results = partitions
                                .unwrap_or_default()
                                .into_iter()
                                .map(|tp| (tp, ErrorCode::NOT_CONTROLLER))
                                .collect();
                            tell(News::ControllerAnswered {
                                conn,
                                answer: ControllerAnswer::ElectLeaders(results),
                            });
                        }
                    }
                }
                Command::AskController { conn, ask: ControllerAsk::AlterReassignments { partitions, allow_rf_change } } => {
                    let asked = match term(&role) {
                        None => Err(ErrorCode::NOT_CONTROLLER),
                        Some(_) => control.reassign(conn, partitions, allow_rf_change),
                    };
                    if let Err(code) = asked {
                        tell(News::ControllerAnswered {
                            conn,
                            answer: ControllerAnswer::AlterReassignments(Err(code), allow_rf_change),
                        });
                    }
                }
                Command::AskController { conn, ask: ControllerAsk::ListReassignments { partitions } } => {
                    let listed = match term(&role) {
                        None => Err(ErrorCode::NOT_CONTROLLER),
                        Some(_) => control.list_reassignments(partitions),
                    };
                    tell(News::ControllerAnswered {
                        conn,
                        answer: ControllerAnswer::ListReassignments(listed),
                    });
                }
                Command::ShutDown { config, done } => leaving = Some(Leaving::new(config, done)),
            },
            event = engine.next_event() => match event {
                Ok(event) => {
                    if let (Event::DataChanged(key), Some(_)) = (&event, term(&role)) {
                        control.data_changed(key);
                    }
                    if let Event::ConfigChanges(names) = &event {
                        let (mut users, mut brokers) = (BTreeSet::new(), BTreeSet::new());
                        if let Err(e) = read_config_changes(&engine, names, &mut last_change, &mut configs_owed, (&mut users, &mut brokers), now_ms()).await {
                            warn!(error = %e, "reading config changes failed; they are read at the next one");
                        }
                        if let Err(e) = broker_configs.changes(&engine, me.id, brokers, &tell).await {
                            warn!(error = %e, "reading dynamic broker configs failed; they are read at the next change");
                        }
                        if let Err(e) = security.user_changes(&engine, users, &tell_security).await {
                            warn!(error = %e, "reading users' credentials failed; they are read at the next change");
                        }
                    }
                    if let Event::AclChanges { extended, names } = &event {
                        if let Err(e) = security.acl_changes(&engine, *extended, names, &tell_security, now_ms()).await {
                            warn!(error = %e, "reading ACL changes failed; they are read at the next one");
                        }
                    }
                    if let Event::TopicsChanged(now) = &event {
                        configs_owed.extend(now.difference(&topics).cloned());
                        configs_owed.retain(|t| now.contains(t));
                        topics.clone_from(now);
                    }
                    on_event(me.id, &mut role, &mut todo, event);
                    senders.apply(channels.handle(me.id, term(&role), &known));
                    if term(&role).is_none() {
                        control.resign();
                    }
                }
                Err(e) => {
                    warn!(error = %e, "reading cluster changes failed; retrying");
                    tokio::select! {
                        _ = &mut stop => break,
                        _ = tokio::time::sleep(RETRY) => {}
                    }
                }
            },
        }
    }
    if let Role::Controller { epoch } = role {
        info!(
            "shutting down: resigning as controller (epoch {})",
            epoch.epoch
        );
    }
    drop(senders);
    engine.close().await;
}

#[cfg(test)]
mod tests {
    use super::super::engine::Version;
    use super::*;

    const ME: BrokerId = 1;

    fn term(epoch: i32) -> ControllerEpoch {
        ControllerEpoch {
            epoch,
            version: Version(i64::from(epoch)),
        }
    }

    fn apply(role: Role, events: Vec<Event>) -> (Role, Todo) {
        let mut role = role;
        let mut todo = Todo::default();
        for e in events {
            on_event(ME, &mut role, &mut todo, e);
        }
        (role, todo)
    }

    #[test]
    fn a_controller_that_loses_its_session_stops_being_one_and_registers_again() {
        let (role, todo) = apply(
            Role::Controller { epoch: term(3) },
            vec![Event::SessionExpired],
        );
        assert_eq!(role, Role::Detached);
        assert_eq!(todo, Todo::default());
        // Nothing a dead session's watches say matters until it is back.
        let (role, todo) = apply(
            role,
            vec![
                Event::ControllerGone,
                Event::ControllerChanged(2),
                Event::SessionReestablished,
            ],
        );
        assert_eq!(role, Role::Detached);
        assert_eq!(
            todo,
            Todo {
                register: true,
                elect: true,
                ..Todo::default()
            }
        );
    }

    #[test]
    fn a_controller_resigns_when_another_claims_the_role_or_its_claim_goes() {
        let (role, todo) = apply(
            Role::Controller { epoch: term(3) },
            vec![
                Event::ControllerChanged(ME),
                Event::BrokersChanged([1, 2].into()),
            ],
        );
        assert_eq!(role, Role::Controller { epoch: term(3) });
        assert!(!todo.elect);
        assert!(
            todo.brokers,
            "the controller reads the brokers that changed"
        );
        let (role, _) = apply(role, vec![Event::ControllerChanged(2)]);
        assert_eq!(
            role,
            Role::Broker {
                controller: Some(2)
            }
        );
        let (role, todo) = apply(
            Role::Controller { epoch: term(3) },
            vec![Event::ControllerGone],
        );
        assert_eq!(role, Role::Broker { controller: None });
        assert!(todo.elect);
    }

    #[test]
    fn a_broker_elects_when_the_controller_goes_and_follows_a_new_one() {
        let (role, todo) = apply(
            Role::Broker {
                controller: Some(2),
            },
            vec![Event::ControllerGone],
        );
        assert_eq!(role, Role::Broker { controller: None });
        assert!(todo.elect);
        let (role, todo) = apply(role, vec![Event::ControllerChanged(3)]);
        assert_eq!(
            role,
            Role::Broker {
                controller: Some(3)
            }
        );
        assert!(!todo.elect);
        // A claim in this broker's name it did not see succeed.
        let (_, todo) = apply(role, vec![Event::ControllerChanged(ME)]);
        assert!(todo.elect);
    }

    #[test]
    fn elections_set_the_role() {
        let mut role = Role::Broker { controller: None };
        on_election(&mut role, Election::Won(term(4)));
        assert_eq!(role, Role::Controller { epoch: term(4) });
        on_election(&mut role, Election::Lost(Some(2)));
        assert_eq!(
            role,
            Role::Broker {
                controller: Some(2)
            }
        );
    }
}
