//! DescribeCluster (key 60): the cluster id, the controller and the brokers.
//!
//! # Wire
//!
//! Request: whether to include the cluster's authorized operations, the
//! endpoint type wanted (v1+: 1 brokers, 2 controllers), whether to include
//! fenced brokers (v2+). Response: throttle time, error code and message,
//! endpoint type (v1+), cluster id, controller id, brokers (id, host, port,
//! rack, fenced flag (v2+)), cluster authorized operations.
//!
//! # Versions
//!
//! 0-2. The brokers and the controller come from the cluster's membership
//! ([`Membership`]): this broker alone, itself the controller, until a
//! controller's UpdateMetadata names the live brokers and the controller
//! (ZooKeeper mode, where a Kafka broker answers the same). No broker is
//! ever fenced (fencing is KRaft's). Asking a broker for controllers is
//! MISMATCHED_ENDPOINT_TYPE, an endpoint type other than 1 or 2
//! UNSUPPORTED_ENDPOINT_TYPE (INVALID_REQUEST in v0, which cannot ask).
//! With no ACLs, requested authorized operations are every cluster
//! operation Kafka defines.

use crate::protocol::messages::describe_cluster_request::DescribeClusterRequest;
use crate::protocol::messages::describe_cluster_response::{
    DescribeClusterBroker, DescribeClusterResponse,
};
use crate::protocol::ErrorCode;

use super::authz::Checks;
use super::Ctx;
use crate::security::acl::{Authorizer, Operation, ResourceType, CLUSTER_NAME};
use crate::state::brokers::Membership;
use crate::state::Config;

/// Authorized operations not requested.
const NOT_REQUESTED: i32 = i32::MIN;
/// EndpointType BROKER.
const BROKER: i8 = 1;
/// EndpointType CONTROLLER.
const CONTROLLER: i8 = 2;

/// Runs a DescribeCluster request.
pub(crate) fn handle(
    ctx: &Ctx,
    c: &Config,
    members: &Membership,
    az: &Authorizer<'_>,
    req: DescribeClusterRequest,
) -> DescribeClusterResponse {
    let refuse = |code: ErrorCode, message: String| DescribeClusterResponse {
        error_code: if ctx.version == 0 {
            ErrorCode::INVALID_REQUEST
        } else {
            code
        }
        .code(),
        error_message: Some(message.into()),
        ..Default::default()
    };
    match req.endpoint_type {
        BROKER => {}
        CONTROLLER => {
            return refuse(
                ErrorCode::MISMATCHED_ENDPOINT_TYPE,
                "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER".into(),
            )
        }
        other => return refuse(ErrorCode::UNSUPPORTED_ENDPOINT_TYPE, format!("Unsupported endpoint type {other}")),
    }
    DescribeClusterResponse {
        throttle_time_ms: 0,
        error_code: 0,
        error_message: None,
        endpoint_type: BROKER,
        cluster_id: c.cluster_id.as_str().into(),
        controller_id: members.controller_id(),
        brokers: members
            .brokers_on(ctx.listener)
            .map(|(b, host, port)| DescribeClusterBroker {
                broker_id: b.id,
                host,
                port,
                rack: b.rack.clone(),
                is_fenced: false,
                ..Default::default()
            })
            .collect(),
        // The caller's operations on the cluster (every one without an
        // authorizer), 0 when it may not DESCRIBE it, as Kafka answers.
        cluster_authorized_operations: match req.include_cluster_authorized_operations {
            true if az.cluster(Operation::Describe) => {
                az.authorized_operations(ResourceType::Cluster, CLUSTER_NAME)
            }
            true => 0,
            false => NOT_REQUESTED,
        },
        ..Default::default()
    }
}
