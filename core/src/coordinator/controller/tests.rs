//! The controller against a ZooKeeper held in memory: every output is
//! carried out at once (or, where a test says so, raced by another
//! writer), and the requests are collected per broker.

use super::*;
use crate::protocol::ErrorCode;

mod deletion;
mod reassign;

/// A fake engine: the state znodes, and what each broker was sent.
#[derive(Default)]
struct World {
    znodes: Map<TopicPartition, Stored>,
    /// The assignment znodes the controller wrote.
    assignments: Map<String, TopicAssignment>,
    /// `(kind, broker, partition, leader, leader epoch, isr)`.
    sent: Vec<String>,
    /// StopReplica requests are kept here, unanswered, instead of being
    /// answered at once.
    hold_stops: bool,
    /// StopReplica requests not answered yet.
    held: Vec<(BrokerId, Vec<(TopicPartition, i32)>)>,
    /// Replicas whose StopReplica fails (KAFKA_STORAGE_ERROR).
    failing: Set<(BrokerId, TopicPartition)>,
}

impl World {
    /// Drains `c`, carrying out every output, until it asks for nothing.
    /// The writes of one drain are reported together, as a driver does.
    fn run(&mut self, c: &mut Controller) {
        let mut written = Vec::new();
        loop {
            let Some(out) = c.poll_output() else {
                if written.is_empty() {
                    return;
                }
                c.handle_written(std::mem::take(&mut written));
                continue;
            };
            match out {
                Output::Write { tp, state, expect } => {
                    let outcome = self.write(&tp, &state, expect);
                    written.push((tp, state, outcome));
                }
                Output::Read { tp } => {
                    let stored = self.znodes.get(&tp).cloned();
                    c.handle_read(&tp, stored);
                }
                Output::LeaderAndIsr { broker, partitions } => self.log("lai", broker, &partitions),
                Output::UpdateMetadata { broker, partitions } => {
                    self.log("um", broker, &partitions)
                }
                Output::Elected { request, results } => {
                    let r: Vec<String> = results
                        .iter()
                        .map(|(tp, e)| format!("{tp} {}", e.name()))
                        .collect();
                    self.sent
                        .push(format!("elected {request} [{}]", r.join(", ")));
                }
                Output::StopReplica {
                    broker,
                    partitions,
                    delete,
                } => {
                    for (tp, e) in &partitions {
                        match delete {
                            true => self
                                .sent
                                .push(format!("stop {broker} {tp} delete {delete}")),
                            false => self.sent.push(format!("stop {broker} {tp} e{e}")),
                        }
                    }
                    match self.hold_stops {
                        true => self.held.push((broker, partitions)),
                        false => self.answer_stop(c, broker, partitions),
                    }
                }
                Output::ShutdownDone { broker, remaining } => {
                    let names: Vec<String> = remaining.iter().map(|tp| tp.to_string()).collect();
                    self.sent
                        .push(format!("done {broker} [{}]", names.join(", ")));
                }
                Output::TopicDeleted { topic } => {
                    self.znodes.retain(|tp, _| tp.topic != topic);
                    self.sent.push(format!("deleted {topic}"));
                }
                Output::DropDeletion { topic } => self.sent.push(format!("dropped {topic}")),
                Output::WriteAssignment { assignment } => {
                    self.sent.push(format!(
                        "assign {} {:?} adding {:?} removing {:?}",
                        assignment.name,
                        assignment.partitions,
                        assignment.adding,
                        assignment.removing
                    ));
                    let topic = assignment.name.clone();
                    self.assignments.insert(topic.clone(), assignment);
                    c.handle_assignment_written(&topic, true);
                }
                Output::Reassigned {
                    request, results, ..
                } => {
                    let r: Vec<String> = results
                        .iter()
                        .map(|(tp, e, _)| format!("{tp} {}", e.name()))
                        .collect();
                    self.sent
                        .push(format!("reassigned {request} [{}]", r.join(", ")));
                }
            }
        }
    }

    /// Answers a StopReplica: no error, but for the failing replicas.
    fn answer_stop(
        &mut self,
        c: &mut Controller,
        broker: BrokerId,
        partitions: Vec<(TopicPartition, i32)>,
    ) {
        let answers = partitions
            .into_iter()
            .map(|(tp, e)| {
                let code = match self.failing.contains(&(broker, tp.clone())) {
                    true => ErrorCode::KAFKA_STORAGE_ERROR,
                    false => ErrorCode::NONE,
                };
                (tp, e, code)
            })
            .collect();
        c.handle_stop_replica_answered(broker, answers);
    }

