//! The `spate` client's OAUTHBEARER and KIP-368 re-authentication, end to
//! end against a `spate serve` whose only listener is SASL_PLAINTEXT with
//! OAUTHBEARER and SCRAM-SHA-256 enabled and Kafka's unsecured token
//! validator.
//!
//! - Produce and consume with an unsecured JWT made from Kafka's JAAS
//!   options (`--command-config`) and from librdkafka's
//!   `sasl.oauthbearer.config` (`-X`); a token the broker refuses is an
//!   error carrying the broker's reason.
//! - With `connections.max.reauth.ms=2000`, a consumer that follows the
//!   topic (with and without `--group`) keeps reading records produced
//!   over several session lifetimes: the broker closes a connection whose
//!   session ended unrenewed, so reading on proves the re-authentications,
//!   and the broker's log shows each connection's repeated SaslHandshake.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use spate_e2e::{free_port, spate, wait_until, Server, TempDir, Watched};

/// A broker with one SASL_PLAINTEXT listener.
struct OAuthBroker {
    server: Server,
    /// The listener's `127.0.0.1:PORT`.
    addr: String,
    _data: TempDir,
    _config: TempDir,
}

fn start(extra: &str) -> OAuthBroker {
    let port = free_port();
    let (data, config) = (TempDir::new("data"), TempDir::new("config"));
    let file = config.0.join("server.properties");
    let props = format!(
        "listeners=SASL_PLAINTEXT://127.0.0.1:{port}\n\
         sasl.enabled.mechanisms=OAUTHBEARER,SCRAM-SHA-256\n\
         {extra}"
    );
    std::fs::write(&file, props).expect("writing server.properties");
    let mut cmd = Command::new(spate());
    cmd.arg("serve").arg("--data-dir").arg(&data.0).arg(&file);
    OAuthBroker {
        server: Server::spawn(cmd),
        addr: format!("127.0.0.1:{port}"),
        _data: data,
        _config: config,
    }
}

/// Java's client properties for alice's unsecured token.
const JAVA_PROPERTIES: &str = "security.protocol=SASL_PLAINTEXT\n\
    sasl.mechanism=OAUTHBEARER\n\
    sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule \\\n\
    \x20   required unsecuredLoginStringClaim_sub=\"alice\" \\\n\
    \x20   unsecuredLoginListClaim_scope=\",read,write\" \\\n\
    \x20   unsecuredLoginLifetimeSeconds=\"3600\" unsecuredLoginExtension_traceId=\"e2e\";\n";

/// librdkafka's, as `-X` pairs.
const LIBRDKAFKA: [&str; 6] = [
    "-X",
    "security.protocol=SASL_PLAINTEXT",
    "-X",
    "sasl.mechanisms=OAUTHBEARER",
    "-X",
    "sasl.oauthbearer.config=principal=bob scope=read lifeSeconds=600",
];

/// `spate ARGS -b ADDR` with `stdin`.
fn run(addr: &str, args: &[&str], stdin: &[u8]) -> std::process::Output {
    use std::io::Write as _;
    let mut child = Command::new(spate())
        .args(args)
        .args(["-b", addr])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starting spate");
    // A refused login ends spate before it reads its input: the pipe
    // closes under the write, and its exit status and stderr tell.
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

fn ok(addr: &str, args: &[&str], stdin: &[u8]) -> String {
    let out = run(addr, args, stdin);
    assert!(
        out.status.success(),
        "spate {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn with<'a>(args: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
    args.iter().chain(more).copied().collect()
}

#[test]
fn produce_and_consume_with_unsecured_tokens_and_a_refused_one() {
    let broker = start("");
    let addr = broker.addr.as_str();
    let dir = TempDir::new("client");
    let java = dir.0.join("client.properties");
    std::fs::write(&java, JAVA_PROPERTIES).unwrap();
    let java = ["--command-config", java.to_str().unwrap()];

    let out = ok(
        addr,
        &with(&["topic", "create", "tokens", "--partitions", "1"], &java),
        b"",
    );
    assert!(out.contains("created topic tokens"), "{out}");
    ok(addr, &with(&["produce", "tokens"], &java), b"from-java\n");
    ok(
        addr,
        &with(&["produce", "tokens"], &LIBRDKAFKA),
        b"from-librdkafka\n",
    );
    for who in [&java[..], &LIBRDKAFKA[..]] {
        let got = ok(
            addr,
            &with(&["consume", "tokens", "--from-beginning", "-n", "2"], who),
            b"",
        );
        assert_eq!(
            got.lines().collect::<Vec<_>>(),
            ["from-java", "from-librdkafka"]
        );
    }

    // A signed token where the broker validates unsecured ones: refused,
    // with the broker's status and reason, and nothing is written.
    let token = dir.0.join("token.jwt");
    std::fs::write(
        &token,
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJldmUifQ.c2lnbmF0dXJl\n",
    )
    .unwrap();
    let refused = [
        "-X",
        "security.protocol=SASL_PLAINTEXT",
        "-X",
        "sasl.mechanism=OAUTHBEARER",
        "-X",
        &format!("sasl.oauthbearer.token.file={}", token.display()),
    ];
    let out = run(addr, &with(&["produce", "tokens"], &refused), b"never\n");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("OAUTHBEARER token refused (invalid_token)"),
        "{err}"
    );
    assert!(err.contains("SASL_AUTHENTICATION_FAILED"), "{err}");
    assert!(err.contains("'none' for an algorithm"), "{err}");
    // An unsecured token that expired long ago: the broker's reason names
    // the expiration time.
    let expired = format!(
        "{}.{}.",
        "eyJhbGciOiJub25lIn0",                          // {"alg":"none"}
        "eyJzdWIiOiJldmUiLCJpYXQiOjEwMCwiZXhwIjoyMDB9"  // {"sub":"eve","iat":100,"exp":200}
    );
    std::fs::write(&token, expired).unwrap();
    let out = run(addr, &with(&["topic", "list"], &refused), b"");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("Expiration Time"),
        "{err}"
    );
    let got = ok(
        addr,
        &with(&["consume", "tokens", "--from-beginning", "-e"], &java),
        b"",
    );
    assert!(!got.contains("never"), "{got}");
}

