//! DescribeUserScramCredentials (key 50): which SCRAM mechanisms each
//! user has a credential for, and with how many iterations. Never the
//! salt or the keys.
//!
//! # Wire
//!
//! Request: the users to describe (null or empty: every user that has a
//! credential). Response: throttle time, error code and message, and per
//! user its name, error code and message and credential infos (mechanism:
//! 1 SCRAM-SHA-256, 2 SCRAM-SHA-512; iterations).
//!
//! # Versions
//!
//! 0 (flexible).
//!
//! As Kafka's KRaft broker answers from its metadata image (`ScramImage`):
//! a user named twice is DUPLICATE_RESOURCE, a user without any
//! credential RESOURCE_NOT_FOUND. The principal needs DESCRIBE on the
//! cluster: otherwise the top-level error is CLUSTER_AUTHORIZATION_FAILED
//! and each requested user gets it too (with an empty name, as Kafka's
//! error response has). Served with or without an authorizer (without
//! one every principal may describe). Users are answered in the order
//! they are first named, every user in name order.

use super::Ctx;
use crate::protocol::messages::describe_user_scram_credentials_request::DescribeUserScramCredentialsRequest;
use crate::protocol::messages::describe_user_scram_credentials_response::{
    CredentialInfo, DescribeUserScramCredentialsResponse, DescribeUserScramCredentialsResult,
};
use crate::protocol::ErrorCode;
use crate::security::acl::{Operation, ResourceType, CLUSTER_NAME};
use crate::state::security::SecurityImage;
use crate::state::Config;

/// Runs a DescribeUserScramCredentials request.
pub(super) fn handle(
    ctx: &Ctx,
    config: &Config,
    security: &SecurityImage,
    req: DescribeUserScramCredentialsRequest,
) -> DescribeUserScramCredentialsResponse {
    let named: Vec<String> = req
        .users
        .unwrap_or_default()
        .into_iter()
        .map(|u| u.name.to_string())
        .collect();
    if !ctx.authorizer(config, security).allows(
        Operation::Describe,
        ResourceType::Cluster,
        CLUSTER_NAME,
    ) {
        let code = ErrorCode::CLUSTER_AUTHORIZATION_FAILED;
        let message = format!("{} may not describe the cluster", ctx.principal);
        let one = DescribeUserScramCredentialsResult {
            user: "".into(),
            error_code: code.code(),
            error_message: Some(message.as_str().into()),
            ..Default::default()
        };
        return DescribeUserScramCredentialsResponse {
            error_code: code.code(),
            error_message: Some(message.into()),
            results: vec![one; named.len()],
            ..Default::default()
        };
    }
    // Each user once, with whether it was named more than once.
    let mut users: Vec<(String, bool)> = Vec::new();
    if named.is_empty() {
        for (user, _) in security.scram.keys() {
            if users.last().is_none_or(|(u, _)| u != user) {
                users.push((user.clone(), false));
            }
        }
    } else {
        for name in named {
            match users.iter_mut().find(|(u, _)| *u == name) {
                Some((_, twice)) => *twice = true,
                None => users.push((name, false)),
            }
        }
    }
    let results = users
        .into_iter()
        .map(|(user, twice)| {
            let mut r = DescribeUserScramCredentialsResult {
                user: user.as_str().into(),
                ..Default::default()
            };
            let infos: Vec<CredentialInfo> = security
                .scram
                .iter()
                .filter(|((u, _), _)| *u == user)
                .filter_map(|((_, m), c)| {
                    Some(CredentialInfo {
                        mechanism: m.scram_id()?,
                        iterations: c.iterations,
                        ..Default::default()
                    })
                })
                .collect();
            let (code, message) = if twice {
                let m = "Cannot describe SCRAM credentials for the same user twice in a single request: ";
                (ErrorCode::DUPLICATE_RESOURCE, m)
            } else if infos.is_empty() {
                let m = "Attempt to describe a user credential that does not exist: ";
                (ErrorCode::RESOURCE_NOT_FOUND, m)
            } else {
                r.credential_infos = infos;
                return r;
            };
            r.error_code = code.code();
            r.error_message = Some(format!("{message}{user}").into());
            r
        })
        .collect();
    DescribeUserScramCredentialsResponse {
        results,
        ..Default::default()
    }
}
