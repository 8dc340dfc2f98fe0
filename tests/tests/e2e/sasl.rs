//! SASL end to end: `spate serve` with a SASL_PLAINTEXT listener beside a
//! PLAINTEXT one, and real clients (kcat, confluent-kafka, kafka-python,
//! kafkajs) authenticating with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512.
//! SCRAM users are made through AlterUserScramCredentials (confluent-kafka's
//! AdminClient) and kept in `__cluster_metadata`, so they survive a restart.
//! Wrong passwords, unknown users and clients that do not speak SASL get an
//! error and no data.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{json, Value};
use spate_e2e::tls::Pki;
use spate_e2e::{
    free_port, json_answer, require, spate, spate_as_plain, workspace, Server, TempDir,
};

/// A broker with a SASL_PLAINTEXT and a PLAINTEXT listener.
struct Secured {
    server: Server,
    /// The SASL_PLAINTEXT listener's `127.0.0.1:PORT`.
    sasl: String,
    /// The PLAINTEXT listener's.
    plain: String,
    /// The SASL_SSL listener's.
    sasl_ssl: String,
    _config: TempDir,
}

const JAAS: &str = "org.apache.kafka.common.security.plain.PlainLoginModule required \
    username=\"admin\" password=\"admin-secret\" \
    user_admin=\"admin-secret\" user_alice=\"alice-plain\";";

fn start_in(data: &Path, pki: &Pki, extra: &str) -> Secured {
    let (sasl, plain, sasl_ssl) = (free_port(), free_port(), free_port());
    let config = TempDir::new("config");
    let file = config.0.join("server.properties");
    let props = format!(
        "listeners=SASL_PLAINTEXT://127.0.0.1:{sasl},PLAINTEXT://127.0.0.1:{plain},\
         SASL_SSL://127.0.0.1:{sasl_ssl}\n\
         sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512\n\
         listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512,OAUTHBEARER\n\
         listener.name.sasl_plaintext.plain.sasl.jaas.config={JAAS}\n\
         ssl.keystore.type=PEM\n\
         ssl.keystore.location={}\n\
         {extra}",
        Pki::path(&pki.server_keystore)
    );
    std::fs::write(&file, props).expect("writing server.properties");
    let mut cmd = Command::new(spate());
    cmd.arg("serve").arg("--data-dir").arg(data).arg(&file);
    Secured {
        server: Server::spawn(cmd),
        sasl: format!("127.0.0.1:{sasl}"),
        plain: format!("127.0.0.1:{plain}"),
        sasl_ssl: format!("127.0.0.1:{sasl_ssl}"),
        _config: config,
    }
}

fn settings(mechanism: &str, user: &str, password: &str) -> Value {
    json!({
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": mechanism,
        "sasl.username": user,
        "sasl.password": password,
    })
}

/// Runs `tests/py/secure_clients.py CLIENT`; its JSON answer.
fn python_client(client: &str, bootstrap: &str, topic: &str, settings: &Value) -> Value {
    let mut cmd = Command::new(require("python3"));
    cmd.arg(workspace().join("tests/py/secure_clients.py"))
        .args([client, bootstrap, topic, &settings.to_string()]);
    json_answer(client, cmd)
}

/// Runs `tests/js/secure_clients.js`; its JSON answer.
fn kafkajs(bootstrap: &str, topic: &str, settings: &Value) -> Value {
    let mut cmd = Command::new(require("node"));
    cmd.arg(workspace().join("tests/js/secure_clients.js"))
        .args([bootstrap, topic, &settings.to_string()]);
    json_answer("kafkajs", cmd)
}

fn assert_round_trip(who: &str, got: &Value) {
    assert_eq!(got["consumed"], json!(["v0", "v1", "v2"]), "{who}: {got}");
    assert_eq!(
        got["produced"].as_array().map(Vec::len),
        Some(3),
        "{who}: {got}"
    );
}

/// kcat producing three lines and reading them back with `settings`.
fn kcat_round_trip(
    bootstrap: &str,
    topic: &str,
    settings: &[(&str, &str)],
) -> Result<String, String> {
    let mut x = Vec::new();
    for (k, v) in settings {
        x.push("-X".to_string());
        x.push(format!("{k}={v}"));
    }
    let mut produce = Command::new(require("kcat"))
        .args(["-b", bootstrap, "-P", "-t", topic])
        .args(&x)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kcat starts");
    use std::io::Write;
    produce
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"k0\nk1\nk2\n")
        .expect("feeding kcat");
    let out = produce.wait_with_output().expect("kcat runs");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let out = Command::new(require("kcat"))
        .args([
            "-b",
            bootstrap,
            "-C",
            "-t",
            topic,
            "-o",
            "beginning",
            "-e",
            "-q",
            "-c",
            "3",
        ])
        .args(&x)
        .output()
        .expect("kcat runs");
    match out.status.success() {
        true => Ok(String::from_utf8_lossy(&out.stdout).into_owned()),
        false => Err(String::from_utf8_lossy(&out.stderr).into_owned()),
    }
}