/// The broker log's SaslHandshake requests (API key 17) by connection.
fn handshakes_by_conn(broker: &OAuthBroker) -> BTreeMap<String, usize> {
    let log = std::fs::read_to_string(broker.server.log_path()).unwrap_or_default();
    let mut by_conn = BTreeMap::new();
    for line in log.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if !words.contains(&"request") || !words.contains(&"key=17") {
            continue;
        }
        if let Some(conn) = words.iter().find_map(|w| w.strip_prefix("conn=")) {
            *by_conn.entry(conn.to_string()).or_insert(0) += 1;
        }
    }
    by_conn
}

#[test]
fn followers_reauthenticate_across_short_sessions() {
    let broker = start("connections.max.reauth.ms=2000\n");
    let addr = broker.addr.as_str();
    let dir = TempDir::new("client");
    let java = dir.0.join("client.properties");
    std::fs::write(&java, JAVA_PROPERTIES).unwrap();
    let java = java.to_str().unwrap().to_string();
    let java = ["--command-config", java.as_str()];
    ok(
        addr,
        &with(&["topic", "create", "long", "--partitions", "1"], &java),
        b"",
    );
    let follower = |name: &str, extra: &[&str]| {
        let mut cmd = Command::new(spate());
        cmd.args(["consume", "long", "--from-beginning", "-b", addr])
            .args(extra)
            .args(java);
        Watched::spawn(name, cmd)
    };
    let plain = follower("consume", &[]);
    let member = follower(
        "consume --group",
        &["--group", "g", "--heartbeat-interval-ms", "500"],
    );
    // One record at a time, each read by both before the next, until two
    // connections in the broker's log (the followers' long-lived ones;
    // each `produce` opens a short one) re-authenticated at least three
    // times (four handshakes): over six seconds of two-second sessions.
    let mut sent = 0;
    loop {
        sent += 1;
        let record = format!("r{sent}");
        ok(addr, &with(&["produce", "long"], &java), record.as_bytes());
        for w in [&plain, &member] {
            wait_until(
                &format!("{} to print {record}", w.name),
                Duration::from_secs(60),
                &[&plain, &member],
                || w.lines().contains(&record).then_some(()),
            );
        }
        let by_conn = handshakes_by_conn(&broker);
        let renewed = by_conn.values().filter(|&&n| n >= 4).count();
        if renewed >= 2 {
            break;
        }
        assert!(
            sent < 400,
            "no connection re-authenticated enough: {by_conn:?}\n{}\n{}",
            plain.transcript(),
            member.transcript()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let expected: Vec<String> = (1..=sent).map(|i| format!("r{i}")).collect();
    assert_eq!(plain.lines(), expected, "{}", plain.transcript());
    assert_eq!(member.lines(), expected, "{}", member.transcript());
    let log = std::fs::read_to_string(broker.server.log_path()).unwrap();
    assert!(
        !log.contains("the SASL session expired without re-authentication"),
        "a connection outlived its session"
    );
}