    /// Answers the held StopReplica requests to `broker`, then carries out
    /// what follows.
    fn answer_held(&mut self, c: &mut Controller, broker: BrokerId) {
        let (now, kept) = std::mem::take(&mut self.held)
            .into_iter()
            .partition(|(b, _)| *b == broker);
        self.held = kept;
        for (b, partitions) in now {
            self.answer_stop(c, b, partitions);
        }
        self.run(c);
    }

    fn write(&mut self, tp: &TopicPartition, state: &LeaderIsr, expect: Expect) -> WriteOutcome {
        let current = self.znodes.get(tp).map(|s| s.version);
        let version = match (expect, current) {
            (Expect::Absent, None) => 0,
            (Expect::Version(v), Some(c)) if v == c => c + 1,
            _ => return WriteOutcome::Conflict,
        };
        self.znodes.insert(
            tp.clone(),
            Stored {
                state: state.clone(),
                version,
            },
        );
        WriteOutcome::Done(version)
    }

    fn log(&mut self, kind: &str, broker: BrokerId, partitions: &[PartitionView]) {
        if partitions.is_empty() {
            self.sent.push(format!("{kind} {broker} -"));
        }
        for v in partitions {
            self.sent.push(format!(
                "{kind} {broker} {} leader {} e{} isr {:?}",
                v.tp, v.state.leader, v.state.leader_epoch, v.state.isr
            ));
        }
    }

    fn take(&mut self) -> Vec<String> {
        std::mem::take(&mut self.sent)
    }
}

fn live(ids: &[BrokerId]) -> Set<BrokerId> {
    ids.iter().copied().collect()
}

fn topic(name: &str, partitions: &[&[BrokerId]]) -> TopicAssignment {
    TopicAssignment {
        name: name.into(),
        id: Uuid([7; 16]),
        partitions: partitions
            .iter()
            .enumerate()
            .map(|(p, r)| (p as i32, r.to_vec()))
            .collect(),
        adding: Map::new(),
        removing: Map::new(),
    }
}

fn tp(p: i32) -> TopicPartition {
    TopicPartition::new("t", p)
}

/// A controller in term 1 over brokers 1-3 with topic `t`, one partition
/// on `[1, 2, 3]`, created and told.
fn started(world: &mut World) -> Controller {
    let mut c = Controller::new();
    c.handle_elected(1, live(&[1, 2, 3]), vec![], Map::new());
    world.run(&mut c);
    c.handle_topics(vec![topic("t", &[&[1, 2, 3]])]);
    world.run(&mut c);
    c
}

#[test]
fn a_new_topic_is_led_by_its_first_replica_with_every_live_replica_in_sync() {
    let mut world = World::default();
    let mut c = Controller::new();
    c.handle_elected(1, live(&[1, 2, 3]), vec![], Map::new());
    world.run(&mut c);
    assert_eq!(
        world.take(),
        ["um 1 -", "um 2 -", "um 3 -"],
        "brokers first"
    );
    c.handle_topics(vec![topic("t", &[&[2, 3, 1], &[3, 1]])]);
    world.run(&mut c);
    assert_eq!(
        world.znodes[&tp(0)],
        Stored {
            state: LeaderIsr {
                leader: 2,
                leader_epoch: 0,
                isr: vec![2, 3, 1],
                controller_epoch: 1
            },
            version: 0
        }
    );
    assert_eq!(
        world.take(),
        [
            "lai 1 t-0 leader 2 e0 isr [2, 3, 1]",
            "lai 1 t-1 leader 3 e0 isr [3, 1]",
            "lai 2 t-0 leader 2 e0 isr [2, 3, 1]",
            "lai 3 t-0 leader 2 e0 isr [2, 3, 1]",
            "lai 3 t-1 leader 3 e0 isr [3, 1]",
            "um 1 t-0 leader 2 e0 isr [2, 3, 1]",
            "um 1 t-1 leader 3 e0 isr [3, 1]",
            "um 2 t-0 leader 2 e0 isr [2, 3, 1]",
            "um 2 t-1 leader 3 e0 isr [3, 1]",
            "um 3 t-0 leader 2 e0 isr [2, 3, 1]",
            "um 3 t-1 leader 3 e0 isr [3, 1]",
        ]
    );
}

