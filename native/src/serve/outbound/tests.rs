//! The inter-broker listener's settings checked at start, and a
//! connection to a small broker in the test that serves the listener's
//! own TLS (`tls::configure`, mutual TLS required) and answers SASL PLAIN:
//! the right login gets through, a wrong one is an error naming
//! SASL_AUTHENTICATION_FAILED, and a certificate from another CA fails
//! the handshake.

use std::path::PathBuf;

use bytes::Bytes;
use spate_core::protocol::header::{decode_request, encode_response};
use spate_core::protocol::messages::request_header::RequestHeader;
use spate_core::protocol::messages::sasl_authenticate_response::SaslAuthenticateResponse;
use spate_core::protocol::messages::sasl_handshake_response::SaslHandshakeResponse;
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody};
use spate_core::security::sasl::Mechanism;
use spate_core::security::SecurityProtocol;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

use super::config::configure;
use super::*;
use crate::client::security::Credential;
use crate::serve::listeners::{Listener, Settings};

/// A CA and a broker certificate (server and client auth, for
/// `localhost` and `127.0.0.1`) signed by it, as `ca.pem` and
/// `keystore.pem` (key and certificate) in a directory of `label`.
fn pki(label: &str) -> PathBuf {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    let dir = std::env::temp_dir().join(format!("spate-outbound-{label}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, label);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    p.distinguished_name.push(DnType::CommonName, "broker");
    p.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let cert = p.signed_by(&key, &issuer).unwrap();
    std::fs::write(dir.join("ca.pem"), ca_cert.pem()).unwrap();
    std::fs::write(
        dir.join("keystore.pem"),
        format!("{}{}", key.serialize_pem(), cert.pem()),
    )
    .unwrap();
    dir
}

fn listener(protocol: SecurityProtocol) -> Listener {
    Listener {
        name: "INTERNAL".into(),
        protocol,
        bind: "127.0.0.1:0".into(),
        advertised: Some(("127.0.0.1".into(), 0)),
    }
}

const JAAS: &str = "org.apache.kafka.common.security.plain.PlainLoginModule required \
                    username=\"broker\" password=\"secret\" user_broker=\"secret\";";

/// The settings of a SASL_SSL INTERNAL listener over the PKI in `dir`,
/// mutual TLS required, with the broker's login `password`.
fn settings(dir: &std::path::Path, password: &str) -> Settings {
    let p = |k: &str, v: String| (format!("listener.name.internal.{k}"), v);
    let path = |f: &str| dir.join(f).to_string_lossy().into_owned();
    Settings(
        [
            (
                "sasl.mechanism.inter.broker.protocol".to_string(),
                "PLAIN".to_string(),
            ),
            p("sasl.enabled.mechanisms", "PLAIN".into()),
            p(
                "plain.sasl.jaas.config",
                JAAS.replace("password=\"secret\"", &format!("password=\"{password}\"")),
            ),
            p("ssl.keystore.type", "PEM".into()),
            p("ssl.keystore.location", path("keystore.pem")),
            p("ssl.truststore.type", "PEM".into()),
            p("ssl.truststore.location", path("ca.pem")),
            p("ssl.client.auth", "required".into()),
        ]
        .into_iter()
        .collect(),
    )
}

#[test]
fn a_sasl_ssl_listener_gives_tls_and_the_brokers_own_login() {
    let dir = pki("config");
    let ib = configure(
        &listener(SecurityProtocol::SaslSsl),
        &settings(&dir, "secret"),
    )
    .unwrap();
    assert_eq!(ib.listener.as_deref(), Some("INTERNAL"));
    assert!(ib.tls.is_some());
    let login = ib.sasl.unwrap();
    assert_eq!(login.mechanism, Mechanism::Plain);
    let Credential::Password { username, password } = &login.credential else {
        panic!("a password login");
    };
    assert_eq!((username.as_str(), password.as_str()), ("broker", "secret"));
    // SASL_PLAINTEXT: no TLS; SSL: no SASL; PLAINTEXT: neither.
    let ib = configure(
        &listener(SecurityProtocol::SaslPlaintext),
        &settings(&dir, "x"),
    )
    .unwrap();
    assert!(ib.tls.is_none() && ib.sasl.is_some());
    let ib = configure(&listener(SecurityProtocol::Ssl), &settings(&dir, "x")).unwrap();
    assert!(ib.tls.is_some() && ib.sasl.is_none());
    let ib = configure(&listener(SecurityProtocol::Plaintext), &Settings::default()).unwrap();
    assert!(ib.tls.is_none() && ib.sasl.is_none());
}

#[test]
fn what_kafka_refuses_at_start_is_refused() {
    let dir = pki("refused");
    let sasl = listener(SecurityProtocol::SaslPlaintext);
    let err = |s: &Settings, l: &Listener| format!("{:#}", configure(l, s).unwrap_err());
    let without = |key: &str| {
        let mut s = settings(&dir, "x");
        s.0.remove(key);
        s
    };
    // GSSAPI, Kafka's default, is not spoken.
    let e = err(&without("sasl.mechanism.inter.broker.protocol"), &sasl);
    assert!(e.contains("GSSAPI"), "{e}");
    // The mechanism must be enabled on the listener.
    let e = err(
        &without("listener.name.internal.sasl.enabled.mechanisms"),
        &sasl,
    );
    assert!(e.contains("sasl.enabled.mechanisms"), "{e}");
    // The broker's own login.
    let e = err(
        &without("listener.name.internal.plain.sasl.jaas.config"),
        &sasl,
    );
    assert!(e.contains("plain.sasl.jaas.config"), "{e}");
    let mut s = settings(&dir, "x");
    s.0.insert(
        "listener.name.internal.plain.sasl.jaas.config".into(),
        "org.apache.kafka.common.security.plain.PlainLoginModule required user_a=\"b\";".into(),
    );
    assert!(err(&s, &sasl).contains("no username and password"));
    // TLS needs a trust store.
    let ssl = listener(SecurityProtocol::Ssl);
    let e = err(
        &without("listener.name.internal.ssl.truststore.location"),
        &ssl,
    );
    assert!(e.contains("trust store"), "{e}");
    let mut s = settings(&dir, "x");
    s.0.insert(
        "listener.name.internal.ssl.endpoint.identification.algorithm".into(),
        "dns".into(),
    );
    assert!(err(&s, &ssl).contains("ssl.endpoint.identification.algorithm"));
}

/// A broker in the test on INTERNAL's TLS (`serve::tls::configure` of
/// `server`'s settings) that answers SaslHandshake and one PLAIN
/// SaslAuthenticate, accepting `broker`/`secret` only, then echoes one
/// frame. Returns its port.
async fn fake_broker(server: Settings) -> i32 {
    let tls = crate::serve::tls::configure("INTERNAL", &server).unwrap();
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = i32::from(l.local_addr().unwrap().port());
    tokio::spawn(async move {
        loop {
            let (tcp, _) = l.accept().await.unwrap();
            let acceptor = tls.acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut s) = acceptor.accept(tcp).await else {
                    return;
                };
                for _ in 0..2 {
                    let frame = read_frame(&mut s).await;
                    let (h, body) = decode_request(&frame).unwrap();
                    let answer = match body {
                        RequestBody::SaslHandshake(r) => {
                            assert_eq!(&*r.mechanism, "PLAIN");
                            ResponseBody::SaslHandshake(SaslHandshakeResponse::default())
                        }
                        RequestBody::SaslAuthenticate(r) => {
                            let ok = &r.auth_bytes[..] == b"\0broker\0secret";
                            let code = if ok {
                                ErrorCode::NONE
                            } else {
                                ErrorCode::SASL_AUTHENTICATION_FAILED
                            };
                            ResponseBody::SaslAuthenticate(SaslAuthenticateResponse {
                                error_code: code.code(),
                                error_message: (!ok).then(|| "Invalid username or password".into()),
                                ..Default::default()
                            })
                        }
                        other => panic!("{other:?}"),
                    };
                    write_answer(&mut s, &h, &answer).await;
                }
                let frame = read_frame(&mut s).await;
                let mut out = (frame.len() as i32).to_be_bytes().to_vec();
                out.extend_from_slice(&frame);
                s.write_all(&out).await.unwrap();
            });
        }
    });
    port
}

