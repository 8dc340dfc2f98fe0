//! AlterUserScramCredentials (key 51): sets and deletes users' SCRAM
//! credentials, each a UserScramCredentialRecord or
//! RemoveUserScramCredentialRecord in `__cluster_metadata`
//! (`state::security`).
//!
//! # Wire
//!
//! Request: deletions (user name, mechanism) and upsertions (user name,
//! mechanism, iterations, salt, salted password). Response: throttle time
//! and, per user, its name, error code and message.
//!
//! # Versions
//!
//! 0 (flexible).
//!
//! As Kafka's `ScramControlManager`: the client sends the salted password
//! (`Hi(password, salt, iterations)`), never the password; the broker
//! keeps the salt, `StoredKey` and `ServerKey` made of it
//! (`security::sasl::scram::credential`) and the iteration count. Errors
//! are per user: an empty user name is UNACCEPTABLE_CREDENTIAL, a
//! mechanism other than 1 (SCRAM-SHA-256) or 2 (SCRAM-SHA-512)
//! UNSUPPORTED_SASL_MECHANISM, fewer than 4096 or more than 16384
//! iterations UNACCEPTABLE_CREDENTIAL, a user altered twice in one request
//! DUPLICATE_RESOURCE, deleting a credential that does not exist
//! RESOURCE_NOT_FOUND. Spate also refuses an empty salt or salted password
//! (UNACCEPTABLE_CREDENTIAL), which Kafka fails on with an unknown error.
//! The principal needs ALTER on the cluster: otherwise every user named
//! gets CLUSTER_AUTHORIZATION_FAILED. Served with or without an
//! authorizer. The changes of a request are written as one batch: when it
//! cannot be written, every user that had no error of its own gets the
//! storage error and nothing changes. Users are answered as Kafka groups
//! them: deletions, then upsertions, then errors (each in name order).
//!
//! In ZooKeeper mode each user's credentials are written to its config
//! znode instead, as Kafka's `ZkAdminManager` writes them
//! (`api::zk_security`), and each user gets the outcome of its write.

use crate::collections::Map;

use super::{Ctx, Handled};
use crate::protocol::messages::alter_user_scram_credentials_request::{
    AlterUserScramCredentialsRequest, ScramCredentialUpsertion,
};
use crate::protocol::messages::alter_user_scram_credentials_response::{
    AlterUserScramCredentialsResponse, AlterUserScramCredentialsResult,
};
use crate::protocol::{ErrorCode, ResponseBody};
use crate::security::acl::{Operation, ResourceType, CLUSTER_NAME};
use crate::security::changes::ScramUpdate;
use crate::security::sasl::{scram, Mechanism};
use crate::state::security::{SecurityChange, SecurityImage};
use crate::state::Config;
use crate::storage::Storage;

/// Fewest PBKDF2 iterations Kafka accepts for either SCRAM mechanism.
const MIN_ITERATIONS: i32 = 4096;
/// Most PBKDF2 iterations Kafka accepts.
const MAX_ITERATIONS: i32 = 16384;

/// An error for one user.
type Refusal = (ErrorCode, String);

