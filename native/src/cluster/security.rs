//! ACLs and SCRAM credentials in ZooKeeper, as Kafka 2.x-3.x keeps them
//! (`security_znodes` has the layout and JSON).
//!
//! Writes ([`write_security`], for a held CreateAcls, DeleteAcls or
//! AlterUserScramCredentials): each ACL update reads its resource
//! pattern's znode, adds and removes its ACLs and writes the result back
//! conditionally on the version read, retrying on a conflict up to
//! [`MAX_UPDATE_RETRIES`] times (Kafka's `AclAuthorizer.updateResourceAcls`);
//! a pattern left without ACLs has its znode deleted. Then it leaves a
//! change notification for the other brokers. A SCRAM update does the
//! same with the user's config znode, keeping its other configs (quotas),
//! and announces it under `/config/changes` (Kafka's
//! `ZkAdminManager.alterUserScramCredentials`). The broker is told what
//! each znode holds now before it is told the outcome.
//!
//! Following ([`Follow`]): the first time the change notifications are
//! seen, every ACL znode (and every user's config) is read; after that,
//! each new notification names a resource pattern (or a user) to read
//! again, as Kafka's `ZkNodeChangeNotificationListener` does. Notifications
//! older than 15 minutes are purged, as for config changes.

use std::collections::BTreeSet;

use spate_core::broker::{AclResource, ScramUpdate, SecurityWrite};
use spate_core::protocol::ErrorCode;
use spate_core::security::acl::{AclBinding, PatternType};
use spate_core::security::sasl::{Mechanism, ScramCredential};
use tracing::{debug, info, warn};

use super::engine::{Engine, EngineError, Expect, Written};
use super::security_znodes::{
    acl_change, acl_path, credential_to_string, decode_acl_change, decode_acls, desanitize,
    encode_acls, encode_user_change, resource_type_dir, scram_of, user_path, ACL_CHANGE_PREFIX,
    EXTENDED_CHANGES, LITERAL_ACLS, LITERAL_CHANGES, PREFIXED_ACLS, RESOURCE_TYPES, USERS,
};
use super::topic_znodes::{decode_configs, encode_configs, expired, CONFIG_CHANGE_PREFIX};

/// How many times a conditional write is tried (Kafka's
/// `AclAuthorizer.maxUpdateRetries`).
pub(crate) const MAX_UPDATE_RETRIES: usize = 10;

/// How this module tells the broker what ZooKeeper holds now: the
/// membership loop wraps each [`SecurityNews`] into its own news.
pub(crate) type Tell<'a> = &'a (dyn Fn(SecurityNews) + Send + Sync);

/// What the membership loop tells the broker about security.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SecurityNews {
    /// A resource pattern's ACLs as its znode holds them now.
    Acls(AclResource, Vec<AclBinding>),
    /// A user's SCRAM credentials as its config znode holds them now.
    Scram(String, Vec<(Mechanism, ScramCredential)>),
    /// The outcome of each update of the write the request on `conn` asked.
    Written(u64, Vec<Result<(), ErrorCode>>),
}

/// Carries out `write`, telling the broker what each changed znode holds;
/// one result per update.
pub(super) async fn write_security<E: Engine>(
    engine: &E,
    write: SecurityWrite,
    tell: Tell<'_>,
) -> Vec<Result<(), ErrorCode>> {
    let mut results = Vec::new();
    match write {
        SecurityWrite::Acls(updates) => {
            for u in updates {
                let done = update_acls(engine, &u.resource, &u.add, &u.remove).await;
                results.push(outcome(done, tell, |acls| {
                    SecurityNews::Acls(u.resource.clone(), acls)
                }));
            }
        }
        SecurityWrite::Scram(updates) => {
            for u in updates {
                let done = update_user(engine, &u).await;
                results.push(outcome(done, tell, |creds| {
                    SecurityNews::Scram(u.user.clone(), creds)
                }));
            }
        }
    }
    results
}

/// Tells the broker what a successful update left, and its outcome.
fn outcome<T>(
    done: Result<T, String>,
    tell: Tell<'_>,
    news: impl FnOnce(T) -> SecurityNews,
) -> Result<(), ErrorCode> {
    match done {
        Ok(now) => {
            tell(news(now));
            Ok(())
        }
        Err(why) => {
            warn!("writing to ZooKeeper failed: {why}");
            Err(ErrorCode::UNKNOWN_SERVER_ERROR)
        }
    }
}