async fn read_frame<S: tokio::io::AsyncRead + Unpin>(s: &mut S) -> Bytes {
    let n = s.read_u32().await.unwrap() as usize;
    let mut buf = vec![0; n];
    s.read_exact(&mut buf).await.unwrap();
    Bytes::from(buf)
}

async fn write_answer<S: tokio::io::AsyncWrite + Unpin>(
    s: &mut S,
    h: &RequestHeader,
    body: &ResponseBody,
) {
    let frame = encode_response(h.correlation_id, body, h.request_api_version).unwrap();
    s.write_all(&frame).await.unwrap();
}

#[tokio::test]
async fn connects_with_mutual_tls_and_sasl_plain() {
    let dir = pki("connect");
    let port = fake_broker(settings(&dir, "secret")).await;
    let l = listener(SecurityProtocol::SaslSsl);
    let good = configure(&l, &settings(&dir, "secret")).unwrap();
    let mut s = good.connect("127.0.0.1", port, "1").await.unwrap();
    s.write_all(&[0, 0, 0, 2, 7, 9]).await.unwrap();
    assert_eq!(&read_frame(&mut s).await[..], &[7, 9]);
    // The wrong password: refused, and the error says so.
    let bad = configure(&l, &settings(&dir, "wrong")).unwrap();
    let e = format!(
        "{:#}",
        bad.connect("127.0.0.1", port, "1").await.err().unwrap()
    );
    assert!(e.contains("SASL_AUTHENTICATION_FAILED"), "{e}");
    assert!(e.contains("Invalid username or password"), "{e}");
    // A broker of another CA is not trusted (nor would it trust us).
    let other = configure(&l, &settings(&pki("other"), "secret")).unwrap();
    let e = format!(
        "{:#}",
        other.connect("127.0.0.1", port, "1").await.err().unwrap()
    );
    assert!(e.contains("TLS handshake"), "{e}");
}