/// Runs an AlterUserScramCredentials request.
pub(super) fn handle<S: Storage>(
    ctx: &Ctx,
    config: &Config,
    security: &mut SecurityImage,
    storage: &mut S,
    req: AlterUserScramCredentialsRequest,
) -> Handled {
    let result = |user: &str, error: Option<&Refusal>| AlterUserScramCredentialsResult {
        user: user.into(),
        error_code: error.map_or(0, |(c, _)| c.code()),
        error_message: error.map(|(_, m)| m.as_str().into()),
        ..Default::default()
    };
    let respond = |results| AlterUserScramCredentialsResponse {
        results,
        ..Default::default()
    };
    if !ctx.authorizer(config, security).allows(
        Operation::Alter,
        ResourceType::Cluster,
        CLUSTER_NAME,
    ) {
        let refusal = (
            ErrorCode::CLUSTER_AUTHORIZATION_FAILED,
            format!("{} may not alter the cluster", ctx.principal),
        );
        let mut users: Vec<&str> = req.deletions.iter().map(|d| &*d.name).collect();
        users.extend(req.upsertions.iter().map(|u| &*u.name));
        users.sort_unstable();
        users.dedup();
        let results = users.iter().map(|u| result(u, Some(&refusal))).collect();
        return Handled::respond(ResponseBody::AlterUserScramCredentials(respond(results)));
    }
    let mut errors: Map<String, Refusal> = Map::new();
    let mut deletions: Map<String, Mechanism> = Map::new();
    let mut upsertions: Map<String, (Mechanism, &ScramCredentialUpsertion)> = Map::new();
    let twice = || {
        (
            ErrorCode::DUPLICATE_RESOURCE,
            "A user credential cannot be altered twice in the same request".to_string(),
        )
    };
    for d in &req.deletions {
        let name = d.name.to_string();
        if errors.contains_key(&name) {
            continue;
        }
        if deletions.remove(&name).is_some() {
            errors.insert(name, twice());
            continue;
        }
        let checked = user_and_mechanism(&name, d.mechanism).and_then(|m| {
            match security.scram.contains_key(&(name.clone(), m)) {
                true => Ok(m),
                false => Err((
                    ErrorCode::RESOURCE_NOT_FOUND,
                    "Attempt to delete a user credential that does not exist".into(),
                )),
            }
        });
        match checked {
            Ok(m) => {
                deletions.insert(name, m);
            }
            Err(e) => {
                errors.insert(name, e);
            }
        }
    }
    for u in &req.upsertions {
        let name = u.name.to_string();
        if errors.contains_key(&name) {
            continue;
        }
        if deletions.remove(&name).is_some() || upsertions.remove(&name).is_some() {
            errors.insert(name, twice());
            continue;
        }
        match upsertion(u) {
            Ok(m) => {
                upsertions.insert(name, (m, u));
            }
            Err(e) => {
                errors.insert(name, e);
            }
        }
    }
    if config.zk() {
        let mut updates = Vec::new();
        for (name, m) in &deletions {
            updates.push(ScramUpdate {
                user: name.clone(),
                set: Vec::new(),
                delete: vec![*m],
            });
        }
        for (name, (m, u)) in &upsertions {
            let c = scram::credential(*m, &u.salted_password, &u.salt, u.iterations);
            updates.push(ScramUpdate {
                user: name.clone(),
                set: vec![(*m, c)],
                delete: Vec::new(),
            });
        }
        let mut results: Vec<_> = updates.iter().map(|u| result(&u.user, None)).collect();
        results.extend(errors.iter().map(|(user, e)| result(user, Some(e))));
        let body = ResponseBody::AlterUserScramCredentials(respond(results));
        return super::zk_security::alter_scram(body, updates.into_iter().enumerate().collect());
    }
    let mut changes = Vec::new();
    for (name, m) in &deletions {
        changes.push(SecurityChange::remove_scram(name, *m));
    }
    for (name, (m, u)) in &upsertions {
        let c = scram::credential(*m, &u.salted_password, &u.salt, u.iterations);
        changes.push(SecurityChange::scram(name, *m, &c));
    }
    let written = security.commit(storage, &changes, ctx.now);
    let failed = written
        .err()
        .map(|code| (code, "the credentials could not be written".to_string()));
    let mut results: Vec<_> = deletions
        .keys()
        .chain(upsertions.keys())
        .map(|user| result(user, failed.as_ref()))
        .collect();
    results.extend(errors.iter().map(|(user, e)| result(user, Some(e))));
    Handled::respond(ResponseBody::AlterUserScramCredentials(respond(results)))
}

/// Kafka's checks of a user name and mechanism id.
fn user_and_mechanism(name: &str, mechanism: i8) -> Result<Mechanism, Refusal> {
    if name.is_empty() {
        return Err((
            ErrorCode::UNACCEPTABLE_CREDENTIAL,
            "Username must not be empty".into(),
        ));
    }
    Mechanism::from_scram_id(mechanism).ok_or_else(|| {
        (
            ErrorCode::UNSUPPORTED_SASL_MECHANISM,
            "Unknown SCRAM mechanism".into(),
        )
    })
}

/// The checks of an upsertion: its mechanism, or why it is refused.
fn upsertion(u: &ScramCredentialUpsertion) -> Result<Mechanism, Refusal> {
    let m = user_and_mechanism(&u.name, u.mechanism)?;
    let unacceptable = |why: &str| Err((ErrorCode::UNACCEPTABLE_CREDENTIAL, why.to_string()));
    if u.iterations < MIN_ITERATIONS {
        return unacceptable("Too few iterations");
    }
    if u.iterations > MAX_ITERATIONS {
        return unacceptable("Too many iterations");
    }
    if u.salt.is_empty() {
        return unacceptable("Salt must not be empty");
    }
    if u.salted_password.is_empty() {
        return unacceptable("Salted password must not be empty");
    }
    Ok(m)
}
