//! The records a consumer group is written to `__consumer_offsets` as
//! (types 3, 5, 6, 7 and 8, Kafka's), built from the group as it is.

use crate::collections::Map;

use bytes::Bytes;
use bytestring::ByteString;

use super::{Assign, ConsumerGroup};
use crate::coordinator::group::records::{keyed, value0};
use crate::protocol::messages::group_coordinator::consumer_group_current_member_assignment_key::ConsumerGroupCurrentMemberAssignmentKey;
use crate::protocol::messages::group_coordinator::consumer_group_current_member_assignment_value::ConsumerGroupCurrentMemberAssignmentValue;
use crate::protocol::messages::group_coordinator::consumer_group_member_metadata_key::ConsumerGroupMemberMetadataKey;
use crate::protocol::messages::group_coordinator::consumer_group_member_metadata_value::ConsumerGroupMemberMetadataValue;
use crate::protocol::messages::group_coordinator::consumer_group_metadata_key::ConsumerGroupMetadataKey;
use crate::protocol::messages::group_coordinator::consumer_group_metadata_value::ConsumerGroupMetadataValue;
use crate::protocol::messages::group_coordinator::consumer_group_target_assignment_member_key::ConsumerGroupTargetAssignmentMemberKey;
use crate::protocol::messages::group_coordinator::consumer_group_target_assignment_member_value::ConsumerGroupTargetAssignmentMemberValue;
use crate::protocol::messages::group_coordinator::consumer_group_target_assignment_metadata_key::ConsumerGroupTargetAssignmentMetadataKey;
use crate::protocol::messages::group_coordinator::consumer_group_target_assignment_metadata_value::ConsumerGroupTargetAssignmentMetadataValue;
use crate::protocol::{EncodeError, Uuid};

fn partitions_of(a: &Assign) -> Vec<(Uuid, Vec<i32>)> {
    a.iter()
        .map(|(t, ps)| (*t, ps.iter().copied().collect()))
        .collect()
}

/// Every record of a consumer group as it is now, by key: the records
/// Kafka writes for it (types 3, 5, 6, 7 and 8).
pub(crate) fn records(group: &str, c: &ConsumerGroup) -> Result<Map<Bytes, Bytes>, EncodeError> {
    use crate::protocol::messages::group_coordinator::consumer_group_current_member_assignment_value::TopicPartitions as CurrentTp;
    use crate::protocol::messages::group_coordinator::consumer_group_target_assignment_member_value::TopicPartition as TargetTp;
    let mut out = Map::new();
    let g: ByteString = group.into();
    out.insert(
        keyed(
            3,
            &ConsumerGroupMetadataKey {
                group_id: g.clone(),
                ..Default::default()
            },
        )?,
        value0(&ConsumerGroupMetadataValue {
            epoch: c.epoch,
            metadata_hash: c.meta_hash,
            ..Default::default()
        })?,
    );
    out.insert(
        keyed(
            6,
            &ConsumerGroupTargetAssignmentMetadataKey {
                group_id: g.clone(),
                ..Default::default()
            },
        )?,
        value0(&ConsumerGroupTargetAssignmentMetadataValue {
            assignment_epoch: c.assignment_epoch,
            ..Default::default()
        })?,
    );
    for m in c.members.values() {
        out.insert(
            keyed(
                5,
                &ConsumerGroupMemberMetadataKey {
                    group_id: g.clone(),
                    member_id: m.id.clone(),
                    ..Default::default()
                },
            )?,
            value0(&ConsumerGroupMemberMetadataValue {
                instance_id: m.instance_id.clone(),
                rack_id: m.rack_id.clone(),
                client_id: m.client_id.clone(),
                client_host: m.client_host.clone(),
                subscribed_topic_names: m.subscribed.clone(),
                subscribed_topic_regex: m.regex.clone(),
                rebalance_timeout_ms: m.rebalance_timeout_ms,
                server_assignor: m.assignor.clone(),
                ..Default::default()
            })?,
        );
        let current = |a: &Assign| -> Vec<CurrentTp> {
            partitions_of(a)
                .into_iter()
                .map(|(topic_id, ps)| CurrentTp {
                    topic_id,
                    partitions: ps.into(),
                    ..Default::default()
                })
                .collect()
        };
        out.insert(
            keyed(
                8,
                &ConsumerGroupCurrentMemberAssignmentKey {
                    group_id: g.clone(),
                    member_id: m.id.clone(),
                    ..Default::default()
                },
            )?,
            value0(&ConsumerGroupCurrentMemberAssignmentValue {
                member_epoch: m.epoch,
                previous_member_epoch: m.previous_epoch,
                state: m.state.code(),
                assigned_partitions: current(&m.assigned),
                partitions_pending_revocation: current(
                    m.state.revoking().unwrap_or(&Assign::new()),
                ),
                ..Default::default()
            })?,
        );
    }
    for (member, a) in &c.target {
        out.insert(
            keyed(
                7,
                &ConsumerGroupTargetAssignmentMemberKey {
                    group_id: g.clone(),
                    member_id: member.clone(),
                    ..Default::default()
                },
            )?,
            value0(&ConsumerGroupTargetAssignmentMemberValue {
                topic_partitions: partitions_of(a)
                    .into_iter()
                    .map(|(topic_id, ps)| TargetTp {
                        topic_id,
                        partitions: ps.into(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })?,
        );
    }
    Ok(out)
}