#[test]
fn the_endpoint_is_the_inter_broker_listeners() {
    use spate_core::broker::Endpoint;
    let b = crate::cluster::BrokerInfo {
        id: 2,
        host: "h".into(),
        port: 9092,
        rack: None,
        endpoints: vec![
            Endpoint {
                listener: "PLAINTEXT".into(),
                host: "h".into(),
                port: 9092,
                protocol: SecurityProtocol::Plaintext,
            },
            Endpoint {
                listener: "INTERNAL".into(),
                host: "i".into(),
                port: 9093,
                protocol: SecurityProtocol::SaslSsl,
            },
        ],
    };
    let ib = InterBroker {
        listener: Some("INTERNAL".into()),
        ..Default::default()
    };
    assert_eq!(ib.endpoint(&b), ("i".to_string(), 9093));
    // A registration without that listener: its own host and port.
    let other = InterBroker {
        listener: Some("OTHER".into()),
        ..Default::default()
    };
    assert_eq!(other.endpoint(&b), ("h".to_string(), 9092));
    assert_eq!(InterBroker::default().endpoint(&b), ("h".to_string(), 9092));
}

/// The SCRAM credential of `broker` / `secret` for `mechanism`.
struct Scram(
    spate_core::security::sasl::ScramCredential,
    spate_core::security::sasl::OAuthConfig,
);