/// The condition of a write after reading `read`.
fn expect(read: &Option<super::engine::Versioned>) -> Expect {
    read.as_ref()
        .map_or(Expect::Absent, |v| Expect::Version(v.version))
}

/// Adds and removes ACLs of one pattern; what the znode holds after.
async fn update_acls<E: Engine>(
    engine: &E,
    resource: &AclResource,
    add: &[AclBinding],
    remove: &[AclBinding],
) -> Result<Vec<AclBinding>, String> {
    let path = acl_path(resource).ok_or("a pattern type ZooKeeper does not store")?;
    for _ in 0..MAX_UPDATE_RETRIES {
        let read = engine.read(&path).await.map_err(|e| e.to_string())?;
        let held = match &read {
            Some(v) => decode_acls(resource, &v.data).map_err(|why| format!("{path}: {why}"))?,
            None => Vec::new(),
        };
        let mut acls: Vec<AclBinding> = held
            .iter()
            .filter(|a| !remove.contains(a))
            .cloned()
            .collect();
        for a in add {
            if !acls.contains(a) {
                acls.push(a.clone());
            }
        }
        if acls == held {
            return Ok(acls);
        }
        // Emptied: the znode goes (Kafka's conditional delete).
        let w = match (&read, acls.is_empty()) {
            (Some(v), true) => engine.delete_at(&path, v.version).await,
            _ => {
                let data = encode_acls(&acls);
                engine.write(&path, &data, expect(&read), None).await
            }
        };
        if let Written::Conflict = w.map_err(|e| e.to_string())? {
            debug!("{path} changed meanwhile; reading it again");
            continue;
        }
        let (dir, note) = acl_change(resource);
        let prefix = format!("{dir}/{ACL_CHANGE_PREFIX}");
        engine
            .create_sequential(&prefix, &note)
            .await
            .map_err(|e| e.to_string())?;
        return Ok(acls);
    }
    Err(format!(
        "{path}: still changing after {MAX_UPDATE_RETRIES} tries"
    ))
}

/// Sets and deletes a user's SCRAM credentials; what the znode holds after.
async fn update_user<E: Engine>(
    engine: &E,
    u: &ScramUpdate,
) -> Result<Vec<(Mechanism, ScramCredential)>, String> {
    let path = user_path(&u.user);
    for _ in 0..MAX_UPDATE_RETRIES {
        let read = engine.read(&path).await.map_err(|e| e.to_string())?;
        let mut configs = match &read {
            Some(v) => decode_configs(&v.data).map_err(|why| format!("{path}: {why}"))?,
            None => Vec::new(),
        };
        let touched: Vec<Mechanism> = u
            .delete
            .iter()
            .chain(u.set.iter().map(|(m, _)| m))
            .copied()
            .collect();
        configs.retain(|(k, _)| touched.iter().all(|m| m.name() != k));
        for (m, c) in &u.set {
            configs.push((m.name().to_string(), credential_to_string(c)));
        }
        let data = encode_configs(&configs);
        let w = engine.write(&path, &data, expect(&read), None).await;
        if let Written::Conflict = w.map_err(|e| e.to_string())? {
            continue;
        }
        engine
            .create_sequential(CONFIG_CHANGE_PREFIX, &encode_user_change(&u.user))
            .await
            .map_err(|e| e.to_string())?;
        return Ok(scram_of(&configs));
    }
    Err(format!(
        "{path}: still changing after {MAX_UPDATE_RETRIES} tries"
    ))
}

/// Reads the ACL znode of `resource` and tells the broker.
async fn tell_acls<E: Engine>(
    engine: &E,
    resource: AclResource,
    tell: Tell<'_>,
) -> Result<(), EngineError> {
    let Some(path) = acl_path(&resource) else {
        return Ok(());
    };
    let acls = match engine.read(&path).await? {
        Some(v) => decode_acls(&resource, &v.data).unwrap_or_else(|why| {
            warn!("{path}: {why}; its ACLs are ignored");
            Vec::new()
        }),
        None => Vec::new(),
    };
    tell(SecurityNews::Acls(resource, acls));
    Ok(())
}

/// Reads the config znode of `user` and tells the broker its credentials.
async fn tell_user<E: Engine>(engine: &E, user: String, tell: Tell<'_>) -> Result<(), EngineError> {
    let path = user_path(&user);
    let creds = match engine.read(&path).await? {
        Some(v) => scram_of(&decode_configs(&v.data).unwrap_or_default()),
        None => Vec::new(),
    };
    debug!(user = %user, mechanisms = creds.len(), "a user's SCRAM credentials");
    tell(SecurityNews::Scram(user, creds));
    Ok(())
}

