//! `max.connections` and `max.connections.per.ip` against the real
//! binary, over raw TCP: a connection over its address's limit is closed
//! before it is answered; at the broker-wide limit the broker takes no new
//! connection until one closes; a limit changed with AlterConfigs
//! (kafka-python's admin client, cluster-wide) holds for the next
//! connection.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use spate_e2e::Server;

/// ApiVersions v0, correlation id 7, no client id.
const API_VERSIONS: [u8; 14] = [0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 7, 0xff, 0xff];

/// Sends ApiVersions on `s` and reads the answer's size and correlation
/// id: `Ok(true)` when answered, `Ok(false)` when the broker closed the
/// connection instead, `Err` when nothing came within `wait`.
fn answered(s: &mut TcpStream, wait: Duration) -> std::io::Result<bool> {
    s.set_read_timeout(Some(wait))?;
    // The broker may already have closed it: a failed write says so too.
    if s.write_all(&API_VERSIONS).is_err() {
        return Ok(false);
    }
    let mut head = [0u8; 8];
    match s.read_exact(&mut head) {
        Ok(()) => {
            assert_eq!(&head[4..], &[0, 0, 0, 7], "the answer's correlation id");
            let n = i32::from_be_bytes(head[..4].try_into().unwrap()) as usize;
            let mut rest = vec![0u8; n - 4];
            s.read_exact(&mut rest)?;
            Ok(true)
        }
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            Err(e)
        }
        Err(_) => Ok(false),
    }
}

fn connect(addr: &str) -> TcpStream {
    TcpStream::connect(addr).expect("connecting")
}

const ANSWER: Duration = Duration::from_secs(10);

/// Two connections to `addr`, each answered.
fn two_answered(addr: &str) -> (TcpStream, TcpStream) {
    let (mut a, mut b) = (connect(addr), connect(addr));
    assert!(answered(&mut a, ANSWER).unwrap());
    assert!(answered(&mut b, ANSWER).unwrap());
    (a, b)
}

#[test]
fn a_connection_over_its_addresss_limit_is_closed_and_the_limit_follows_alter_configs() {
    let server = Server::start_with_properties("max.connections.per.ip=2\n", &[]);
    let addr = server.addr.as_str();
    let (a, b) = two_answered(addr);
    let mut c = connect(addr);
    assert!(
        !answered(&mut c, ANSWER).expect("the third connection was neither answered nor closed"),
        "a third connection from 127.0.0.1 was served with max.connections.per.ip=2"
    );
    // Its place comes back when one closes.
    drop(a);
    let d = spate_e2e::wait_until("a connection to be let in again", ANSWER, &[], || {
        let mut d = connect(addr);
        answered(&mut d, ANSWER).ok()?.then_some(d)
    });
    drop(b);
    drop(d);

    // For this broker (node 1), through AlterConfigs: one connection per
    // address.
    let out = server.python(
        r#"
import sys
from kafka.admin import KafkaAdminClient, ConfigResource, ConfigResourceType
a = KafkaAdminClient(bootstrap_servers=sys.argv[1])
r = a.alter_configs([ConfigResource(ConfigResourceType.BROKER, "1", configs={"max.connections.per.ip": "1"})])
print(r)
a.close()
"#,
    );
    assert!(out.contains("'1': 'OK'"), "{out}");
    // Once the admin client's connection is gone, one is let in, and no
    // second beside it.
    let _e = spate_e2e::wait_until("the one connection to be let in", ANSWER, &[], || {
        let mut e = connect(addr);
        answered(&mut e, ANSWER).ok()?.then_some(e)
    });
    let mut f = connect(addr);
    assert!(
        !answered(&mut f, ANSWER).unwrap(),
        "a second connection was served after max.connections.per.ip=1 was set"
    );
    let log = std::fs::read_to_string(server.log_path()).unwrap();
    assert!(
        log.contains("Rejected connection from 127.0.0.1, address already has the configured maximum of 1 connections."),
        "{log}"
    );
}

#[test]
fn at_max_connections_the_broker_takes_no_new_connection_until_one_closes() {
    let server = Server::start_with_properties("max.connections=2\n", &[]);
    let addr = server.addr.as_str();
    let (a, mut b) = two_answered(addr);
    // The kernel completes the handshake (the listen backlog), but the
    // broker does not take the connection: no answer.
    let mut c = connect(addr);
    assert!(
        answered(&mut c, Duration::from_millis(700)).is_err(),
        "a third connection was served with max.connections=2"
    );
    drop(a);
    let mut rest = [0u8; 8];
    c.set_read_timeout(Some(ANSWER)).unwrap();
    c.read_exact(&mut rest)
        .expect("the waiting connection was not answered once another closed");
    assert_eq!(&rest[4..], &[0, 0, 0, 7]);
    assert!(answered(&mut b, ANSWER).unwrap());
}

#[test]
fn a_malformed_limit_stops_the_broker_at_start_with_its_name() {
    let config = spate_e2e::TempDir::new("config");
    let file = config.0.join("server.properties");
    std::fs::write(&file, "max.connections.per.ip=-3\n").unwrap();
    let data = spate_e2e::TempDir::new("data");
    let out = std::process::Command::new(spate_e2e::spate())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data.0)
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("max.connections.per.ip: `-3`"), "{err}");
}
