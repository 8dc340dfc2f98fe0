//! TLS listeners against real clients: kcat, confluent-kafka,
//! kafka-python and kafkajs produce and consume over SSL; Metadata names
//! the port of the listener asked; TLS 1.2 and 1.3 clients; mutual TLS
//! with `ssl.client.auth=required`; a plain-text client on the SSL port.
//! Certificates are made by each test ([`spate_e2e::tls::Pki`]).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output};
use std::time::Duration;

use spate_e2e::tls::{Pki, TlsBroker, CLIENT_DN};
use spate_e2e::{kcat, require, workspace};

fn ssl_args(addr: &str, pki: &Pki) -> Vec<String> {
    vec![
        "-b".into(),
        addr.into(),
        "-X".into(),
        "security.protocol=ssl".into(),
        "-X".into(),
        format!("ssl.ca.location={}", Pki::path(&pki.ca)),
    ]
}

fn text(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The ports of the brokers `kcat -L -J` lists.
fn metadata_ports(args: &[String]) -> Vec<u64> {
    let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
    all.extend(["-L", "-J", "-m", "10"]);
    let out = kcat(&all, b"");
    assert!(out.status.success(), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("kcat's JSON");
    json["brokers"]
        .as_array()
        .expect("brokers")
        .iter()
        .map(|b| {
            b["name"]
                .as_str()
                .unwrap_or_default()
                .rsplit_once(':')
                .map_or(0, |(_, p)| p.parse().unwrap_or(0))
        })
        .collect()
}

#[test]
fn kcat_over_ssl_and_metadata_names_the_listener_asked() {
    let pki = Pki::new();
    let broker = TlsBroker::start(&pki, "");
    let ssl = ssl_args(&broker.ssl, &pki);
    assert_eq!(
        metadata_ports(&ssl),
        [u64::from(TlsBroker::port(&broker.ssl))]
    );
    let plain = vec!["-b".to_string(), broker.plain.clone()];
    assert_eq!(
        metadata_ports(&plain),
        [u64::from(TlsBroker::port(&broker.plain))]
    );
    let mut produce: Vec<&str> = ssl.iter().map(String::as_str).collect();
    produce.extend(["-P", "-t", "over-tls"]);
    let out = kcat(&produce, b"one\ntwo\nthree\n");
    assert!(out.status.success(), "{}", text(&out));
    let mut consume: Vec<&str> = ssl.iter().map(String::as_str).collect();
    consume.extend(["-C", "-t", "over-tls", "-e", "-o", "beginning"]);
    let out = kcat(&consume, b"");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "one\ntwo\nthree\n");
    // The same records over the plain listener.
    let out = kcat(
        &[
            "-b",
            &broker.plain,
            "-C",
            "-t",
            "over-tls",
            "-e",
            "-o",
            "beginning",
        ],
        b"",
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "one\ntwo\nthree\n",
        "{}",
        text(&out)
    );
}

#[test]
fn python_clients_over_ssl_with_tls_1_2_and_1_3() {
    let pki = Pki::new();
    let broker = TlsBroker::start(&pki, "");
    let script = workspace().join("tests/py/ssl_clients.py");
    let out = Command::new(require("python3"))
        .arg(script)
        .args([&broker.ssl, &Pki::path(&pki.ca), "py-tls"])
        .output()
        .expect("python3 runs");
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(
        t.contains("negotiated TLSv1.3\nnegotiated TLSv1.2\n"),
        "{t}"
    );
    assert!(t.contains("confluent got 10 ck0 ck9"), "{t}");
    assert!(t.contains("kafka-python got 20 kp9"), "{t}");
}

#[test]
fn a_tls_1_2_only_listener_refuses_a_tls_1_3_only_client() {
    let pki = Pki::new();
    let broker = TlsBroker::start(&pki, "ssl.enabled.protocols=TLSv1.2");
    let probe = |min: &str| {
        let script = format!(
            "import socket, ssl, sys\n\
             ctx = ssl.create_default_context(cafile=sys.argv[2])\n\
             ctx.minimum_version = ssl.TLSVersion.{min}\n\
             h, p = sys.argv[1].rsplit(':', 1)\n\
             try:\n\
             \x20   with ctx.wrap_socket(socket.create_connection((h, int(p))), server_hostname='127.0.0.1') as s:\n\
             \x20       print('negotiated', s.version())\n\
             except ssl.SSLError as e:\n\
             \x20   print('refused', e.reason)\n"
        );
        let out = Command::new(require("python3"))
            .args(["-c", &script, &broker.ssl, &Pki::path(&pki.ca)])
            .output()
            .expect("python3 runs");
        text(&out)
    };
    assert!(probe("TLSv1_2").contains("negotiated TLSv1.2"));
    assert!(probe("TLSv1_3").contains("refused"));
    let ssl = ssl_args(&broker.ssl, &pki);
    assert_eq!(metadata_ports(&ssl).len(), 1);
}

#[test]
fn kafkajs_over_ssl() {
    let pki = Pki::new();
    let broker = TlsBroker::start(&pki, "");
    let script = workspace().join("tests/js/ssl_produce_consume.js");
    let out = Command::new(require("node"))
        .arg(script)
        .args([&broker.ssl, &Pki::path(&pki.ca), "js-tls"])
        .output()
        .expect("node runs");
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("kafkajs got 20 js0 js19"), "{t}");
}

