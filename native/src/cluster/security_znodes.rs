//! Kafka's ZooKeeper layout and JSON for ACLs and SCRAM credentials, as
//! Kafka 2.x-3.x's `AclAuthorizer`, `AdminZkClient` and
//! `ScramCredentialUtils` write them (`kafka.zk.ZkData`).
//!
//! ```text
//! /kafka-acl/Topic/orders                    {"version":1,"acls":[{"principal":"User:alice",
//!                                              "permissionType":"Allow","operation":"Read","host":"*"}]}
//! /kafka-acl-extended/prefixed/Group/app-    the same, for a PREFIXED pattern
//! /kafka-acl-changes/acl_changes_0000000003  TOPIC:orders            (a LITERAL pattern changed)
//! /kafka-acl-extended-changes/acl_changes_…  {"version":1,"resourceType":"GROUP","name":"app-",
//!                                              "patternType":"PREFIXED"}
//! /config/users/alice                        {"version":1,"config":{"SCRAM-SHA-256":
//!                                              "salt=…,stored_key=…,server_key=…,iterations=4096"}}
//! /config/changes/config_change_0000000007   {"version":2,"entity_path":"users/alice"}
//! ```
//!
//! Resource types, operations and permissions are named in PascalCase in
//! paths and ACL JSON (Kafka's `SecurityUtils`), in upper case in change
//! events. User names are sanitized in paths (Kafka's `Sanitizer`: URL
//! encoding, with `*` and space percent-encoded too).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use spate_core::broker::AclResource;
use spate_core::security::acl::{AclBinding, Operation, PatternType, Permission, ResourceType};
use spate_core::security::sasl::{Mechanism, ScramCredential};

/// Where LITERAL patterns' ACLs live.
pub(crate) const LITERAL_ACLS: &str = "/kafka-acl";
/// Where PREFIXED patterns' ACLs live.
pub(crate) const PREFIXED_ACLS: &str = "/kafka-acl-extended/prefixed";
/// Change notifications of LITERAL patterns.
pub(crate) const LITERAL_CHANGES: &str = "/kafka-acl-changes";
/// Change notifications of other patterns.
pub(crate) const EXTENDED_CHANGES: &str = "/kafka-acl-extended-changes";
/// The prefix of each ACL change notification's name.
pub(crate) const ACL_CHANGE_PREFIX: &str = "acl_changes_";
/// Users' config znodes.
pub(crate) const USERS: &str = "/config/users";

/// The concrete resource types, as ACL znodes are named.
pub(crate) const RESOURCE_TYPES: [ResourceType; 6] = [
    ResourceType::Topic,
    ResourceType::Group,
    ResourceType::Cluster,
    ResourceType::TransactionalId,
    ResourceType::DelegationToken,
    ResourceType::User,
];

/// `TRANSACTIONAL_ID` as `TransactionalId` (Kafka's `toPascalCase`).
fn pascal(name: &str) -> String {
    name.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next().map_or(String::new(), |f| {
                f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase()
            })
        })
        .collect()
}

/// The value named `s` in PascalCase or upper case, as Kafka's
/// `SecurityUtils` reads them.
fn named<T: Copy>(all: &[T], name: impl Fn(T) -> &'static str, s: &str) -> Option<T> {
    all.iter()
        .copied()
        .find(|v| pascal(name(*v)) == s || name(*v) == s)
}

/// The ACL znode of a resource pattern (`None`: a pattern type Kafka
/// does not store).
pub(crate) fn acl_path(r: &AclResource) -> Option<String> {
    let root = match r.pattern_type {
        PatternType::Literal => LITERAL_ACLS,
        PatternType::Prefixed => PREFIXED_ACLS,
        _ => return None,
    };
    Some(format!(
        "{root}/{}/{}",
        pascal(r.resource_type.name()),
        r.name
    ))
}

/// The resource type an ACL znode's parent is named after.
pub(crate) fn resource_type_dir(t: ResourceType) -> String {
    pascal(t.name())
}

/// One ACL of a resource znode, in Kafka's key order.
#[derive(Serialize, Deserialize)]
struct AclJson {
    principal: String,
    #[serde(rename = "permissionType")]
    permission_type: String,
    operation: String,
    host: String,
}

#[derive(Serialize, Deserialize)]
struct AclsJson {
    version: i32,
    acls: Vec<AclJson>,
}

/// A resource znode's value.
pub(crate) fn encode_acls(acls: &[AclBinding]) -> Vec<u8> {
    let v = AclsJson {
        version: 1,
        acls: acls
            .iter()
            .map(|a| AclJson {
                principal: a.principal.clone(),
                permission_type: pascal(a.permission.name()),
                operation: pascal(a.operation.name()),
                host: a.host.clone(),
            })
            .collect(),
    };
    serde_json::to_vec(&v).unwrap_or_default()
}

