//! The ZooKeeper path of CreateAcls, DeleteAcls and
//! AlterUserScramCredentials ([`crate::state::Config::zk_mode`]): the
//! request is checked as in single-broker mode, then, instead of records
//! in `__cluster_metadata`, its changes become a [`SecurityWrite`] for the
//! driver, one update per resource pattern (Kafka's `AclAuthorizer`
//! rewrites one ACL znode per pattern) or per user (Kafka's
//! `ZkAdminManager` rewrites one config znode per user). The response,
//! built already, is held ([`ZkHeld`]) until the driver reports each
//! update's outcome; an update that failed gives its error to the ACLs
//! (or user) it carried, as Kafka answers per resource.

use super::{Handled, Reply};
use crate::protocol::{ErrorCode, ResponseBody};
use crate::security::acl::AclBinding;
use crate::security::changes::{AclResource, AclUpdate, ScramUpdate, SecurityWrite};

/// A response waiting for the driver's ZooKeeper writes.
#[derive(Debug)]
pub(crate) struct ZkHeld {
    /// The response when every update succeeds.
    body: ResponseBody,
    /// Per update, the places in `body` its failure goes: CreateAcls
    /// `(result, _)`, DeleteAcls `(filter result, matching ACL)`,
    /// AlterUserScramCredentials `(result, _)`.
    fail: Vec<Vec<(usize, usize)>>,
}

/// What [`Handled`] carries for the broker: the write and the held answer.
pub(crate) type ZkWrite = (SecurityWrite, ZkHeld);

impl ZkHeld {
    /// The response, with each failed update's error where it goes.
    pub fn answer(self, results: &[Result<(), ErrorCode>]) -> ResponseBody {
        let ZkHeld { mut body, fail } = self;
        for (k, places) in fail.iter().enumerate() {
            let code = match results.get(k) {
                Some(Ok(())) => continue,
                Some(Err(code)) => *code,
                None => ErrorCode::UNKNOWN_SERVER_ERROR,
            };
            let message = Some(format!(
                "the change could not be written to ZooKeeper: {code}"
            ));
            for &(i, j) in places {
                let (error_code, error_message) = match &mut body {
                    ResponseBody::CreateAcls(r) => {
                        let Some(r) = r.results.get_mut(i) else {
                            continue;
                        };
                        (&mut r.error_code, &mut r.error_message)
                    }
                    ResponseBody::DeleteAcls(r) => {
                        let Some(m) = r
                            .filter_results
                            .get_mut(i)
                            .and_then(|f| f.matching_acls.get_mut(j))
                        else {
                            continue;
                        };
                        (&mut m.error_code, &mut m.error_message)
                    }
                    ResponseBody::AlterUserScramCredentials(r) => {
                        let Some(r) = r.results.get_mut(i) else {
                            continue;
                        };
                        (&mut r.error_code, &mut r.error_message)
                    }
                    _ => continue,
                };
                *error_code = code.code();
                *error_message = message.as_deref().map(Into::into);
            }
        }
        body
    }
}

/// Holds `body` until `write` is done (answers at once when it is empty).
fn hold(write: SecurityWrite, body: ResponseBody, fail: Vec<Vec<(usize, usize)>>) -> Handled {
    if write.is_empty() {
        return Handled::respond(body);
    }
    Handled {
        zk_write: Some((write, ZkHeld { body, fail })),
        ..Handled::reply(Reply::Hold)
    }
}

/// The index of `resource`'s update in `updates`, added if missing.
fn update_of(
    updates: &mut Vec<AclUpdate>,
    fail: &mut Vec<Vec<(usize, usize)>>,
    acl: &AclBinding,
) -> usize {
    let resource = AclResource::of(acl);
    if let Some(k) = updates.iter().position(|u| u.resource == resource) {
        return k;
    }
    updates.push(AclUpdate {
        resource,
        add: Vec::new(),
        remove: Vec::new(),
    });
    fail.push(Vec::new());
    updates.len() - 1
}

/// CreateAcls: `added` are the request's ACLs not held yet, each with the
/// index of its result in `body`.
pub(super) fn create_acls(body: ResponseBody, added: Vec<(usize, AclBinding)>) -> Handled {
    let (mut updates, mut fail) = (Vec::new(), Vec::new());
    for (i, acl) in added {
        let k = update_of(&mut updates, &mut fail, &acl);
        if !updates[k].add.contains(&acl) {
            updates[k].add.push(acl);
        }
        fail[k].push((i, 0));
    }
    hold(SecurityWrite::Acls(updates), body, fail)
}

/// DeleteAcls: `removed` are the ACLs the filters matched, each with its
/// filter's index and its index among that filter's matches.
pub(super) fn delete_acls(body: ResponseBody, removed: Vec<(usize, usize, AclBinding)>) -> Handled {
    let (mut updates, mut fail) = (Vec::new(), Vec::new());
    for (i, j, acl) in removed {
        let k = update_of(&mut updates, &mut fail, &acl);
        if !updates[k].remove.contains(&acl) {
            updates[k].remove.push(acl);
        }
        fail[k].push((i, j));
    }
    hold(SecurityWrite::Acls(updates), body, fail)
}

/// AlterUserScramCredentials: one update per user, with the index of the
/// user's result in `body`.
pub(super) fn alter_scram(body: ResponseBody, users: Vec<(usize, ScramUpdate)>) -> Handled {
    let fail = users.iter().map(|(i, _)| vec![(*i, 0)]).collect();
    let updates = users.into_iter().map(|(_, u)| u).collect();
    hold(SecurityWrite::Scram(updates), body, fail)
}
