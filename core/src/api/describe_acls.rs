//! DescribeAcls (key 29): the ACLs a filter matches, grouped by resource
//! pattern.
//!
//! # Wire
//!
//! Request: one filter: resource type, resource name (nullable: any),
//! pattern type (v1+), principal and host (nullable: any), operation and
//! permission type. Response: throttle time, error code and message, and
//! the matching ACLs as resources (type, name, pattern type (v1+)), each
//! with its ACLs (principal, host, operation, permission type).
//!
//! # Versions
//!
//! 0-3 (flexible from 2). v0 has no pattern type: its filter is LITERAL.
//!
//! As in Kafka: without an authorizer (`authorizer.class.name` unset) the
//! answer is SECURITY_DISABLED; the principal needs DESCRIBE on the
//! cluster (CLUSTER_AUTHORIZATION_FAILED otherwise). A filter holding the
//! code 0 (UNKNOWN) for a type is a request Kafka fails to parse: the
//! connection is closed. A code Kafka does not define matches nothing. With MATCH, a
//! named resource matches the ACLs that apply to it: its literal name,
//! the wildcard and the prefixes of its name.
//!
//! This module also holds what the three ACL APIs share: [`refused`] and
//! [`filter`].

use crate::collections::Map;

use bytestring::ByteString;

use super::{Ctx, Handled, Reply};
use crate::protocol::messages::describe_acls_request::DescribeAclsRequest;
use crate::protocol::messages::describe_acls_response::{
    AclDescription, DescribeAclsResource, DescribeAclsResponse,
};
use crate::protocol::{ErrorCode, ResponseBody};
use crate::security::acl::{
    AclFilter, Operation, PatternType, Permission, ResourceType, CLUSTER_NAME,
};
use crate::state::security::SecurityImage;
use crate::state::Config;

/// Runs a DescribeAcls request.
pub(super) fn handle(
    ctx: &Ctx,
    config: &Config,
    security: &SecurityImage,
    req: DescribeAclsRequest,
) -> Handled {
    let f = filter(
        Codes {
            resource_type: req.resource_type_filter,
            pattern_type: req.pattern_type_filter,
            operation: req.operation,
            permission: req.permission_type,
        },
        req.resource_name_filter,
        req.principal_filter,
        req.host_filter,
    );
    let f = match f {
        Ok(f) => f,
        Err(why) => return Handled::reply(Reply::Close(why)),
    };
    let mut r = DescribeAclsResponse::default();
    if let Some((code, message)) = refused(ctx, config, security, Operation::Describe) {
        r.error_code = code.code();
        r.error_message = Some(message.into());
        return Handled::respond(ResponseBody::DescribeAcls(r));
    }
    let mut resources: Map<(i8, String, i8), Vec<AclDescription>> = Map::new();
    if let Some(f) = &f {
        for (_, acl) in security.acls.matching(f) {
            let key = (
                acl.resource_type.code(),
                acl.resource_name.clone(),
                acl.pattern_type.code(),
            );
            resources.entry(key).or_default().push(AclDescription {
                principal: acl.principal.as_str().into(),
                host: acl.host.as_str().into(),
                operation: acl.operation.code(),
                permission_type: acl.permission.code(),
                ..Default::default()
            });
        }
    }
    r.resources = resources
        .into_iter()
        .map(|((t, name, p), acls)| DescribeAclsResource {
            resource_type: t,
            resource_name: name.into(),
            pattern_type: p,
            acls,
            ..Default::default()
        })
        .collect();
    Handled::respond(ResponseBody::DescribeAcls(r))
}

/// Why an ACL API refuses a request before looking at it, with Kafka's
/// message: no authorizer is configured (SECURITY_DISABLED), or the
/// principal may not do `op` on the cluster (CLUSTER_AUTHORIZATION_FAILED).
pub(super) fn refused(
    ctx: &Ctx,
    config: &Config,
    security: &SecurityImage,
    op: Operation,
) -> Option<(ErrorCode, String)> {
    if !config.security.authorizer {
        return Some((
            ErrorCode::SECURITY_DISABLED,
            "No Authorizer is configured on the broker".into(),
        ));
    }
    if !ctx
        .authorizer(config, security)
        .allows(op, ResourceType::Cluster, CLUSTER_NAME)
    {
        return Some((
            ErrorCode::CLUSTER_AUTHORIZATION_FAILED,
            format!(
                "{} may not {} the cluster",
                ctx.principal,
                op.name().to_lowercase()
            ),
        ));
    }
    None
}

/// The codes of a filter, or of an ACL to create.
#[derive(Debug, Clone, Copy)]
pub(super) struct Codes {
    pub resource_type: i8,
    pub pattern_type: i8,
    pub operation: i8,
    pub permission: i8,
}

impl Codes {
    /// Kafka's parse error for a request holding UNKNOWN (0) for a type.
    pub fn unknown(&self, what: &str) -> Option<String> {
        [
            self.resource_type,
            self.pattern_type,
            self.operation,
            self.permission,
        ]
        .contains(&0)
        .then(|| format!("{what} contain UNKNOWN elements"))
    }
}

/// The filter of DescribeAcls or of one DeleteAcls filter. `Err`: the
/// request is one Kafka fails to parse (close the connection); `Ok(None)`:
/// a code Kafka does not define, which matches no ACL.
pub(super) fn filter(
    codes: Codes,
    name: Option<ByteString>,
    principal: Option<ByteString>,
    host: Option<ByteString>,
) -> Result<Option<AclFilter>, String> {
    if let Some(why) = codes.unknown("filters") {
        return Err(why);
    }
    macro_rules! field {
        ($ty:ident, $code:expr) => {
            match $code {
                1 => None,
                c => match $ty::from_code(c) {
                    Some(v) => Some(v),
                    None => return Ok(None),
                },
            }
        };
    }
    Ok(Some(AclFilter {
        resource_type: field!(ResourceType, codes.resource_type),
        resource_name: name.map(|n| n.to_string()),
        pattern_type: field!(PatternType, codes.pattern_type),
        principal: principal.map(|p| p.to_string()),
        host: host.map(|h| h.to_string()),
        operation: field!(Operation, codes.operation),
        permission: field!(Permission, codes.permission),
    }))
}