#[test]
fn mutual_tls_required_takes_the_certificates_subject_as_principal() {
    let pki = Pki::new();
    let broker = TlsBroker::start(
        &pki,
        &format!(
            "ssl.client.auth=required\nssl.truststore.type=PEM\nssl.truststore.location={}\n\
             ssl.principal.mapping.rules=RULE:^CN=([^,]*),OU=ops,.*$/$1-ops/,DEFAULT\n",
            Pki::path(&pki.ca)
        ),
    );
    let mut with_cert = ssl_args(&broker.ssl, &pki);
    with_cert.extend([
        "-X".into(),
        format!("ssl.certificate.location={}", Pki::path(&pki.client_cert)),
        "-X".into(),
        format!("ssl.key.location={}", Pki::path(&pki.client_key)),
    ]);
    assert_eq!(metadata_ports(&with_cert).len(), 1);
    // The first rule does not match alice's subject; DEFAULT keeps it whole.
    let log = broker.log();
    assert!(
        log.contains(&format!("principal=Some(\"{CLIENT_DN}\")")),
        "{log}"
    );
    // Without a certificate the handshake fails and nothing is answered.
    let no_cert = ssl_args(&broker.ssl, &pki);
    let mut without: Vec<&str> = no_cert.iter().map(String::as_str).collect();
    without.extend(["-L", "-m", "5"]);
    let out = kcat(&without, b"");
    assert!(!out.status.success(), "{}", text(&out));
    assert!(broker.log().contains("TLS handshake failed"));
}

#[test]
fn a_plain_text_client_on_the_ssl_port_is_closed_and_the_broker_keeps_serving() {
    let pki = Pki::new();
    let mut broker = TlsBroker::start(&pki, "");
    let mut s = TcpStream::connect(&broker.ssl).expect("connecting");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    // An ApiVersions v0 request in the clear: size, key 18, version 0,
    // correlation id 7, client id "x".
    let body: &[u8] = &[0, 18, 0, 0, 0, 0, 0, 7, 0, 1, b'x'];
    let mut frame = (body.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(body);
    s.write_all(&frame).expect("writing");
    let mut got = Vec::new();
    // The broker closes the connection (after, at most, a TLS alert); it
    // never answers the request.
    let _ = s.read_to_end(&mut got);
    assert!(
        got.is_empty() || got[0] == 0x15,
        "a Kafka answer on the TLS port: {got:?}"
    );
    assert!(broker.alive());
    let ssl = ssl_args(&broker.ssl, &pki);
    assert_eq!(metadata_ports(&ssl).len(), 1);
    assert!(broker.log().contains("TLS handshake failed"));
}