/// Where the broker stands in following the security znodes.
#[derive(Debug, Default)]
pub(super) struct Follow {
    /// Per change store (literal, extended): whether every ACL of it was
    /// read, and the last notification read.
    acls: [(bool, Option<u64>); 2],
    /// Whether every user's config was read.
    users: bool,
}

impl Follow {
    /// Reads every ACL and every user's credentials, as a broker does
    /// when it starts (the engine's `connect` keeps the watches' first
    /// reads to itself). What fails is read at the next change
    /// notification instead.
    pub async fn load<E: Engine>(&mut self, engine: &E, tell: Tell<'_>) -> Result<(), EngineError> {
        for extended in [false, true] {
            self.load_acls(engine, extended, tell).await?;
        }
        self.user_changes(engine, BTreeSet::new(), tell).await
    }

    /// Reads every ACL of one store (`extended`: PREFIXED patterns).
    async fn load_acls<E: Engine>(
        &mut self,
        engine: &E,
        extended: bool,
        tell: Tell<'_>,
    ) -> Result<(), EngineError> {
        let (root, pattern_type) = match extended {
            false => (LITERAL_ACLS, PatternType::Literal),
            true => (PREFIXED_ACLS, PatternType::Prefixed),
        };
        let mut n = 0;
        for resource_type in RESOURCE_TYPES {
            let parent = format!("{root}/{}", resource_type_dir(resource_type));
            for name in engine.children(&parent).await? {
                let resource = AclResource {
                    resource_type,
                    name,
                    pattern_type,
                };
                tell_acls(engine, resource, tell).await?;
                n += 1;
            }
        }
        info!(root, patterns = n, "read every ACL from ZooKeeper");
        self.acls[usize::from(extended)].0 = true;
        Ok(())
    }

    /// The ACL change notifications `names` of one store are there now.
    pub async fn acl_changes<E: Engine>(
        &mut self,
        engine: &E,
        extended: bool,
        names: &BTreeSet<String>,
        tell: Tell<'_>,
        now_ms: i64,
    ) -> Result<(), EngineError> {
        let dir = if extended {
            EXTENDED_CHANGES
        } else {
            LITERAL_CHANGES
        };
        let mut seqs: Vec<(u64, &String)> = names
            .iter()
            .filter_map(|n| Some((n.strip_prefix(ACL_CHANGE_PREFIX)?.parse().ok()?, n)))
            .collect();
        seqs.sort();
        if !self.acls[usize::from(extended)].0 {
            self.load_acls(engine, extended, tell).await?;
            self.acls[usize::from(extended)].1 = seqs.last().map(|(s, _)| *s);
        }
        let last = &mut self.acls[usize::from(extended)].1;
        for (seq, name) in seqs {
            let path = format!("{dir}/{name}");
            if last.is_none_or(|l| seq > l) {
                if let Some(v) = engine.read(&path).await? {
                    match decode_acl_change(extended, &v.data) {
                        Some(resource) => tell_acls(engine, resource, tell).await?,
                        None => warn!("{path}: not an ACL change notification; ignored"),
                    }
                }
                *last = Some(seq);
            }
            if let Some(v) = engine.read(&path).await? {
                if expired(now_ms, v.created_ms) {
                    engine.delete(&path).await?;
                }
            }
        }
        Ok(())
    }

    /// The config change announcements named `users` (read already by
    /// `config_changes`); the first time, every user's config is read.
    pub async fn user_changes<E: Engine>(
        &mut self,
        engine: &E,
        users: BTreeSet<String>,
        tell: Tell<'_>,
    ) -> Result<(), EngineError> {
        let users: BTreeSet<String> = match self.users {
            true => users,
            false => engine
                .children(USERS)
                .await?
                .iter()
                .map(|n| desanitize(n))
                .collect(),
        };
        if !self.users {
            info!(
                users = users.len(),
                "read every user's SCRAM credentials from ZooKeeper"
            );
        }
        for user in users {
            tell_user(engine, user, tell).await?;
        }
        self.users = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::engine::Version;
    use super::*;

    #[test]
    fn a_write_is_conditional_on_what_was_read() {
        assert_eq!(expect(&None), Expect::Absent);
        let read = Some(super::super::engine::Versioned {
            data: Vec::new(),
            version: Version(4),
            created_ms: 0,
        });
        assert_eq!(expect(&read), Expect::Version(Version(4)));
    }
}
