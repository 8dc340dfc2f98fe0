//! The security admin APIs against the real binary with a real client
//! (confluent-kafka's AdminClient, librdkafka; kafka-python for DescribeAcls): SCRAM credentials set and
//! deleted with AlterUserScramCredentials (librdkafka salts and hashes the
//! password itself) are described and survive a restart over the same data
//! directory; without an authorizer the ACL APIs answer SECURITY_DISABLED.

use spate_e2e::{Server, TempDir};

/// Sets, deletes and describes SCRAM credentials; prints each described
/// user as `user mechanism:iterations,...` (sorted).
const ALTER: &str = r#"
import sys
from confluent_kafka.admin import (AdminClient, ScramCredentialInfo, ScramMechanism,
    UserScramCredentialUpsertion, UserScramCredentialDeletion)
a = AdminClient({"bootstrap.servers": sys.argv[1]})
ups = [
    UserScramCredentialUpsertion("alice", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 8192), b"alice-secret"),
    UserScramCredentialUpsertion("bob", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), b"bob-secret", b"bob-salt"),
]
for user, f in a.alter_user_scram_credentials(ups).items():
    f.result()
ups = [UserScramCredentialUpsertion("alice", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 10000), b"again")]
for user, f in a.alter_user_scram_credentials(ups).items():
    f.result()
dels = [UserScramCredentialDeletion("bob", ScramMechanism.SCRAM_SHA_512)]
for user, f in a.alter_user_scram_credentials(dels).items():
    f.result()
# Deleting it twice: RESOURCE_NOT_FOUND (91).
for user, f in a.alter_user_scram_credentials(dels).items():
    try:
        f.result()
        print("second deletion succeeded")
    except Exception as e:
        print("second deletion", e.args[0].code())
"#;

/// Describes every user's credentials.
const DESCRIBE: &str = r#"
import sys
from confluent_kafka.admin import AdminClient
a = AdminClient({"bootstrap.servers": sys.argv[1]})
for user, d in sorted(a.describe_user_scram_credentials().result().items()):
    infos = sorted(f"{i.mechanism.name}:{i.iterations}" for i in d.scram_credential_infos)
    print(user, ",".join(infos))
"#;

/// Creates, describes and deletes ACLs; prints each call's error code.
const ACLS: &str = r#"
import sys
from confluent_kafka.admin import (AdminClient, AclBinding, AclBindingFilter, ResourceType,
    ResourcePatternType, AclOperation, AclPermissionType)
a = AdminClient({"bootstrap.servers": sys.argv[1]})
b = AclBinding(ResourceType.TOPIC, "t", ResourcePatternType.LITERAL, "User:alice", "*",
    AclOperation.READ, AclPermissionType.ALLOW)
f = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None,
    AclOperation.ANY, AclPermissionType.ANY)
def code(fut):
    try:
        fut.result()
        return 0
    except Exception as e:
        return e.args[0].code()
print("create", [code(x) for x in a.create_acls([b]).values()][0])
print("delete", [code(x) for x in a.delete_acls([f]).values()][0])
"#;

/// DescribeAcls with kafka-python, which reports the response's top-level
/// error (confluent-kafka 2.16 answers an empty list instead).
const DESCRIBE_ACLS: &str = r#"
import sys
from kafka import KafkaAdminClient
from kafka.admin import (ACLFilter, ResourcePatternFilter, ResourceType, ACLOperation,
    ACLPermissionType, ACLResourcePatternType)
k = KafkaAdminClient(bootstrap_servers=sys.argv[1])
f = ACLFilter(principal=None, host=None, operation=ACLOperation.ANY,
    permission_type=ACLPermissionType.ANY,
    resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY))
try:
    k.describe_acls(f)
    print("describe 0")
except Exception as e:
    print("describe", e.errno)
"#;

#[test]
fn scram_credentials_set_by_a_client_survive_a_restart() {
    let dir = TempDir::new("scram-admin");
    let server = Server::start_in(&dir.0, &[]);
    let out = server.python(ALTER);
    assert_eq!(out.trim(), "second deletion 91");
    let described = server.python(DESCRIBE);
    assert_eq!(
        described.lines().collect::<Vec<_>>(),
        ["alice SCRAM_SHA_256:8192,SCRAM_SHA_512:10000"]
    );
    assert!(server.terminate(), "SIGTERM shuts down cleanly");
    let server = Server::start_in(&dir.0, &[]);
    assert_eq!(server.python(DESCRIBE), described);
}

#[test]
fn without_an_authorizer_the_acl_apis_are_security_disabled() {
    let server = Server::start(&[]);
    let out = server.python(ACLS);
    assert_eq!(out.lines().collect::<Vec<_>>(), ["create 54", "delete 54"]);
    assert_eq!(server.python(DESCRIBE_ACLS).trim(), "describe 54");
}
