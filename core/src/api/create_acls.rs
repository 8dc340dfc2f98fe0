//! CreateAcls (key 30): adds ACLs, each an AccessControlEntryRecord in
//! `__cluster_metadata` (`state::security`).
//!
//! # Wire
//!
//! Request: the ACLs to create, each a resource type, resource name,
//! pattern type (v1+), principal, host, operation and permission type.
//! Response: throttle time and, per ACL in request order, an error code
//! and message.
//!
//! # Versions
//!
//! 0-3 (flexible from 2). v0 has no pattern type: its ACLs are LITERAL.
//!
//! As in Kafka: without an authorizer (`authorizer.class.name` unset)
//! every ACL is answered SECURITY_DISABLED; the principal needs ALTER on
//! the cluster (CLUSTER_AUTHORIZATION_FAILED otherwise). A request holding
//! the code 0 (UNKNOWN) for a type is one Kafka fails to parse: the
//! connection is closed. Each ACL is checked on its own (Kafka's
//! `AclApis` and `AclControlManager`), INVALID_REQUEST when: its resource
//! type is not a concrete one (ANY, or a code Kafka does not define), its
//! pattern type is neither LITERAL nor PREFIXED, a CLUSTER resource is not
//! named `kafka-cluster`, the name is empty, the operation is ANY or
//! unknown, or the permission neither ALLOW nor DENY. Spate also refuses,
//! as Kafka's ZooKeeper-era authorizer did, a principal that is not
//! `type:name`, an empty host, and the wildcard name `*` with PREFIXED
//! (which would match only names starting with `*`). An ACL equal to one
//! held (or to an earlier one of the same request) is not added again and
//! is answered with success. The new ACLs are written as one batch: when
//! it cannot be written, each valid ACL of the request gets the storage
//! error. In ZooKeeper mode they are written to ZooKeeper instead, one
//! znode per resource pattern (`api::zk_security`), and each new ACL gets
//! the outcome of its pattern's write.

use super::describe_acls::{refused, Codes};
use super::{Ctx, Handled, Reply};
use crate::protocol::messages::create_acls_request::{AclCreation, CreateAclsRequest};
use crate::protocol::messages::create_acls_response::{AclCreationResult, CreateAclsResponse};
use crate::protocol::{ErrorCode, ResponseBody};
use crate::security::acl::{
    AclBinding, Operation, PatternType, Permission, ResourceType, CLUSTER_NAME, WILDCARD,
};
use crate::security::Principal;
use crate::state::ids::Ids;
use crate::state::security::{SecurityChange, SecurityImage};
use crate::state::Config;
use crate::storage::Storage;

/// Runs a CreateAcls request.
pub(super) fn handle<S: Storage>(
    ctx: &Ctx,
    config: &Config,
    security: &mut SecurityImage,
    storage: &mut S,
    ids: &mut Ids,
    req: CreateAclsRequest,
) -> Handled {
    for c in &req.creations {
        if let Some(why) = codes(c).unknown("creations") {
            return Handled::reply(Reply::Close(why));
        }
    }
    let answer = |code: ErrorCode, message: Option<String>| AclCreationResult {
        error_code: code.code(),
        error_message: message.map(Into::into),
        ..Default::default()
    };
    let respond = |results| {
        Handled::respond(ResponseBody::CreateAcls(CreateAclsResponse {
            results,
            ..Default::default()
        }))
    };
    if let Some((code, message)) = refused(ctx, config, security, Operation::Alter) {
        let one = answer(code, Some(message));
        return respond(vec![one; req.creations.len()]);
    }
    let mut results = Vec::with_capacity(req.creations.len());
    let mut valid = Vec::new();
    let mut changes: Vec<(AclBinding, SecurityChange)> = Vec::new();
    let mut added = Vec::new();
    for (i, c) in req.creations.iter().enumerate() {
        match binding(c) {
            Err(why) => results.push(answer(ErrorCode::INVALID_REQUEST, Some(why))),
            Ok(acl) if config.zk() => {
                results.push(answer(ErrorCode::NONE, None));
                if security.acls.find(&acl).is_none() {
                    added.push((i, acl));
                }
            }
            Ok(acl) => {
                valid.push(i);
                results.push(answer(ErrorCode::NONE, None));
                if security.acls.find(&acl).is_none() && changes.iter().all(|(a, _)| *a != acl) {
                    let change = SecurityChange::acl(security.new_acl_id(ids), &acl);
                    changes.push((acl, change));
                }
            }
        }
    }
    if config.zk() {
        let body = ResponseBody::CreateAcls(CreateAclsResponse {
            results,
            ..Default::default()
        });
        return super::zk_security::create_acls(body, added);
    }
    let changes: Vec<SecurityChange> = changes.into_iter().map(|(_, c)| c).collect();
    if let Err(code) = security.commit(storage, &changes, ctx.now) {
        for i in valid {
            results[i] = answer(code, Some("the ACLs could not be written".into()));
        }
    }
    respond(results)
}

/// The codes of a creation.
fn codes(c: &AclCreation) -> Codes {
    Codes {
        resource_type: c.resource_type,
        pattern_type: c.resource_pattern_type,
        operation: c.operation,
        permission: c.permission_type,
    }
}

/// The ACL a creation asks for, or why it is refused (INVALID_REQUEST).
fn binding(c: &AclCreation) -> Result<AclBinding, String> {
    let resource_type = ResourceType::from_code(c.resource_type)
        .filter(|t| *t != ResourceType::Any)
        .ok_or_else(|| format!("Invalid resourceType {}", c.resource_type))?;
    let pattern_type = PatternType::from_code(c.resource_pattern_type)
        .filter(|p| matches!(p, PatternType::Literal | PatternType::Prefixed))
        .ok_or_else(|| format!("Invalid patternType {}", c.resource_pattern_type))?;
    let name = c.resource_name.to_string();
    if resource_type == ResourceType::Cluster && name != CLUSTER_NAME {
        return Err(format!(
            "The only valid name for the CLUSTER resource is {CLUSTER_NAME}"
        ));
    }
    if name.is_empty() {
        return Err("Invalid empty resource name".into());
    }
    let operation = Operation::from_code(c.operation)
        .filter(|o| *o != Operation::Any)
        .ok_or_else(|| format!("Invalid operation {}", c.operation))?;
    let permission = Permission::from_code(c.permission_type)
        .filter(|p| *p != Permission::Any)
        .ok_or_else(|| format!("Invalid permissionType {}", c.permission_type))?;
    if Principal::parse(&c.principal).is_none() {
        return Err(format!(
            "expected a string in format principalType:principalName but got {}",
            c.principal
        ));
    }
    if c.host.is_empty() {
        return Err("Invalid empty host".into());
    }
    if name == WILDCARD && pattern_type == PatternType::Prefixed {
        return Err(
            "The wildcard resource name '*' is only valid with the LITERAL pattern type".into(),
        );
    }
    Ok(AclBinding {
        resource_type,
        resource_name: name,
        pattern_type,
        principal: c.principal.to_string(),
        host: c.host.to_string(),
        operation,
        permission,
    })
}
