//! The client's TLS against a small rustls server in the test: CA checks,
//! host name checks on and off, and mutual TLS.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls::ServerConfig;

use super::*;

/// A file of the test PKI, made once per test run in a temporary
/// directory: `ca.pem` signs `server.pem` (for `localhost`, key
/// `server.key`) and `client.pem` (client auth, key `client.key`; both in
/// `client-keystore.pem`); `other-ca.pem` is an unrelated CA.
fn data(name: &str) -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(make_pki).join(name)
}

fn make_pki() -> PathBuf {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    let dir = std::env::temp_dir().join(format!("spate-client-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = |name: &str| {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).unwrap();
        (cert.pem(), Issuer::new(params, key))
    };
    let (ca_pem, issuer) = ca("test CA");
    let (other_pem, _) = ca("other CA");
    let leaf = |names: Vec<String>, usage: ExtendedKeyUsagePurpose| {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(names).unwrap();
        params.extended_key_usages = vec![usage];
        let cert = params.signed_by(&key, &issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    };
    let (server, server_key) = leaf(
        vec!["localhost".into()],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let (client, client_key) = leaf(vec!["client".into()], ExtendedKeyUsagePurpose::ClientAuth);
    for (name, text) in [
        ("ca.pem", ca_pem),
        ("other-ca.pem", other_pem),
        ("server.pem", server),
        ("server.key", server_key),
        ("client-keystore.pem", format!("{client_key}{client}")),
        ("client.pem", client),
        ("client.key", client_key),
    ] {
        std::fs::write(dir.join(name), text).unwrap();
    }
    dir
}

fn server_config(require_client_cert: bool) -> Arc<ServerConfig> {
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = if require_client_cert {
        let mut roots = RootCertStore::empty();
        for c in certificates(&data("ca.pem")).unwrap() {
            roots.add(c).unwrap();
        }
        let v = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .unwrap();
        builder.with_client_cert_verifier(v)
    } else {
        builder.with_no_client_auth()
    };
    let config = builder
        .with_single_cert(
            certificates(&data("server.pem")).unwrap(),
            private_key(&data("server.key")).unwrap(),
        )
        .unwrap();
    Arc::new(config)
}

/// A server that echoes five bytes over TLS once; returns its port.
fn echo_server(require_client_cert: bool) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = server_config(require_client_cert);
    std::thread::spawn(move || {
        let Ok((tcp, _)) = listener.accept() else {
            return;
        };
        let Ok(conn) = rustls::ServerConnection::new(config) else {
            return;
        };
        let mut s = rustls::StreamOwned::new(conn, tcp);
        let mut buf = [0u8; 5];
        if s.read_exact(&mut buf).is_ok() {
            let _ = s.write_all(&buf);
            let _ = s.flush();
        }
    });
    port
}

/// Connects with `files` to a fresh echo server as `host` and echoes.
fn echo(files: &TlsFiles<'_>, host: &str, require_client_cert: bool) -> anyhow::Result<()> {
    let port = echo_server(require_client_cert);
    let config = Arc::new(client_config(files)?);
    let tcp = TcpStream::connect(("127.0.0.1", port))?;
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    let mut s = connect(&config, host, tcp)?;
    s.write_all(b"hello")?;
    s.flush()?;
    let mut buf = [0u8; 5];
    s.read_exact(&mut buf)?;
    anyhow::ensure!(&buf == b"hello", "echoed {buf:?}");
    Ok(())
}

fn files<'a>(ca: &'a Path, verify_host: bool) -> TlsFiles<'a> {
    TlsFiles {
        ca: Some(ca),
        ca_type: StoreType::Pem,
        ca_password: None,
        keystore: None,
        keystore_type: StoreType::Pem,
        keystore_password: None,
        certificate: None,
        key: None,
        verify_host,
    }
}

#[test]
fn trusted_ca_and_matching_host() {
    let ca = data("ca.pem");
    echo(&files(&ca, true), "localhost", false).unwrap();
}

#[test]
fn host_name_checked_unless_disabled() {
    let ca = data("ca.pem");
    // The certificate names `localhost`, not the address.
    let e = echo(&files(&ca, true), "127.0.0.1", false).unwrap_err();
    assert!(format!("{e:#}").contains("TLS handshake"), "{e:#}");
    echo(&files(&ca, false), "127.0.0.1", false).unwrap();
}

