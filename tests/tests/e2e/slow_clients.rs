//! Slow, stuck and idle clients against the real binary: a client that
//! trickles its request a byte at a time, or that sends requests and
//! never reads the answers, does not hold up kcat and confluent-kafka
//! producing and consuming beside it; the one that never reads is closed
//! with its buffered answers bounded; `connections.max.idle.ms` closes an
//! idle connection and spares a trickling one.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use spate_e2e::raw;
use spate_e2e::{require, Server};

/// ApiVersions v0, correlation id 7, no client id.
const API_VERSIONS: [u8; 14] = [0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 7, 0xff, 0xff];

/// Well above what the normal clients below take (about a second each on
/// an idle machine), well below forever: a client held up behind a slow
/// one would not finish at all.
const NORMAL: Duration = Duration::from_secs(60);

/// kcat, killed after [`NORMAL`] (`timeout`), feeding it `stdin`.
fn kcat(args: &[&str], stdin: &[u8]) -> std::process::Output {
    let mut child = Command::new(require("timeout"))
        .arg(NORMAL.as_secs().to_string())
        .arg(require("kcat"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kcat starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("feeding kcat");
    child.wait_with_output().expect("kcat runs")
}

/// kcat produces 2,000 messages to `topic` and reads them back; then
/// confluent-kafka does the same with 1,000 of its own. Returns how long
/// it all took.
fn normal_clients(server: &Server, topic: &str) -> Duration {
    let start = Instant::now();
    let lines: String = (0..2000).map(|i| format!("kcat-{i}\n")).collect();
    let out = kcat(&["-b", &server.addr, "-P", "-t", topic], lines.as_bytes());
    assert!(out.status.success(), "kcat -P: {out:?}");
    let out = kcat(
        &[
            "-b",
            &server.addr,
            "-C",
            "-t",
            topic,
            "-o",
            "beginning",
            "-e",
            "-q",
        ],
        b"",
    );
    assert!(out.status.success(), "kcat -C: {out:?}");
    let got = String::from_utf8_lossy(&out.stdout);
    assert_eq!(got.lines().count(), 2000, "kcat read back");
    let script = format!(
        r#"
import sys
from confluent_kafka import Producer, Consumer
p = Producer({{"bootstrap.servers": sys.argv[1], "message.timeout.ms": 60000}})
for i in range(1000):
    p.produce("{topic}", f"ck-{{i}}".encode())
assert p.flush(60) == 0
c = Consumer({{"bootstrap.servers": sys.argv[1], "group.id": "slow-clients",
              "auto.offset.reset": "earliest", "enable.partition.eof": True}})
c.subscribe(["{topic}"])
seen = 0
while True:
    m = c.poll(60)
    assert m is not None, "no message within 60 s"
    if m.error():
        if m.error().code() == -191:  # end of partition
            break
        raise Exception(m.error())
    seen += 1
c.close()
print(seen)
"#
    );
    let seen = server.python(&script);
    assert_eq!(seen.trim(), "3000", "confluent-kafka read back");
    start.elapsed()
}

#[test]
fn a_client_trickling_its_request_holds_up_no_one() {
    let server = Server::start(&[]);
    let stop = Arc::new(AtomicBool::new(false));
    // One announces a 20 MiB frame (more than the broker lets wait for
    // it across all connections) and sends it a byte at a time.
    let mut big = TcpStream::connect(&server.addr).unwrap();
    big.write_all(&(20i32 << 20).to_be_bytes()).unwrap();
    let flag = stop.clone();
    let big = thread::spawn(move || {
        while !flag.load(Ordering::Relaxed) {
            if big.write_all(&[0]).is_err() {
                return false;
            }
            thread::sleep(Duration::from_millis(200));
        }
        true
    });
    // Another sends a whole ApiVersions request at one byte a second.
    let mut slow = TcpStream::connect(&server.addr).unwrap();
    let slow = thread::spawn(move || {
        for b in API_VERSIONS {
            slow.write_all(&[b]).unwrap();
            thread::sleep(Duration::from_secs(1));
        }
        slow.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        raw::read_frame(&mut slow).map(|f| raw::correlation(&f))
    });
    thread::sleep(Duration::from_secs(1));
    let took = normal_clients(&server, "beside-a-trickle");
    eprintln!("kcat and confluent-kafka beside two trickling clients: {took:?}");
    assert!(took < NORMAL, "the normal clients took {took:?}");
    assert_eq!(
        slow.join()
            .unwrap()
            .expect("the trickled request was answered"),
        7
    );
    stop.store(true, Ordering::Relaxed);
    assert!(
        big.join().unwrap(),
        "the client still sending its frame was disconnected"
    );
}

/// Reads what the broker sent until it closes the connection (`true`) or
/// nothing comes for `quiet` (`false`).
fn closed_by_broker(s: &mut TcpStream, quiet: Duration) -> bool {
    s.set_read_timeout(Some(quiet)).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return true,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false
            }
            Err(e) => panic!("reading: {e}"),
        }
    }
}