fn scram_admin(bootstrap: &str, args: &[&str]) -> Value {
    let admin = json!({});
    let mut cmd = Command::new(require("python3"));
    cmd.arg(workspace().join("tests/py/scram_admin.py"))
        .args([bootstrap, &admin.to_string()])
        .args(args);
    json_answer(&format!("scram_admin {args:?}"), cmd)
}

#[test]
fn plain_with_four_real_clients() {
    let data = TempDir::new("data");
    let pki = Pki::new();
    let b = start_in(&data.0, &pki, "");
    let s = settings("PLAIN", "alice", "alice-plain");
    for client in ["confluent", "kafka-python"] {
        let got = python_client(client, &b.sasl, &format!("plain-{client}"), &s);
        assert_round_trip(client, &got);
    }
    let js =
        json!({"sasl": {"mechanism": "plain", "username": "alice", "password": "alice-plain"}});
    assert_round_trip("kafkajs", &kafkajs(&b.sasl, "plain-kafkajs", &js));
    let read = kcat_round_trip(
        &b.sasl,
        "plain-kcat",
        &[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanisms", "PLAIN"),
            ("sasl.username", "admin"),
            ("sasl.password", "admin-secret"),
        ],
    )
    .expect("kcat over SASL PLAIN");
    assert_eq!(read.lines().collect::<Vec<_>>(), ["k0", "k1", "k2"]);
    drop(b.server);
}

#[test]
fn scram_users_are_made_by_the_admin_api_used_by_clients_and_kept() {
    let data = TempDir::new("data");
    let pki = Pki::new();
    let b = start_in(&data.0, &pki, "");
    for mechanism in ["SCRAM-SHA-256", "SCRAM-SHA-512"] {
        let set = scram_admin(
            &b.plain,
            &["set", "carol", "carol-secret", mechanism, "8192"],
        );
        assert_eq!(set, json!({"carol": null}), "{mechanism}");
    }
    let described = scram_admin(&b.plain, &["describe", "carol"]);
    assert_eq!(
        described,
        json!({"carol": [["SCRAM_SHA_256", 8192], ["SCRAM_SHA_512", 8192]]})
    );
    for mechanism in ["SCRAM-SHA-256", "SCRAM-SHA-512"] {
        let s = settings(mechanism, "carol", "carol-secret");
        for client in ["confluent", "kafka-python"] {
            let topic = format!("scram-{client}-{}", &mechanism[10..]);
            assert_round_trip(
                &format!("{client} {mechanism}"),
                &python_client(client, &b.sasl, &topic, &s),
            );
        }
        let js = json!({"sasl": {"mechanism": mechanism.to_lowercase(), "username": "carol", "password": "carol-secret"}});
        assert_round_trip(
            &format!("kafkajs {mechanism}"),
            &kafkajs(&b.sasl, &format!("scram-js-{}", &mechanism[10..]), &js),
        );
        let read = kcat_round_trip(
            &b.sasl,
            &format!("scram-kcat-{}", &mechanism[10..]),
            &[
                ("security.protocol", "SASL_PLAINTEXT"),
                ("sasl.mechanisms", mechanism),
                ("sasl.username", "carol"),
                ("sasl.password", "carol-secret"),
            ],
        )
        .unwrap_or_else(|e| panic!("kcat {mechanism}: {e}"));
        assert_eq!(read.lines().count(), 3);
    }
    // A restart keeps the credential (it lives in __cluster_metadata).
    assert!(b.server.terminate(), "clean stop");
    let b = start_in(&data.0, &pki, "");
    let s = settings("SCRAM-SHA-512", "carol", "carol-secret");
    assert_round_trip(
        "after restart",
        &python_client("confluent", &b.sasl, "after-restart", &s),
    );
    // Deleting it ends its use.
    let deleted = scram_admin(&b.plain, &["delete", "carol", "SCRAM-SHA-512"]);
    assert_eq!(deleted, json!({"carol": null}));
    let got = python_client("confluent", &b.sasl, "after-delete", &s);
    assert!(got.get("error").is_some(), "{got}");
}