#[test]
fn when_the_leader_dies_the_next_isr_member_leads_at_a_higher_epoch() {
    let mut world = World::default();
    let mut c = started(&mut world);
    world.take();
    c.handle_brokers(live(&[2, 3]));
    let write = c.poll_output().expect("a write");
    assert_eq!(
        write,
        Output::Write {
            tp: tp(0),
            state: LeaderIsr {
                leader: 2,
                leader_epoch: 1,
                isr: vec![2, 3],
                controller_epoch: 1
            },
            expect: Expect::Version(0),
        },
        "conditional on the version read"
    );
    assert_eq!(c.poll_output(), None, "nobody hears before it is written");
    let Output::Write { tp, state, expect } = write else {
        unreachable!()
    };
    let outcome = world.write(&tp, &state, expect);
    c.handle_written(vec![(tp, state, outcome)]);
    world.run(&mut c);
    assert_eq!(
        world.take(),
        [
            "lai 2 t-0 leader 2 e1 isr [2, 3]",
            "lai 3 t-0 leader 2 e1 isr [2, 3]",
            "um 2 t-0 leader 2 e1 isr [2, 3]",
            "um 3 t-0 leader 2 e1 isr [2, 3]",
        ]
    );
}

#[test]
fn with_no_live_isr_member_the_partition_goes_offline_until_one_returns() {
    let mut world = World::default();
    let mut c = Controller::new();
    c.handle_elected(1, live(&[1, 2]), vec![topic("t", &[&[1, 2]])], Map::new());
    world.run(&mut c);
    // Broker 2 fails first (out of the ISR), then broker 1, the last member.
    c.handle_brokers(live(&[1]));
    world.run(&mut c);
    c.handle_brokers(live(&[]));
    world.run(&mut c);
    let s = &world.znodes[&tp(0)].state;
    assert_eq!(
        (s.leader, s.leader_epoch, s.isr.as_slice()),
        (NO_LEADER, 2, &[1][..])
    );
    world.take();
    // Broker 2 returns: it is not in the ISR, so it is not elected (unclean
    // election is off), but it hears of the partition.
    c.handle_brokers(live(&[2]));
    world.run(&mut c);
    assert_eq!(world.znodes[&tp(0)].state.leader, NO_LEADER);
    assert_eq!(
        world.take(),
        [
            "lai 2 t-0 leader -1 e2 isr [1]",
            "um 2 t-0 leader -1 e2 isr [1]"
        ]
    );
    // Broker 1 returns: it hears of the live brokers at once (its
    // partition is being written), then it leads again and everyone hears.
    c.handle_brokers(live(&[1, 2]));
    world.run(&mut c);
    let s = &world.znodes[&tp(0)].state;
    assert_eq!(
        (s.leader, s.leader_epoch, s.isr.as_slice()),
        (1, 3, &[1][..])
    );
    assert_eq!(
        world.take(),
        [
            "um 1 -",
            "lai 1 t-0 leader 1 e3 isr [1]",
            "lai 2 t-0 leader 1 e3 isr [1]",
            "um 1 t-0 leader 1 e3 isr [1]",
            "um 2 t-0 leader 1 e3 isr [1]",
        ]
    );
}

#[test]
fn a_write_that_lost_a_race_reads_again_and_decides_anew() {
    let mut world = World::default();
    let mut c = started(&mut world);
    world.take();
    // Someone else (the leader shrinking its ISR) moved the znode on.
    let moved = Stored {
        state: LeaderIsr {
            leader: 1,
            leader_epoch: 5,
            isr: vec![1, 3],
            controller_epoch: 1,
        },
        version: 1,
    };
    world.znodes.insert(tp(0), moved);
    c.handle_brokers(live(&[2, 3]));
    world.run(&mut c);
    // The elected leader comes from the ISR as stored now: 3, not 2.
    let s = &world.znodes[&tp(0)];
    assert_eq!(
        (
            s.state.leader,
            s.state.leader_epoch,
            s.state.isr.as_slice(),
            s.version
        ),
        (3, 6, &[3][..], 2)
    );
    assert_eq!(c.state(&tp(0)), Some(s));
}