/// The ACLs a resource znode holds (an empty value holds none).
pub(crate) fn decode_acls(r: &AclResource, bytes: &[u8]) -> Result<Vec<AclBinding>, String> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let v: AclsJson = serde_json::from_slice(bytes).map_err(|e| format!("not ACL JSON: {e}"))?;
    if v.version != 1 {
        return Err(format!("ACL JSON version {}", v.version));
    }
    v.acls
        .into_iter()
        .map(|a| {
            Ok(AclBinding {
                resource_type: r.resource_type,
                resource_name: r.name.clone(),
                pattern_type: r.pattern_type,
                operation: named(Operation::ALL_VALUES, Operation::name, &a.operation)
                    .ok_or_else(|| format!("operation {}", a.operation))?,
                permission: named(Permission::ALL_VALUES, Permission::name, &a.permission_type)
                    .ok_or_else(|| format!("permission type {}", a.permission_type))?,
                principal: a.principal,
                host: a.host,
            })
        })
        .collect()
}

/// The change notification of a resource pattern: the directory it goes
/// under and its value.
pub(crate) fn acl_change(r: &AclResource) -> (&'static str, Vec<u8>) {
    match r.pattern_type {
        PatternType::Literal => (
            LITERAL_CHANGES,
            format!("{}:{}", r.resource_type.name(), r.name).into_bytes(),
        ),
        _ => {
            let v = serde_json::json!({
                "version": 1,
                "resourceType": r.resource_type.name(),
                "name": r.name,
                "patternType": r.pattern_type.name(),
            });
            (EXTENDED_CHANGES, serde_json::to_vec(&v).unwrap_or_default())
        }
    }
}

/// The resource pattern a change notification names (`extended`: one
/// under [`EXTENDED_CHANGES`]).
pub(crate) fn decode_acl_change(extended: bool, bytes: &[u8]) -> Option<AclResource> {
    let upper = |s: &str| s.to_ascii_uppercase();
    if !extended {
        let s = std::str::from_utf8(bytes).ok()?;
        let (t, name) = s.split_once(':')?;
        return Some(AclResource {
            resource_type: named(ResourceType::ALL_VALUES, ResourceType::name, &upper(t))?,
            name: name.to_string(),
            pattern_type: PatternType::Literal,
        });
    }
    let v: Value = serde_json::from_slice(bytes).ok()?;
    if v.get("version").and_then(Value::as_i64) != Some(1) {
        return None;
    }
    let field = |k: &str| v.get(k).and_then(Value::as_str).map(upper);
    Some(AclResource {
        resource_type: named(
            ResourceType::ALL_VALUES,
            ResourceType::name,
            &field("resourceType")?,
        )?,
        name: v.get("name").and_then(Value::as_str)?.to_string(),
        pattern_type: named(
            PatternType::ALL_VALUES,
            PatternType::name,
            &field("patternType")?,
        )?,
    })
}

/// What Kafka's `Sanitizer` leaves as it is: letters, digits, `.`, `-`,
/// `_`.
const SANITIZED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'.').remove(b'-').remove(b'_');

/// A user name as its config znode is named.
pub(crate) fn sanitize(user: &str) -> String {
    utf8_percent_encode(user, SANITIZED).to_string()
}

