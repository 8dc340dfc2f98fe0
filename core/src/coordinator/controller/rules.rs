//! Kafka's ZooKeeper-era rules for a partition's leader and ISR, as pure
//! functions of the assignment, the stored state and the live brokers.
//!
//! One function, [`decide`], covers what Kafka spreads over its partition
//! and replica state machines:
//!
//! ```text
//!   no state znode ──(a live replica)──────────────► create: leader = first live
//!   (NewPartition)                                     replica, ISR = live replicas,
//!        │ (no live replica: stays new)                 leader epoch 0
//!        ▼
//!   stored state ──(leader alive, ISR all alive)────► nothing to do (Online)
//!        │
//!        ├──(leader alive, an ISR member dead)──────► ISR without the dead, epoch + 1
//!        ├──(leader dead or none, a live ISR member)► leader = first live ISR member in
//!        │                                              assignment order, ISR = live ISR,
//!        │                                              epoch + 1 (clean election)
//!        └──(leader dead, no live ISR member)───────► leader -1, ISR without the dead
//!                                                       but never empty, epoch + 1
//!                                                       (Offline; unclean election off)
//! ```
//!
//! The ISR is never emptied: when every member is dead it keeps one (Kafka
//! removes dead replicas one at a time and stops at the last), so that the
//! partition comes back clean when that broker does. Every change bumps
//! the leader epoch, as Kafka's ZooKeeper controller did for ISR shrinks
//! too.

use crate::collections::Set;

use super::{BrokerId, LeaderIsr, Stored, NO_LEADER};

/// What the controller must write for a partition, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Nothing: the stored state holds (or no replica is alive to start it).
    Keep,
    /// Create the state znode with this state.
    Create(LeaderIsr),
    /// Replace the stored state (read at `version`) with this one.
    Update(LeaderIsr, i32),
}

/// Decides the state of a partition assigned to `replicas`, stored as
/// `stored`, with `live` brokers, for a controller in term `epoch`.
pub(crate) fn decide(
    replicas: &[BrokerId],
    stored: Option<&Stored>,
    live: &Set<BrokerId>,
    epoch: i32,
) -> Decision {
    let Some(stored) = stored else {
        let isr: Vec<BrokerId> = replicas
            .iter()
            .copied()
            .filter(|r| live.contains(r))
            .collect();
        return match isr.first() {
            Some(&leader) => Decision::Create(LeaderIsr {
                leader,
                leader_epoch: 0,
                isr,
                controller_epoch: epoch,
            }),
            None => Decision::Keep,
        };
    };
    let old = &stored.state;
    // A newer controller wrote it: this one is deposed and must not act.
    if old.controller_epoch > epoch {
        return Decision::Keep;
    }
    let live_isr: Vec<BrokerId> = old
        .isr
        .iter()
        .copied()
        .filter(|r| live.contains(r))
        .collect();
    let leader_alive = old.leader != NO_LEADER && live.contains(&old.leader);
    let (leader, isr) = if leader_alive {
        (old.leader, live_isr)
    } else {
        // Clean election: the first replica in assignment order that is
        // alive and in the ISR.
        let elected = replicas.iter().copied().find(|r| live_isr.contains(r));
        match elected {
            Some(leader) => (leader, live_isr),
            None => (NO_LEADER, nonempty(live_isr, old)),
        }
    };
    if leader == old.leader && isr == old.isr {
        return Decision::Keep;
    }
    Decision::Update(
        LeaderIsr {
            leader,
            leader_epoch: old.leader_epoch + 1,
            isr,
            controller_epoch: epoch,
        },
        stored.version,
    )
}

/// `isr`, or when it is empty one member of the old ISR: the old leader
/// when it was a member, else the last one.
fn nonempty(isr: Vec<BrokerId>, old: &LeaderIsr) -> Vec<BrokerId> {
    if !isr.is_empty() {
        return isr;
    }
    if old.isr.contains(&old.leader) {
        return vec![old.leader];
    }
    old.isr.last().map(|&r| vec![r]).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(ids: &[BrokerId]) -> Set<BrokerId> {
        ids.iter().copied().collect()
    }

    fn stored(leader: BrokerId, epoch: i32, isr: &[BrokerId]) -> Stored {
        Stored {
            state: LeaderIsr {
                leader,
                leader_epoch: epoch,
                isr: isr.to_vec(),
                controller_epoch: 1,
            },
            version: 4,
        }
    }

    fn state(leader: BrokerId, epoch: i32, isr: &[BrokerId], ce: i32) -> LeaderIsr {
        LeaderIsr {
            leader,
            leader_epoch: epoch,
            isr: isr.to_vec(),
            controller_epoch: ce,
        }
    }

    #[test]
    fn a_new_partition_is_led_by_its_first_live_replica() {
        assert_eq!(
            decide(&[2, 3, 1], None, &live(&[1, 3]), 5),
            Decision::Create(state(3, 0, &[3, 1], 5))
        );
        assert_eq!(decide(&[2], None, &live(&[1]), 5), Decision::Keep);
    }

    #[test]
    fn a_dead_leader_is_replaced_by_the_first_live_isr_member_in_assignment_order() {
        let s = stored(1, 3, &[3, 1, 2]);
        assert_eq!(
            decide(&[1, 2, 3], Some(&s), &live(&[2, 3]), 2),
            Decision::Update(state(2, 4, &[3, 2], 2), 4)
        );
    }

    #[test]
    fn a_replica_outside_the_isr_is_never_elected() {
        let s = stored(1, 3, &[1]);
        assert_eq!(
            decide(&[1, 2, 3], Some(&s), &live(&[2, 3]), 2),
            Decision::Update(state(NO_LEADER, 4, &[1], 2), 4),
            "offline, the ISR keeps its last member"
        );
        // Nothing changes until that member is back.
        let off = stored(NO_LEADER, 4, &[1]);
        assert_eq!(
            decide(&[1, 2, 3], Some(&off), &live(&[2, 3]), 2),
            Decision::Keep
        );
        assert_eq!(
            decide(&[1, 2, 3], Some(&off), &live(&[1, 2, 3]), 2),
            Decision::Update(state(1, 5, &[1], 2), 4)
        );
    }

    #[test]
    fn a_dead_follower_leaves_the_isr_and_a_healthy_partition_is_left_alone() {
        let s = stored(1, 3, &[1, 2, 3]);
        assert_eq!(
            decide(&[1, 2, 3], Some(&s), &live(&[1, 3]), 2),
            Decision::Update(state(1, 4, &[1, 3], 2), 4)
        );
        assert_eq!(
            decide(&[1, 2, 3], Some(&s), &live(&[1, 2, 3]), 2),
            Decision::Keep
        );
    }

    #[test]
    fn a_deposed_controller_leaves_a_newer_controllers_state_alone() {
        let mut s = stored(1, 3, &[1, 2]);
        s.state.controller_epoch = 9;
        assert_eq!(decide(&[1, 2], Some(&s), &live(&[2]), 2), Decision::Keep);
    }
}