#[test]
fn a_new_controller_starts_from_the_stored_states_and_tells_everyone_everything() {
    let mut world = World::default();
    let _old = started(&mut world);
    world.take();
    let mut c = Controller::new();
    let states = world.znodes.clone();
    // Broker 1 died with the old controller.
    c.handle_elected(2, live(&[2, 3]), vec![topic("t", &[&[1, 2, 3]])], states);
    world.run(&mut c);
    let s = &world.znodes[&tp(0)].state;
    assert_eq!((s.leader, s.leader_epoch, s.controller_epoch), (2, 1, 2));
    assert_eq!(
        world.take(),
        [
            "um 2 -",
            "um 3 -",
            "lai 2 t-0 leader 2 e1 isr [2, 3]",
            "lai 3 t-0 leader 2 e1 isr [2, 3]",
            "um 2 t-0 leader 2 e1 isr [2, 3]",
            "um 3 t-0 leader 2 e1 isr [2, 3]",
        ]
    );
}

#[test]
fn a_resigned_controller_asks_for_nothing() {
    let mut world = World::default();
    let mut c = started(&mut world);
    c.handle_brokers(live(&[2, 3]));
    c.handle_resigned();
    assert_eq!(c.poll_output(), None);
    assert_eq!(c.epoch(), None);
    c.handle_brokers(live(&[3]));
    c.handle_topics(vec![topic("u", &[&[3]])]);
    assert_eq!(c.poll_output(), None);
}

#[test]
fn a_partition_with_no_live_replica_waits_for_one() {
    let mut world = World::default();
    let mut c = Controller::new();
    c.handle_elected(1, live(&[1]), vec![topic("t", &[&[2]])], Map::new());
    world.run(&mut c);
    assert!(world.znodes.is_empty());
    c.handle_brokers(live(&[1, 2]));
    world.run(&mut c);
    assert_eq!(world.znodes[&tp(0)].state.leader, 2);
}

#[test]
fn an_isr_the_leader_changed_is_told_in_update_metadata_only() {
    let mut world = World::default();
    let mut c = started(&mut world);
    world.take();
    // Leader 1 shrank the ISR itself (leader epoch unchanged).
    let shrunk = Stored {
        state: LeaderIsr {
            leader: 1,
            leader_epoch: 0,
            isr: vec![1, 2],
            controller_epoch: 1,
        },
        version: 1,
    };
    world.znodes.insert(tp(0), shrunk.clone());
    c.handle_isr_changed(&tp(0), Some(shrunk.clone()));
    world.run(&mut c);
    assert_eq!(
        world.take(),
        [
            "um 1 t-0 leader 1 e0 isr [1, 2]",
            "um 2 t-0 leader 1 e0 isr [1, 2]",
            "um 3 t-0 leader 1 e0 isr [1, 2]"
        ]
    );
    assert_eq!(c.state(&tp(0)), Some(&shrunk));
    // The same notification again tells nothing new.
    c.handle_isr_changed(&tp(0), Some(shrunk));
    world.run(&mut c);
    assert!(world.take().is_empty());
    // Its later decisions start from the leader's write: broker 2 dies.
    c.handle_brokers(live(&[1, 3]));
    world.run(&mut c);
    assert_eq!(world.znodes[&tp(0)].state.isr, [1]);
    assert_eq!(world.znodes[&tp(0)].version, 2);
}