#[test]
fn a_client_that_never_reads_is_bounded_then_closed() {
    let server = Server::start_with_properties("connections.max.idle.ms=5000\n", &[]);
    // 2 MB in the partition: each Fetch below is answered with 1 MB.
    raw::create_topic(&server.addr, "never-read");
    let mut w = TcpStream::connect(&server.addr).unwrap();
    for i in 0..8 {
        let values = vec![Bytes::from(vec![b'x'; 1000]); 250];
        w.write_all(&raw::produce("never-read", 0, &values, 1, i))
            .unwrap();
        let (err, _) = raw::produced(&raw::read_frame(&mut w).unwrap());
        assert_eq!(err, 0, "producing the data");
    }
    let (before, _) = raw::rss_and_fds(server.pid());
    // 500 Fetch requests, 500 MB of answers, none read.
    let mut stuck = TcpStream::connect(&server.addr).unwrap();
    let mut sender = stuck.try_clone().unwrap();
    sender
        .set_write_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let sending = thread::spawn(move || {
        let mut sent = 0;
        for i in 0..500 {
            if sender
                .write_all(&raw::fetch("never-read", 0, 0, 1 << 20, i))
                .is_err()
            {
                break;
            }
            sent += 1;
        }
        sent
    });
    let mut peak = before;
    let watch = Instant::now();
    while watch.elapsed() < Duration::from_secs(3) {
        peak = peak.max(raw::rss_and_fds(server.pid()).0);
        thread::sleep(Duration::from_millis(100));
    }
    // Others are served meanwhile.
    let took = normal_clients(&server, "beside-a-stuck-reader");
    eprintln!("kcat and confluent-kafka beside a client that reads nothing: {took:?}");
    peak = peak.max(raw::rss_and_fds(server.pid()).0);
    let sent = sending.join().unwrap();
    eprintln!(
        "broker RSS {before} KiB before, {peak} KiB at most; {sent} of 500 Fetch requests sent"
    );
    assert!(
        peak < before + 256 * 1024,
        "the broker's memory grew from {before} KiB to {peak} KiB for a client that reads nothing"
    );
    // Closed: once its answers passed the bound, or idle for 5 s.
    thread::sleep(Duration::from_secs(6));
    assert!(
        closed_by_broker(&mut stuck, Duration::from_secs(10)),
        "the connection that never read is still open"
    );
}

#[test]
fn connections_max_idle_ms_closes_idle_connections_not_trickling_ones() {
    let server = Server::start_with_properties("connections.max.idle.ms=1500\n", &[]);
    let mut idle = TcpStream::connect(&server.addr).unwrap();
    idle.write_all(&API_VERSIONS).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    raw::read_frame(&mut idle).expect("answered");
    let answered = Instant::now();
    // A byte every 400 ms: 5.6 s for the request, never 1.5 s quiet.
    let mut trickle = TcpStream::connect(&server.addr).unwrap();
    for b in API_VERSIONS {
        trickle.write_all(&[b]).unwrap();
        thread::sleep(Duration::from_millis(400));
    }
    trickle
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let f = raw::read_frame(&mut trickle).expect("the trickled request was answered");
    assert_eq!(raw::correlation(&f), 7);
    // The idle one was closed in the meantime.
    assert!(closed_by_broker(&mut idle, Duration::from_secs(1)));
    eprintln!(
        "checked {:?} after the idle connection's answer",
        answered.elapsed()
    );
    let log = std::fs::read_to_string(server.log_path()).unwrap();
    assert!(
        log.contains("connections.max.idle.ms"),
        "the broker did not say why it closed the connection"
    );
}