#[test]
fn unknown_ca_refused_even_without_host_check() {
    let other = data("other-ca.pem");
    let e = echo(&files(&other, false), "localhost", false).unwrap_err();
    assert!(format!("{e:#}").contains("UnknownIssuer"), "{e:#}");
}

#[test]
fn without_a_ca_the_systems_are_trusted_and_the_test_ca_is_not() {
    // The test CA is in no system store: the handshake fails on the
    // issuer, as it would with Java's default trust store.
    let ca = data("ca.pem");
    let no_ca = TlsFiles {
        ca: None,
        ..files(&ca, true)
    };
    let e = format!("{:#}", echo(&no_ca, "localhost", false).unwrap_err());
    assert!(
        e.contains("UnknownIssuer") || e.contains("no trusted CA found in the system's store"),
        "{e}"
    );
}

#[test]
fn mutual_tls_with_keystore_or_separate_files() {
    let ca = data("ca.pem");
    let keystore = data("client-keystore.pem");
    let mut f = files(&ca, true);
    f.keystore = Some(&keystore);
    echo(&f, "localhost", true).unwrap();
    let (cert, key) = (data("client.pem"), data("client.key"));
    let mut f = files(&ca, true);
    f.certificate = Some(&cert);
    f.key = Some(&key);
    echo(&f, "localhost", true).unwrap();
    // Without a certificate the server refuses the client.
    assert!(echo(&files(&ca, true), "localhost", true).is_err());
}

#[test]
fn missing_or_half_given_files() {
    let ca = data("ca.pem");
    let cert = data("client.pem");
    let mut half = files(&ca, true);
    half.certificate = Some(&cert);
    assert!(client_config(&half).is_err());
    let nothing = data("README.md");
    assert!(client_config(&files(&nothing, true)).is_err());
}

/// A PKCS#12 file of the test PKI: `ca.pem` as a trusted certificate, or
/// `client.key` with `client.pem` as a key entry, under `password`.
fn pkcs12(name: &str, password: &str, key_entry: bool) -> PathBuf {
    use p12_keystore::{
        Certificate, KeyStore, KeyStoreEntry, LocalKeyId, PrivateKey, PrivateKeyChain,
    };
    let mut store = KeyStore::new();
    if key_entry {
        let key = private_key(&data("client.key")).unwrap();
        let cert = &certificates(&data("client.pem")).unwrap()[0];
        let chain = PrivateKeyChain::new(
            LocalKeyId(vec![1]),
            PrivateKey::from_der(key.secret_der()).unwrap(),
            [Certificate::from_der(cert).unwrap()],
        );
        store.add_entry("client", KeyStoreEntry::PrivateKeyChain(chain));
    } else {
        let ca = &certificates(&data("ca.pem")).unwrap()[0];
        store.add_entry(
            "ca",
            KeyStoreEntry::Certificate(Certificate::from_der(ca).unwrap()),
        );
    }
    let path = data(name);
    std::fs::write(&path, store.writer(password).write().unwrap()).unwrap();
    path
}

#[test]
fn pkcs12_trust_and_key_stores() {
    let (truststore, keystore) = (
        pkcs12("truststore.p12", "trust-pw", false),
        pkcs12("keystore.p12", "key-pw", true),
    );
    let mut f = files(&truststore, true);
    f.ca_type = StoreType::Pkcs12;
    f.ca_password = Some("trust-pw");
    f.keystore = Some(&keystore);
    f.keystore_type = StoreType::Pkcs12;
    f.keystore_password = Some("key-pw");
    echo(&f, "localhost", true).unwrap();
    // A wrong password is an error saying so.
    f.keystore_password = Some("wrong");
    let e = format!("{:#}", client_config(&f).unwrap_err());
    assert!(e.contains("keystore.p12") && e.contains("password"), "{e}");
    // A trust store has no key entry to give as a key store.
    f.keystore = Some(&truststore);
    f.keystore_password = Some("trust-pw");
    let e = format!("{:#}", client_config(&f).unwrap_err());
    assert!(e.contains("no private key"), "{e}");
}