#[test]
fn a_controlled_shutdown_moves_leadership_and_answers_once_it_is_written() {
    let mut world = World::default();
    let mut c = started(&mut world);
    // t-1 led by 2 and followed by 1; u-0 on 1 alone.
    c.handle_topics(vec![
        topic("t", &[&[1, 2, 3], &[2, 1, 3]]),
        topic("u", &[&[1]]),
    ]);
    world.run(&mut c);
    world.take();
    assert_eq!(c.handle_controlled_shutdown(1), Ok(()));
    assert_eq!(
        c.poll_output(),
        Some(Output::StopReplica {
            broker: 1,
            partitions: vec![(tp(1), 0)],
            delete: false,
        }),
        "the partition it follows is stopped first"
    );
    assert!(
        matches!(c.poll_output(), Some(Output::Write { .. })),
        "written before anything is told or answered"
    );
    // Carry the rest out as the driver would (the first write was taken).
    let first = world.znodes.get(&tp(0)).cloned();
    assert_eq!(first.map(|s| s.state.leader), Some(1), "not written yet");
    c.handle_written(vec![(
        tp(0),
        LeaderIsr {
            leader: 2,
            leader_epoch: 1,
            isr: vec![2, 3],
            controller_epoch: 1,
        },
        world.write(
            &tp(0),
            &LeaderIsr {
                leader: 2,
                leader_epoch: 1,
                isr: vec![2, 3],
                controller_epoch: 1,
            },
            Expect::Version(0),
        ),
    )]);
    world.run(&mut c);
    let sent = world.take();
    assert!(sent.contains(&"lai 1 t-0 leader 2 e1 isr [2, 3]".to_string()));
    assert!(sent.contains(&"lai 3 t-1 leader 2 e1 isr [2, 3]".to_string()));
    assert!(
        !sent.iter().any(|l| l.starts_with("lai 1 t-1")),
        "the stopped replica hears no LeaderAndIsr: {sent:?}"
    );
    assert!(sent.contains(&"um 1 t-1 leader 2 e1 isr [2, 3]".to_string()));
    assert_eq!(
        sent.last().map(String::as_str),
        Some("done 1 []"),
        "answered after everything was told; u-0 (one replica) is not counted"
    );
    assert_eq!(world.znodes[&tp(1)].state.isr, vec![2, 3]);
    // While it stays registered it is elected nowhere: 2 dies, 3 leads.
    c.handle_brokers(live(&[1, 3]));
    world.run(&mut c);
    assert_eq!(world.znodes[&tp(0)].state.leader, 3);
    assert_eq!(world.znodes[&tp(0)].state.isr, vec![3]);
    // Once it is gone and back, it is an ordinary broker again.
    c.handle_brokers(live(&[3]));
    c.handle_brokers(live(&[1, 3]));
    world.run(&mut c);
    assert!(c.shutting_down().is_empty());
}

#[test]
fn a_leader_nobody_can_replace_is_reported_and_refusals_say_why() {
    let mut world = World::default();
    let mut c = started(&mut world);
    // 2 and 3 leave the ISR (dead), then come back outside it.
    c.handle_brokers(live(&[1]));
    world.run(&mut c);
    c.handle_brokers(live(&[1, 2, 3]));
    world.run(&mut c);
    world.take();
    assert_eq!(c.handle_controlled_shutdown(1), Ok(()));
    world.run(&mut c);
    assert_eq!(world.take(), ["done 1 [t-0]"]);
    assert_eq!(world.znodes[&tp(0)].state.leader, 1, "it keeps leading");
    assert_eq!(
        c.handle_controlled_shutdown(4),
        Err(ErrorCode::BROKER_NOT_AVAILABLE)
    );
    c.handle_resigned();
    assert_eq!(
        c.handle_controlled_shutdown(1),
        Err(ErrorCode::NOT_CONTROLLER)
    );
}

/// `started`, then broker 1 (the preferred leader) dies and comes back:
/// 2 leads, 1 is out of the ISR.
fn moved_away(world: &mut World) -> Controller {
    let mut c = started(world);
    c.handle_brokers(live(&[2, 3]));
    world.run(&mut c);
    c.handle_brokers(live(&[1, 2, 3]));
    world.run(&mut c);
    world.take();
    c
}

/// The leader takes 1 back into the ISR (its ISR change notification).
fn caught_up(world: &mut World, c: &mut Controller) {
    let mut s = world.znodes[&tp(0)].clone();
    s.state.isr.push(1);
    s.version += 1;
    world.znodes.insert(tp(0), s.clone());
    c.handle_isr_changed(&tp(0), Some(s));
    world.run(c);
    world.take();
}