#[test]
fn bad_credentials_and_wrong_protocols_get_errors_and_no_data() {
    let data = TempDir::new("data");
    let pki = Pki::new();
    let b = start_in(&data.0, &pki, "");
    scram_admin(
        &b.plain,
        &["set", "dave", "dave-secret", "SCRAM-SHA-256", "4096"],
    );
    for (mechanism, user, password) in [
        ("PLAIN", "alice", "wrong"),
        ("PLAIN", "mallory", "alice-plain"),
        ("SCRAM-SHA-256", "dave", "wrong"),
        ("SCRAM-SHA-256", "mallory", "dave-secret"),
        // Enabled on the listener, but dave has no SHA-512 credential.
        ("SCRAM-SHA-512", "dave", "dave-secret"),
    ] {
        for client in ["confluent", "kafka-python"] {
            let got = python_client(
                client,
                &b.sasl,
                "refused",
                &settings(mechanism, user, password),
            );
            let error = got["error"]
                .as_str()
                .unwrap_or_else(|| panic!("{client} {mechanism} {user}: {got}"));
            assert!(!error.is_empty());
        }
    }
    // A client that does not speak SASL on the SASL listener.
    let got = python_client(
        "confluent",
        &b.sasl,
        "refused",
        &json!({"socket.timeout.ms": 5000}),
    );
    assert!(got.get("error").is_some(), "{got}");
    // Nothing of theirs was written.
    let out = Command::new(spate())
        .args(["topic", "list", "-b", &b.plain])
        .output()
        .expect("spate runs");
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        !listed.contains("refused") || !topic_has_data(&b.plain, "refused"),
        "{listed}"
    );
    drop(b.server);
}

/// Whether `topic` holds any record (read over the PLAINTEXT listener).
fn topic_has_data(bootstrap: &str, topic: &str) -> bool {
    let out = Command::new(require("kcat"))
        .args([
            "-b",
            bootstrap,
            "-C",
            "-t",
            topic,
            "-o",
            "beginning",
            "-e",
            "-q",
        ])
        .output()
        .expect("kcat runs");
    !out.stdout.is_empty()
}

#[test]
fn sasl_ssl_with_scram_and_oauthbearer() {
    let data = TempDir::new("data");
    let pki = Pki::new();
    let b = start_in(&data.0, &pki, "");
    scram_admin(
        &b.plain,
        &["set", "erin", "erin-secret", "SCRAM-SHA-512", "4096"],
    );
    let ca = Pki::path(&pki.ca);
    let scram = json!({
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "erin",
        "sasl.password": "erin-secret",
        "ssl.ca.location": ca,
    });
    for client in ["confluent", "kafka-python"] {
        let got = python_client(client, &b.sasl_ssl, &format!("tls-{client}"), &scram);
        assert_round_trip(&format!("{client} SASL_SSL"), &got);
    }
    let js = json!({
        "ssl": {"ca": ca},
        "sasl": {"mechanism": "scram-sha-512", "username": "erin", "password": "erin-secret"},
    });
    assert_round_trip(
        "kafkajs SASL_SSL",
        &kafkajs(&b.sasl_ssl, "tls-kafkajs", &js),
    );
    let read = kcat_round_trip(
        &b.sasl_ssl,
        "tls-kcat",
        &[
            ("security.protocol", "SASL_SSL"),
            ("ssl.ca.location", &ca),
            ("sasl.mechanisms", "SCRAM-SHA-512"),
            ("sasl.username", "erin"),
            ("sasl.password", "erin-secret"),
        ],
    )
    .expect("kcat over SASL_SSL");
    assert_eq!(read.lines().count(), 3);
    // spate's own client over SASL_SSL with SCRAM.
    let ca_x = format!("ssl.ca.location={ca}");
    let out = Command::new(spate())
        .args([
            "topic",
            "list",
            "-b",
            &b.sasl_ssl,
            "-X",
            "security.protocol=SASL_SSL",
        ])
        .args(["-X", &ca_x, "-X", "sasl.mechanism=SCRAM-SHA-512"])
        .args([
            "-X",
            "sasl.username=erin",
            "-X",
            "sasl.password=erin-secret",
        ])
        .output()
        .expect("spate runs");
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && listed.contains("tls-kcat"),
        "spate topic list over SASL_SSL: {listed}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // OAUTHBEARER with librdkafka's unsecured JWT (Kafka's default
    // validator): the token's `sub` is the principal.
    let oauth = json!({
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "OAUTHBEARER",
        "sasl.oauthbearer.config": "principal=frank",
        "ssl.ca.location": ca,
    });
    assert_round_trip(
        "confluent OAUTHBEARER",
        &python_client("confluent", &b.sasl_ssl, "tls-oauth", &oauth),
    );
    // PLAIN is not enabled on this listener, and a plain-text SASL client
    // on the TLS port gets nowhere.
    let plain = json!({
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "PLAIN",
        "sasl.username": "alice",
        "sasl.password": "alice-plain",
        "ssl.ca.location": ca,
    });
    let got = python_client("confluent", &b.sasl_ssl, "refused", &plain);
    assert!(got.get("error").is_some(), "{got}");
    let got = python_client(
        "confluent",
        &b.sasl_ssl,
        "refused",
        &settings("SCRAM-SHA-512", "erin", "erin-secret"),
    );
    assert!(got.get("error").is_some(), "{got}");
    drop(b.server);
}

