//! Requests only the controller can answer (ZooKeeper mode): the broker
//! holds them and asks its driver ([`Output::AskController`]), which
//! hands them to the controller machine when this broker is the
//! controller, and reports with [`Broker::handle_controller_answer`].

use super::{Broker, ConnId, Now};
use crate::coordinator::controller::ControllerAnswer;
use crate::protocol::messages::controlled_shutdown_response::{
    ControlledShutdownResponse, RemainingPartition,
};
use crate::protocol::{ErrorCode, ResponseBody};
use crate::storage::Storage;

#[cfg(doc)]
use super::Output;

impl<S: Storage> Broker<S> {
    /// The controller answered what the request held on `conn` asked
    /// ([`Output::AskController`]). A connection that closed meanwhile is
    /// skipped.
    pub fn handle_controller_answer(&mut self, conn: ConnId, answer: ControllerAnswer, now: Now) {
        let body = match answer {
            ControllerAnswer::ControlledShutdown(result) => {
                let (error, remaining) = match result {
                    Ok(r) => (ErrorCode::NONE, r),
                    Err(e) => (e, Vec::new()),
                };
                ResponseBody::ControlledShutdown(ControlledShutdownResponse {
                    error_code: error.code(),
                    remaining_partitions: remaining
                        .into_iter()
                        .map(|tp| RemainingPartition {
                            topic_name: tp.topic.as_str().into(),
                            partition_index: tp.partition,
                            ..RemainingPartition::default()
                        })
                        .collect(),
                    ..ControlledShutdownResponse::default()
                })
            }
            ControllerAnswer::ElectLeaders(results) => {
                ResponseBody::ElectLeaders(crate::api::elect_leaders::response(results))
            }
            ControllerAnswer::AlterReassignments(result, allow) => {
                ResponseBody::AlterPartitionReassignments(crate::api::reassignments::altered(
                    result, allow,
                ))
            }
            ControllerAnswer::ListReassignments(result) => {
                ResponseBody::ListPartitionReassignments(crate::api::reassignments::listed(result))
            }
        };
        self.answer_held(conn, body, now);
    }
}