#[test]
fn a_preferred_election_waits_for_the_preferred_replica_to_be_in_sync() {
    let mut world = World::default();
    let mut c = moved_away(&mut world);
    c.handle_elect_leaders(7, true, Some(vec![tp(0), TopicPartition::new("nope", 0)]));
    world.run(&mut c);
    assert_eq!(
        world.take(),
        ["elected 7 [t-0 PREFERRED_LEADER_NOT_AVAILABLE, nope-0 UNKNOWN_TOPIC_OR_PARTITION]"]
    );
    caught_up(&mut world, &mut c);
    c.handle_elect_leaders(8, true, Some(vec![tp(0)]));
    world.run(&mut c);
    assert_eq!(
        world.take(),
        [
            "lai 1 t-0 leader 1 e2 isr [2, 3, 1]",
            "lai 2 t-0 leader 1 e2 isr [2, 3, 1]",
            "lai 3 t-0 leader 1 e2 isr [2, 3, 1]",
            "um 1 t-0 leader 1 e2 isr [2, 3, 1]",
            "um 2 t-0 leader 1 e2 isr [2, 3, 1]",
            "um 3 t-0 leader 1 e2 isr [2, 3, 1]",
            "elected 8 [t-0 NONE]",
        ],
        "the ISR stays, the epoch goes up, answered once told"
    );
    c.handle_elect_leaders(9, true, Some(vec![tp(0)]));
    c.handle_elect_leaders(10, true, None);
    world.run(&mut c);
    assert_eq!(
        world.take(),
        ["elected 9 [t-0 ELECTION_NOT_NEEDED]", "elected 10 []"],
        "all partitions: only those that needed an election are listed"
    );
}

#[test]
fn an_election_not_settled_in_time_is_answered_request_timed_out_and_goes_on() {
    let mut world = World::default();
    let mut c = moved_away(&mut world);
    caught_up(&mut world, &mut c);
    c.handle_elect_leaders(4, true, Some(vec![tp(0)]));
    // The write is asked for but not made before the request's time runs out.
    let write = c.poll_output().expect("the election's write");
    c.handle_elect_timeout(4);
    assert_eq!(
        c.poll_output(),
        Some(Output::Elected {
            request: 4,
            results: vec![(tp(0), ErrorCode::REQUEST_TIMED_OUT)]
        })
    );
    let Output::Write {
        tp: p,
        state,
        expect,
    } = write
    else {
        panic!("{write:?}")
    };
    let outcome = world.write(&p, &state, expect);
    c.handle_written(vec![(p, state, outcome)]);
    world.run(&mut c);
    let sent = world.take();
    assert!(
        sent.contains(&"lai 1 t-0 leader 1 e2 isr [2, 3, 1]".to_string()),
        "{sent:?}"
    );
    assert!(
        !sent.iter().any(|l| l.starts_with("elected")),
        "answered once: {sent:?}"
    );
    c.handle_elect_timeout(4);
    assert_eq!(c.poll_output(), None);
}

#[test]
fn an_unclean_election_is_never_needed_with_a_live_leader_and_never_possible_without() {
    let mut world = World::default();
    let mut c = started(&mut world);
    world.take();
    c.handle_elect_leaders(1, false, Some(vec![tp(0)]));
    world.run(&mut c);
    assert_eq!(world.take(), ["elected 1 [t-0 ELECTION_NOT_NEEDED]"]);
    // Only 1 in the ISR, then 1 dies: offline.
    c.handle_brokers(live(&[1]));
    world.run(&mut c);
    c.handle_brokers(live(&[2, 3]));
    world.run(&mut c);
    world.take();
    c.handle_elect_leaders(2, false, Some(vec![tp(0)]));
    world.run(&mut c);
    assert_eq!(
        world.take(),
        ["elected 2 [t-0 ELIGIBLE_LEADERS_NOT_AVAILABLE]"]
    );
    c.handle_resigned();
    c.handle_elect_leaders(3, true, Some(vec![tp(0)]));
    assert_eq!(
        c.poll_output(),
        Some(Output::Elected {
            request: 3,
            results: vec![(tp(0), ErrorCode::NOT_CONTROLLER)]
        })
    );
}

#[test]
fn the_rebalance_check_moves_leadership_back_above_the_imbalance_threshold() {
    let mut world = World::default();
    let mut c = moved_away(&mut world);
    // Not in sync: nothing to do.
    c.handle_rebalance_check(10);
    world.run(&mut c);
    assert!(world.take().is_empty());
    caught_up(&mut world, &mut c);
    // One partition of one, 100 % > 100 %: no.
    c.handle_rebalance_check(100);
    world.run(&mut c);
    assert!(world.take().is_empty());
    c.handle_rebalance_check(10);
    world.run(&mut c);
    assert_eq!(world.znodes[&tp(0)].state.leader, 1);
    assert!(
        world.take().iter().all(|l| !l.starts_with("elected")),
        "nobody to answer"
    );
}