/// `tests/py/acl_view.py`: the topics `settings` sees and what reading
/// each of `topics` gives.
fn acl_view(bootstrap: &str, settings: &Value, topics: &[&str]) -> Value {
    let mut cmd = Command::new(require("python3"));
    cmd.arg(workspace().join("tests/py/acl_view.py"))
        .args([bootstrap, &settings.to_string()])
        .args(topics);
    json_answer("acl_view", cmd)
}

/// `spate ARGS` as the PLAIN super user `admin`.
fn as_admin(bootstrap: &str, args: &[&str]) -> String {
    spate_as_plain(bootstrap, ("admin", "admin-secret"), args)
}

#[test]
fn acls_decide_what_a_sasl_user_sees_and_reads_and_survive_a_restart() {
    let data = TempDir::new("data");
    let pki = Pki::new();
    let authz = "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer\n\
                 super.users=User:admin\n";
    let b = start_in(&data.0, &pki, authz);
    // The admin (a super user) makes topics and writes to them.
    let admin = settings("PLAIN", "admin", "admin-secret");
    for topic in ["open-a", "open-b", "secret"] {
        assert_round_trip(topic, &python_client("confluent", &b.sasl, topic, &admin));
    }
    // alice may read topics prefixed `open-` and use groups prefixed
    // `g-`, except open-b, which a DENY takes back.
    as_admin(
        &b.sasl,
        &[
            "acl",
            "add",
            "--allow-principal",
            "User:alice",
            "--operation",
            "Read",
            "--topic",
            "open-",
            "--resource-pattern-type",
            "prefixed",
        ],
    );
    as_admin(
        &b.sasl,
        &[
            "acl",
            "add",
            "--allow-principal",
            "User:alice",
            "--operation",
            "Read",
            "--group",
            "g-",
            "--resource-pattern-type",
            "prefixed",
        ],
    );
    as_admin(
        &b.sasl,
        &[
            "acl",
            "add",
            "--deny-principal",
            "User:alice",
            "--operation",
            "All",
            "--topic",
            "open-b",
        ],
    );
    let alice = settings("PLAIN", "alice", "alice-plain");
    let view = acl_view(&b.sasl, &alice, &["open-a", "open-b", "secret"]);
    assert_eq!(view["listed"], json!(["open-a"]), "{view}");
    assert_eq!(view["read"]["open-a"], "ok", "{view}");
    assert_eq!(
        view["read"]["open-b"], "TOPIC_AUTHORIZATION_FAILED",
        "{view}"
    );
    assert_eq!(
        view["read"]["secret"], "TOPIC_AUTHORIZATION_FAILED",
        "{view}"
    );
    // alice may not write, nor administer.
    let got = python_client("confluent", &b.sasl, "open-a", &alice);
    assert!(got.get("error").is_some(), "{got}");
    // A wildcard ALLOW opens every topic but the DENY still wins.
    as_admin(
        &b.sasl,
        &[
            "acl",
            "add",
            "--allow-principal",
            "User:*",
            "--operation",
            "Describe",
            "--operation",
            "Read",
            "--topic",
            "*",
        ],
    );
    let view = acl_view(&b.sasl, &alice, &["secret", "open-b"]);
    assert_eq!(view["listed"], json!(["open-a", "secret"]), "{view}");
    assert_eq!(view["read"]["secret"], "ok", "{view}");
    assert_eq!(
        view["read"]["open-b"], "TOPIC_AUTHORIZATION_FAILED",
        "{view}"
    );
    // The ACLs live in __cluster_metadata: a restart keeps them.
    assert!(b.server.terminate(), "clean stop");
    let b = start_in(&data.0, &pki, authz);
    let listed = as_admin(&b.sasl, &["acl", "list"]);
    assert!(listed.contains("User:alice"), "{listed}");
    let view = acl_view(&b.sasl, &alice, &["open-b"]);
    assert_eq!(view["listed"], json!(["open-a", "secret"]), "{view}");
    assert_eq!(
        view["read"]["open-b"], "TOPIC_AUTHORIZATION_FAILED",
        "{view}"
    );
    drop(b.server);
}