/// The user name of a config znode's name.
pub(crate) fn desanitize(name: &str) -> String {
    percent_decode_str(&name.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// `/config/users/<sanitized user>`.
pub(crate) fn user_path(user: &str) -> String {
    format!("{USERS}/{}", sanitize(user))
}

/// A SCRAM credential as a user config's value.
pub(crate) fn credential_to_string(c: &ScramCredential) -> String {
    format!(
        "salt={},stored_key={},server_key={},iterations={}",
        STANDARD.encode(&c.salt),
        STANDARD.encode(&c.stored_key),
        STANDARD.encode(&c.server_key),
        c.iterations
    )
}

/// A user config's SCRAM credential value.
pub(crate) fn credential_from_string(s: &str) -> Option<ScramCredential> {
    let (mut salt, mut stored, mut server, mut iterations) = (None, None, None, None);
    let mut n = 0;
    for token in s.split(',') {
        let (k, v) = token.split_once('=').filter(|(k, _)| !k.is_empty())?;
        n += 1;
        match k {
            "salt" => salt = STANDARD.decode(v).ok(),
            "stored_key" => stored = STANDARD.decode(v).ok(),
            "server_key" => server = STANDARD.decode(v).ok(),
            "iterations" => iterations = v.parse().ok(),
            _ => return None,
        }
    }
    (n == 4).then_some(())?;
    Some(ScramCredential {
        salt: salt?,
        stored_key: stored?,
        server_key: server?,
        iterations: iterations?,
    })
}

/// The SCRAM credentials among a user's configs.
pub(crate) fn scram_of(configs: &[(String, String)]) -> Vec<(Mechanism, ScramCredential)> {
    [Mechanism::ScramSha256, Mechanism::ScramSha512]
        .into_iter()
        .filter_map(|m| {
            let (_, v) = configs.iter().find(|(k, _)| k == m.name())?;
            Some((m, credential_from_string(v)?))
        })
        .collect()
}

/// A config change announcement for a user
/// (`{"version":2,"entity_path":"users/<sanitized user>"}`).
pub(crate) fn encode_user_change(user: &str) -> Vec<u8> {
    let v = serde_json::json!({"version": 2, "entity_path": format!("users/{}", sanitize(user))});
    serde_json::to_vec(&v).unwrap_or_default()
}

/// The user a config change announcement names (`None`: another kind
/// of entity).
pub(crate) fn decode_user_change(bytes: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    let name = match v.get("version").and_then(Value::as_i64) {
        Some(2) => v
            .get("entity_path")
            .and_then(Value::as_str)?
            .strip_prefix("users/")?,
        _ => (v.get("entity_type").and_then(Value::as_str) == Some("users"))
            .then(|| v.get("entity_name").and_then(Value::as_str))??,
    };
    // `users/<user>/clients/<client>` is a quota: no credentials there.
    (!name.contains('/')).then(|| desanitize(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl(op: Operation, pattern: PatternType) -> AclBinding {
        AclBinding {
            resource_type: ResourceType::TransactionalId,
            resource_name: "tx".into(),
            pattern_type: pattern,
            principal: "User:alice".into(),
            host: "*".into(),
            operation: op,
            permission: Permission::Allow,
        }
    }

    #[test]
    fn acls_are_kafkas_json_under_kafkas_paths() {
        let a = acl(Operation::DescribeConfigs, PatternType::Literal);
        let r = AclResource::of(&a);
        assert_eq!(acl_path(&r).unwrap(), "/kafka-acl/TransactionalId/tx");
        let bytes = encode_acls(std::slice::from_ref(&a));
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            r#"{"version":1,"acls":[{"principal":"User:alice","permissionType":"Allow","operation":"DescribeConfigs","host":"*"}]}"#
        );
        assert_eq!(decode_acls(&r, &bytes).unwrap(), [a]);
        // Kafka reads upper-case names too.
        let upper = br#"{"version":1,"acls":[{"principal":"User:b","permissionType":"DENY","operation":"READ","host":"h"}]}"#;
        let read = decode_acls(&r, upper).unwrap();
        assert_eq!(
            (read[0].operation, read[0].permission),
            (Operation::Read, Permission::Deny)
        );
        let p = AclResource::of(&acl(Operation::Read, PatternType::Prefixed));
        assert_eq!(
            acl_path(&p).unwrap(),
            "/kafka-acl-extended/prefixed/TransactionalId/tx"
        );
    }

    #[test]
    fn change_notifications_are_kafkas() {
        let lit = AclResource::of(&acl(Operation::Read, PatternType::Literal));
        let (dir, bytes) = acl_change(&lit);
        assert_eq!(
            (dir, bytes.as_slice()),
            (LITERAL_CHANGES, &b"TRANSACTIONAL_ID:tx"[..])
        );
        assert_eq!(decode_acl_change(false, &bytes), Some(lit));
        let pre = AclResource::of(&acl(Operation::Read, PatternType::Prefixed));
        let (dir, bytes) = acl_change(&pre);
        assert_eq!(dir, EXTENDED_CHANGES);
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"version":1,"resourceType":"TRANSACTIONAL_ID","name":"tx","patternType":"PREFIXED"})
        );
        assert_eq!(decode_acl_change(true, &bytes), Some(pre));
    }

    #[test]
    fn scram_credentials_are_kafkas_strings() {
        let c = ScramCredential {
            salt: vec![1, 2, 3],
            stored_key: vec![4; 32],
            server_key: vec![5; 32],
            iterations: 4096,
        };
        let s = credential_to_string(&c);
        assert!(s.starts_with("salt=AQID,stored_key=BAQE"), "{s}");
        assert!(s.ends_with(",iterations=4096"));
        assert_eq!(credential_from_string(&s), Some(c.clone()));
        assert_eq!(credential_from_string("salt=AQID,iterations=1"), None);
        let configs = vec![
            ("SCRAM-SHA-512".to_string(), s),
            ("producer_byte_rate".to_string(), "1024".to_string()),
        ];
        assert_eq!(scram_of(&configs), [(Mechanism::ScramSha512, c)]);
    }

    #[test]
    fn user_names_are_sanitized_as_kafka_does() {
        assert_eq!(sanitize("alice.b-c_d"), "alice.b-c_d");
        assert_eq!(sanitize("a b*c@d"), "a%20b%2Ac%40d");
        assert_eq!(desanitize("a%20b%2Ac%40d"), "a b*c@d");
        assert_eq!(user_path("CN=x"), "/config/users/CN%3Dx");
        let change = encode_user_change("a b");
        let v: Value = serde_json::from_slice(&change).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"version":2,"entity_path":"users/a%20b"})
        );
        assert_eq!(decode_user_change(&change).as_deref(), Some("a b"));
        assert_eq!(
            decode_user_change(br#"{"version":2,"entity_path":"topics/t"}"#),
            None
        );
        assert_eq!(
            decode_user_change(br#"{"version":2,"entity_path":"users/u/clients/c"}"#),
            None
        );
    }
}
