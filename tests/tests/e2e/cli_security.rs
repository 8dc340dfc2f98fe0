//! `spate`'s client options for secured brokers, end to end: `-X
//! key=value` and `--command-config FILE` on the client subcommands,
//! against a `spate serve` on a free port.
//!
//! Most brokers these tests start listen in PLAINTEXT; one serves SSL to
//! check the system trust store. OAUTHBEARER and re-authentication are in
//! `cli_oauth.rs`.

use std::path::PathBuf;
use std::process::Command;

use spate_e2e::{spate, Server};

/// Runs and requires success; returns stdout.
fn ok(server: &Server, args: &[&str]) -> String {
    let out = server.spate(args, b"");
    assert!(
        out.status.success(),
        "spate {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs and requires failure; returns stderr.
fn fails(server: &Server, args: &[&str]) -> String {
    let out = server.spate(args, b"");
    assert!(
        !out.status.success(),
        "spate {args:?} should have failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr).unwrap()
}

/// A temporary file holding `text`, named after the test.
fn temp_file(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("spate-clisec-{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn plaintext_by_property_and_by_file() {
    let server = Server::start(&[]);
    // `-X` on a subcommand, lower-case value.
    let out = ok(
        &server,
        &[
            "topic",
            "create",
            "secured",
            "--partitions",
            "2",
            "-X",
            "security.protocol=plaintext",
        ],
    );
    assert!(out.contains("created topic secured"), "{out}");

    // A Kafka-style properties file: comments, `:` separator, blank lines.
    let file = temp_file(
        "plain.properties",
        "# written as for kafka-topics.sh\n\nsecurity.protocol : PLAINTEXT\n",
    );
    let file = file.to_str().unwrap();
    let list = ok(&server, &["topic", "list", "--command-config", file]);
    assert!(list.lines().any(|l| l.starts_with("secured ")), "{list}");

    // Produce and consume through the same options, `-X` after the file.
    let out = server.spate(
        &[
            "produce",
            "secured",
            "--command-config",
            file,
            "-X",
            "security.protocol=PLAINTEXT",
        ],
        b"one\ntwo\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = ok(
        &server,
        &[
            "consume",
            "secured",
            "--from-beginning",
            "--count",
            "2",
            "--command-config",
            file,
        ],
    );
    let mut lines: Vec<&str> = got.lines().collect();
    lines.sort_unstable();
    assert_eq!(lines, ["one", "two"]);

    // Kafka's spelling of the bootstrap option, and the cluster
    // subcommand with a property.
    let addr = format!("127.0.0.1:{}", server.port());
    let out = Command::new(spate())
        .args(["cluster", "info", "--bootstrap-server", &addr])
        .args(["-X", "security.protocol=PLAINTEXT"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = String::from_utf8(out.stdout).unwrap();
    assert!(!out.trim().is_empty());
    std::fs::remove_file(file).unwrap();
}

#[test]
fn bad_properties_are_clear_errors() {
    let server = Server::start(&[]);
    let err = fails(&server, &["topic", "list", "-X", "ssl.key.password=x"]);
    assert!(
        err.contains("unknown client property `ssl.key.password`"),
        "{err}"
    );
    let err = fails(&server, &["topic", "list", "-X", "security.protocol=TLS"]);
    assert!(err.contains("security.protocol `TLS`"), "{err}");
    let err = fails(&server, &["topic", "list", "-X", "no-equals-sign"]);
    assert!(err.contains("KEY=VALUE"), "{err}");
    let err = fails(
        &server,
        &[
            "topic",
            "list",
            "--command-config",
            "/nonexistent/client.properties",
        ],
    );
    assert!(
        err.contains("--command-config /nonexistent/client.properties"),
        "{err}"
    );
    let file = temp_file(
        "sasl-missing.properties",
        "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.username=alice\n",
    );
    let err = fails(
        &server,
        &["group", "list", "--command-config", file.to_str().unwrap()],
    );
    assert!(
        err.contains("SASL needs a user name and a password"),
        "{err}"
    );
    // SSL against a PLAINTEXT listener: the handshake fails (no trust
    // store is needed to try: the system's CAs are the default).
    let err = fails(&server, &["topic", "list", "-X", "security.protocol=SSL"]);
    assert!(err.contains("TLS handshake"), "{err}");
    std::fs::remove_file(file).unwrap();
}

/// The broker of the ACL and SCRAM tests: an authorizer on, and the
/// PLAINTEXT listener's `User:ANONYMOUS` a super user so that it may
/// administer.
const ADMIN_BROKER: &str = "authorizer.class.name=kafka.security.authorizer.AclAuthorizer\n\
                            super.users=User:ANONYMOUS\n";

#[test]
fn acl_add_list_remove() {
    let server = Server::start_with_properties(ADMIN_BROKER, &[]);
    let out = ok(
        &server,
        &[
            "acl",
            "add",
            "--allow-principal",
            "User:alice",
            "--operation",
            "Read",
            "--operation",
            "Describe",
            "--topic",
            "orders",
            "-X",
            "security.protocol=PLAINTEXT",
        ],
    );
    assert_eq!(out.lines().count(), 2, "{out}");
    ok(
        &server,
        &[
            "acl",
            "add",
            "--deny-principal",
            "User:mallory",
            "--deny-host",
            "10.0.0.9",
            "--operation",
            "Write",
            "--topic",
            "ord",
            "--resource-pattern-type",
            "prefixed",
        ],
    );
    let list = ok(&server, &["acl", "list"]);
    assert!(
        list.contains(
            "Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=orders, \
             patternType=LITERAL)`:"
        ),
        "{list}"
    );
    assert!(
        list.contains("(principal=User:alice, host=*, operation=READ, permissionType=ALLOW)"),
        "{list}"
    );
    assert!(
        list.contains(
            "(principal=User:mallory, host=10.0.0.9, operation=WRITE, permissionType=DENY)"
        ),
        "{list}"
    );
    let alice = ok(&server, &["acl", "list", "--principal", "User:alice"]);
    assert!(
        alice.contains("User:alice") && !alice.contains("User:mallory"),
        "{alice}"
    );
    // MATCH finds the prefixed ACL that applies to `orders` too.
    let matched = ok(
        &server,
        &[
            "acl",
            "list",
            "--topic",
            "orders",
            "--resource-pattern-type",
            "match",
        ],
    );
    assert!(
        matched.contains("User:mallory") && matched.contains("User:alice"),
        "{matched}"
    );
    // Remove one binding, then everything on `orders`.
    let out = ok(
        &server,
        &[
            "acl",
            "remove",
            "--allow-principal",
            "User:alice",
            "--operation",
            "Read",
            "--topic",
            "orders",
        ],
    );
    assert_eq!(out.lines().count(), 1, "{out}");
    let list = ok(&server, &["acl", "list", "--topic", "orders"]);
    assert!(
        !list.contains("operation=READ") && list.contains("operation=DESCRIBE"),
        "{list}"
    );
    ok(&server, &["acl", "remove", "--topic", "orders"]);
    let list = ok(&server, &["acl", "list", "--topic", "orders"]);
    assert!(!list.contains("User:alice"), "{list}");
    // A bad binding is Kafka's error with its name.
    let err = fails(
        &server,
        &[
            "acl",
            "add",
            "--allow-principal",
            "User:a",
            "--topic",
            "",
            "--operation",
            "Read",
        ],
    );
    assert!(
        err.contains("INVALID_REQUEST") || err.contains("CreateAcls"),
        "{err}"
    );
}

#[test]
fn user_scram_set_list_delete() {
    let server = Server::start_with_properties(ADMIN_BROKER, &[]);
    let out = ok(
        &server,
        &[
            "user",
            "scram",
            "set",
            "alice",
            "--mechanism",
            "SCRAM-SHA-256",
            "--iterations",
            "8192",
            "--password",
            "alice-secret",
        ],
    );
    assert!(out.contains("alice"), "{out}");
    // The password from stdin.
    let out = server.spate(
        &[
            "user",
            "scram",
            "set",
            "alice",
            "--mechanism",
            "SCRAM-SHA-512",
        ],
        b"other-secret\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = ok(&server, &["user", "scram", "list"]);
    let rows: Vec<Vec<&str>> = list
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec!["alice", "SCRAM-SHA-256", "8192"],
            vec!["alice", "SCRAM-SHA-512", "4096"]
        ]
    );
    ok(
        &server,
        &[
            "user",
            "scram",
            "delete",
            "alice",
            "--mechanism",
            "SCRAM-SHA-256",
        ],
    );
    let list = ok(&server, &["user", "scram", "list", "alice"]);
    assert!(
        !list.contains("SCRAM-SHA-256") && list.contains("SCRAM-SHA-512"),
        "{list}"
    );
    // Kafka's errors by name: too few iterations, an unknown user.
    let err = fails(
        &server,
        &[
            "user",
            "scram",
            "set",
            "bob",
            "--iterations",
            "10",
            "--password",
            "x",
        ],
    );
    assert!(err.contains("UNACCEPTABLE_CREDENTIAL"), "{err}");
    let err = fails(&server, &["user", "scram", "list", "nobody"]);
    assert!(err.contains("RESOURCE_NOT_FOUND"), "{err}");
}

/// With SSL and no trust store named, the client trusts the system's CAs
/// (as Java's client trusts the JVM's default store): the test CA is not
/// among them, unless `SSL_CERT_FILE` (which the system store honours,
/// as OpenSSL does) names it.
#[test]
fn ssl_without_a_trust_store_uses_the_systems() {
    use spate_e2e::tls::{Pki, TlsBroker};
    let pki = Pki::new();
    let broker = TlsBroker::start(&pki, "");
    let list = |env: Option<&std::path::Path>| {
        let mut cmd = Command::new(spate());
        cmd.args(["topic", "list", "-b", &broker.ssl])
            .args(["-X", "security.protocol=SSL"])
            .env_remove("SSL_CERT_FILE")
            .env_remove("SSL_CERT_DIR");
        if let Some(ca) = env {
            cmd.env("SSL_CERT_FILE", ca);
        }
        cmd.output().unwrap()
    };
    let out = list(None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && (err.contains("UnknownIssuer") || err.contains("no trusted CA found")),
        "{err}"
    );
    let out = list(Some(&pki.ca));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// PKCS#12 stores as Java's tools and OpenSSL make them: a trust store
/// from `keytool -importcert`, a key store from `openssl pkcs12 -export`,
/// against a broker that requires a client certificate.
#[test]
fn ssl_with_pkcs12_stores_from_keytool_and_openssl() {
    use spate_e2e::require;
    use spate_e2e::tls::{Pki, TlsBroker, CLIENT_DN};
    let pki = Pki::new();
    let broker = TlsBroker::start(
        &pki,
        &format!(
            "ssl.client.auth=required\nssl.truststore.type=PEM\nssl.truststore.location={}\n",
            Pki::path(&pki.ca)
        ),
    );
    let trust = pki.dir.0.join("truststore.p12");
    let out = Command::new(require("keytool"))
        .args([
            "-importcert",
            "-noprompt",
            "-alias",
            "ca",
            "-storetype",
            "PKCS12",
        ])
        .arg("-file")
        .arg(&pki.ca)
        .arg("-keystore")
        .arg(&trust)
        .args(["-storepass", "trust-secret"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = pki.dir.0.join("keystore.p12");
    let out = Command::new(require("openssl"))
        .args(["pkcs12", "-export", "-name", "alice"])
        .arg("-in")
        .arg(&pki.client_cert)
        .arg("-inkey")
        .arg(&pki.client_key)
        .arg("-out")
        .arg(&key)
        .args(["-passout", "pass:key-secret"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = temp_file(
        "pkcs12.properties",
        &format!(
            "security.protocol=SSL\n\
             ssl.truststore.type=PKCS12\nssl.truststore.location={}\n\
             ssl.truststore.password=trust-secret\n\
             ssl.keystore.type=PKCS12\nssl.keystore.location={}\n\
             ssl.keystore.password=key-secret\n",
            trust.display(),
            key.display()
        ),
    );
    let run = |extra: &[&str]| {
        Command::new(spate())
            .args(["topic", "list", "-b", &broker.ssl, "--command-config"])
            .arg(&file)
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = broker.log();
    assert!(
        log.contains(&format!("principal=Some(\"{CLIENT_DN}\")")),
        "{log}"
    );
    // A wrong store password is the client's error, before any byte.
    let out = run(&["-X", "ssl.keystore.password=wrong"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("keystore.p12"),
        "{err}"
    );
    std::fs::remove_file(&file).unwrap();
}