impl spate_core::security::sasl::Credentials for Scram {
    fn plain_password(&self, _: &str) -> Option<&str> {
        None
    }
    fn scram(
        &self,
        _: Mechanism,
        user: &str,
    ) -> Option<spate_core::security::sasl::ScramCredential> {
        (user == "broker").then(|| self.0.clone())
    }
    fn oauth(&self) -> &spate_core::security::sasl::OAuthConfig {
        &self.1
    }
    fn mock_secret(&self) -> &[u8; 32] {
        &[0; 32]
    }
}

/// A SASL_PLAINTEXT broker in the test running the core's SCRAM server
/// exchange for `broker` / `secret`; after a completed login it echoes
/// one frame. Returns its port.
async fn fake_scram_broker(mechanism: Mechanism) -> i32 {
    use spate_core::security::sasl::scram::{credential, salted_password, ServerExchange};
    use spate_core::security::sasl::Step;
    let salt = b"test salt".to_vec();
    let salted = salted_password(mechanism, "secret", &salt, 4096);
    let creds = std::sync::Arc::new(Scram(
        credential(mechanism, &salted, &salt, 4096),
        Default::default(),
    ));
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = i32::from(l.local_addr().unwrap().port());
    tokio::spawn(async move {
        loop {
            let (mut s, _) = l.accept().await.unwrap();
            let creds = creds.clone();
            tokio::spawn(async move {
                let mut exchange = ServerExchange::new(mechanism, [3; 32]);
                loop {
                    let frame = read_frame(&mut s).await;
                    let (h, body) = decode_request(&frame).unwrap();
                    let (answer, done) = match body {
                        RequestBody::SaslHandshake(r) => {
                            assert_eq!(&*r.mechanism, mechanism.name());
                            let a = SaslHandshakeResponse::default();
                            (ResponseBody::SaslHandshake(a), false)
                        }
                        RequestBody::SaslAuthenticate(r) => {
                            let (code, message, token, done) =
                                match exchange.step(&r.auth_bytes, &*creds) {
                                    Step::Continue(t) => (0, None, t, false),
                                    Step::Done { token, .. } => (0, None, token, true),
                                    Step::Failed { code, message } => {
                                        (code.code(), Some(message.into()), Vec::new(), false)
                                    }
                                };
                            let a = SaslAuthenticateResponse {
                                error_code: code,
                                error_message: message,
                                auth_bytes: Bytes::from(token),
                                ..Default::default()
                            };
                            (ResponseBody::SaslAuthenticate(a), done)
                        }
                        other => panic!("{other:?}"),
                    };
                    write_answer(&mut s, &h, &answer).await;
                    if done {
                        break;
                    }
                }
                let frame = read_frame(&mut s).await;
                let mut out = (frame.len() as i32).to_be_bytes().to_vec();
                out.extend_from_slice(&frame);
                s.write_all(&out).await.unwrap();
            });
        }
    });
    port
}

#[tokio::test]
async fn connects_with_scram() {
    for mechanism in [Mechanism::ScramSha256, Mechanism::ScramSha512] {
        let port = fake_scram_broker(mechanism).await;
        let login = |password: &str| InterBroker {
            listener: Some("INTERNAL".into()),
            tls: None,
            sasl: Some(SaslLogin {
                mechanism,
                credential: Credential::Password {
                    username: "broker".into(),
                    password: password.into(),
                },
            }),
        };
        let mut s = login("secret")
            .connect("127.0.0.1", port, "1")
            .await
            .unwrap();
        s.write_all(&[0, 0, 0, 1, 5]).await.unwrap();
        assert_eq!(&read_frame(&mut s).await[..], &[5]);
        let e = login("wrong")
            .connect("127.0.0.1", port, "1")
            .await
            .err()
            .unwrap();
        let e = format!("{e:#}");
        assert!(e.contains("SASL_AUTHENTICATION_FAILED"), "{e}");
    }
}
