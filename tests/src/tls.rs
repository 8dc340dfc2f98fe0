//! TLS for the end-to-end tests: a certificate authority, a server
//! certificate for `127.0.0.1` and `localhost`, and a client certificate,
//! made fresh with rcgen for each test and written as PEM files to a
//! temporary directory (never checked in); and a broker with a PLAINTEXT
//! and an SSL listener.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};

use crate::{spate, TempDir};

/// PEM files in a temporary directory, removed when dropped.
pub struct Pki {
    /// The directory.
    pub dir: TempDir,
    /// The CA's certificate: the trust store of both sides.
    pub ca: PathBuf,
    /// The server's private key and certificate in one file
    /// (`ssl.keystore.location` with `ssl.keystore.type=PEM`).
    pub server_keystore: PathBuf,
    /// The server's certificate alone.
    pub server_cert: PathBuf,
    /// The server's private key alone.
    pub server_key: PathBuf,
    /// The client's certificate, subject `CN=alice,OU=eng,O=Example`.
    pub client_cert: PathBuf,
    /// The client's private key.
    pub client_key: PathBuf,
}

/// The client certificate's subject as Kafka writes it (RFC 2253).
pub const CLIENT_DN: &str = "CN=alice,OU=eng,O=Example";

impl Pki {
    /// A new CA and certificates signed by it.
    pub fn new() -> Pki {
        let dir = TempDir::new("pki");
        let ca_key = KeyPair::generate().expect("a CA key");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "Spate test CA");
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca.self_signed(&ca_key).expect("the CA certificate");
        let issuer = Issuer::new(ca, ca_key);

        let server_key = KeyPair::generate().expect("a server key");
        let mut server = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
            .expect("server params");
        server
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        // Client authentication too: a broker offers its own certificate
        // when it connects to another broker that asks for one.
        server.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let server_cert = server
            .signed_by(&server_key, &issuer)
            .expect("the server certificate");

        let client_key = KeyPair::generate().expect("a client key");
        let mut client = CertificateParams::new(Vec::<String>::new()).expect("client params");
        // Encoded O, OU, CN (without the common name rcgen puts first by
        // default): RFC 2253 writes the last first.
        client.distinguished_name = DistinguishedName::new();
        client
            .distinguished_name
            .push(DnType::OrganizationName, "Example");
        client
            .distinguished_name
            .push(DnType::OrganizationalUnitName, "eng");
        client.distinguished_name.push(DnType::CommonName, "alice");
        client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client_cert = client
            .signed_by(&client_key, &issuer)
            .expect("the client certificate");

        let write = |name: &str, text: String| {
            let p = dir.0.join(name);
            std::fs::write(&p, text).expect("writing a PEM file");
            p
        };
        Pki {
            ca: write("ca.pem", ca_cert.pem()),
            server_keystore: write(
                "server-keystore.pem",
                format!("{}{}", server_key.serialize_pem(), server_cert.pem()),
            ),
            server_cert: write("server.pem", server_cert.pem()),
            server_key: write("server-key.pem", server_key.serialize_pem()),
            client_cert: write("client.pem", client_cert.pem()),
            client_key: write("client-key.pem", client_key.serialize_pem()),
            dir,
        }
    }

    /// A path as a string.
    pub fn path(p: &std::path::Path) -> String {
        p.to_string_lossy().into_owned()
    }
}

impl Default for Pki {
    fn default() -> Self {
        Pki::new()
    }
}

/// A broker with a PLAINTEXT and an SSL listener on free loopback ports,
/// killed when dropped.
pub struct TlsBroker {
    child: Child,
    /// The PLAINTEXT listener, `127.0.0.1:PORT`.
    pub plain: String,
    /// The SSL listener.
    pub ssl: String,
    _data: TempDir,
    _config: TempDir,
    log: TempDir,
}

impl TlsBroker {
    /// Starts `spate serve` with `listeners=PLAINTEXT://127.0.0.1:0,
    /// SSL://127.0.0.1:0`, the SSL listener's key store `pki`'s server key
    /// and certificate, and `extra` properties lines.
    pub fn start(pki: &Pki, extra: &str) -> TlsBroker {
        let config = TempDir::new("config");
        let data = TempDir::new("data");
        let log = TempDir::new("log");
        let props = format!(
            "listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0\n\
             ssl.keystore.type=PEM\n\
             ssl.keystore.location={}\n\
             group.initial.rebalance.delay.ms=0\n\
             {extra}\n",
            Pki::path(&pki.server_keystore),
        );
        let file = config.0.join("server.properties");
        std::fs::write(&file, props).expect("writing server.properties");
        let mut cmd = Command::new(spate());
        cmd.arg("serve")
            .arg(&file)
            .arg("--data-dir")
            .arg(&data.0)
            .env("SPATE_LOG", "info,spate=debug")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log.0.join("broker.log")).expect("the broker log"));
        let mut child = cmd.spawn().expect("starting spate");
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut addrs = Vec::new();
        for _ in 0..2 {
            let mut line = String::new();
            out.read_line(&mut line)
                .expect("reading the broker's output");
            let addr = line
                .trim()
                .strip_prefix("listening on ")
                .map(str::to_string);
            match addr {
                Some(a) => addrs.push(a),
                None => {
                    let _ = child.kill();
                    let log = std::fs::read_to_string(log.0.join("broker.log")).unwrap_or_default();
                    panic!("the broker did not start: {line:?}\n{log}");
                }
            }
        }
        TlsBroker {
            child,
            ssl: addrs.pop().expect("two listeners"),
            plain: addrs.pop().expect("two listeners"),
            _data: data,
            _config: config,
            log,
        }
    }

    /// The broker's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.0.join("broker.log")).unwrap_or_default()
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The port of `addr`.
    pub fn port(addr: &str) -> u16 {
        addr.rsplit_once(':')
            .and_then(|(_, p)| p.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for TlsBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = self.log();
            let lines: Vec<&str> = log.lines().collect();
            let tail = &lines[lines.len().saturating_sub(200)..];
            eprintln!(
                "--- the broker's log (last {}):\n{}",
                tail.len(),
                tail.join("\n")
            );
        }
    }
}
