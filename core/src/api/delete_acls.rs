//! DeleteAcls (key 31): removes the ACLs filters match, each removal a
//! RemoveAccessControlEntryRecord in `__cluster_metadata`
//! (`state::security`).
//!
//! # Wire
//!
//! Request: filters, each as DescribeAcls carries one (resource type,
//! nullable name, pattern type (v1+), nullable principal and host,
//! operation, permission type). Response: throttle time and, per filter in
//! request order, an error code and message and the ACLs it removed (each
//! with an error code and message, its resource type, name, pattern type
//! (v1+), principal, host, operation and permission type).
//!
//! # Versions
//!
//! 0-3 (flexible from 2). A v0 filter has no pattern type: it is LITERAL.
//!
//! As in Kafka: without an authorizer every filter is answered
//! SECURITY_DISABLED; the principal needs ALTER on the cluster
//! (CLUSTER_AUTHORIZATION_FAILED otherwise). A filter holding the code 0
//! (UNKNOWN) is a request Kafka fails to parse: the connection is closed. A
//! filter with a code Kafka does not define is INVALID_REQUEST. An ACL
//! two filters match is removed once and reported under both. The removals
//! of a request are written as one batch (Kafka's controller writes them
//! atomically): when it cannot be written, every filter gets the storage
//! error and nothing is removed. In ZooKeeper mode they are written to
//! ZooKeeper instead, one znode per resource pattern
//! (`api::zk_security`), and a pattern whose write failed gives its error
//! to each matching ACL it held (as Kafka's `AclAuthorizer` answers).

use crate::collections::Set;

use super::describe_acls::{filter, refused, Codes};
use super::{Ctx, Handled, Reply};
use crate::protocol::messages::delete_acls_request::DeleteAclsRequest;
use crate::protocol::messages::delete_acls_response::{
    DeleteAclsFilterResult, DeleteAclsMatchingAcl, DeleteAclsResponse,
};
use crate::protocol::{ErrorCode, ResponseBody};
use crate::security::acl::Operation;
use crate::state::security::{SecurityChange, SecurityImage};
use crate::state::Config;
use crate::storage::Storage;

/// Runs a DeleteAcls request.
pub(super) fn handle<S: Storage>(
    ctx: &Ctx,
    config: &Config,
    security: &mut SecurityImage,
    storage: &mut S,
    req: DeleteAclsRequest,
) -> Handled {
    let mut filters = Vec::with_capacity(req.filters.len());
    for f in req.filters {
        let codes = Codes {
            resource_type: f.resource_type_filter,
            pattern_type: f.pattern_type_filter,
            operation: f.operation,
            permission: f.permission_type,
        };
        let name = f.resource_name_filter;
        match filter(codes, name, f.principal_filter, f.host_filter) {
            Ok(f) => filters.push(f),
            Err(why) => return Handled::reply(Reply::Close(why)),
        }
    }
    let failed = |code: ErrorCode, message: &str| DeleteAclsFilterResult {
        error_code: code.code(),
        error_message: Some(message.into()),
        ..Default::default()
    };
    let respond = |filter_results| {
        Handled::respond(ResponseBody::DeleteAcls(DeleteAclsResponse {
            filter_results,
            ..Default::default()
        }))
    };
    if let Some((code, message)) = refused(ctx, config, security, Operation::Alter) {
        return respond(vec![failed(code, &message); filters.len()]);
    }
    let mut removed = Set::new();
    let mut zk_removed = Vec::new();
    let mut results = Vec::with_capacity(filters.len());
    for (i, f) in filters.iter().enumerate() {
        let Some(f) = f else {
            results.push(failed(ErrorCode::INVALID_REQUEST, "Unknown filter."));
            continue;
        };
        let mut matching_acls = Vec::new();
        for (id, acl) in security.acls.matching(f) {
            removed.insert(id);
            zk_removed.push((i, matching_acls.len(), acl.clone()));
            matching_acls.push(DeleteAclsMatchingAcl {
                resource_type: acl.resource_type.code(),
                resource_name: acl.resource_name.as_str().into(),
                pattern_type: acl.pattern_type.code(),
                principal: acl.principal.as_str().into(),
                host: acl.host.as_str().into(),
                operation: acl.operation.code(),
                permission_type: acl.permission.code(),
                error_message: None,
                ..Default::default()
            });
        }
        results.push(DeleteAclsFilterResult {
            matching_acls,
            error_message: None,
            ..Default::default()
        });
    }
    if config.zk() {
        let body = ResponseBody::DeleteAcls(DeleteAclsResponse {
            filter_results: results,
            ..Default::default()
        });
        return super::zk_security::delete_acls(body, zk_removed);
    }
    let changes: Vec<SecurityChange> = removed
        .into_iter()
        .map(SecurityChange::remove_acl)
        .collect();
    if let Err(code) = security.commit(storage, &changes, ctx.now) {
        let n = results.len();
        return respond(vec![failed(code, "the ACLs could not be removed"); n]);
    }
    respond(results)
}
