//! A load test: 1,000 client connections open at once, each producing
//! (acks=all) and fetching back what it produced, round after round, for
//! the hold time; every record acknowledged is read back at the end, and
//! the broker's resident memory and open file descriptors are reported.
//!
//! CI holds the connections 10 s; `scripts/many-connections` holds them a
//! minute (`SPATE_MANY_SECS`, and `SPATE_MANY_CONNS` for the count). Each
//! client is a thread with a small stack on a blocking socket. The test
//! process and the broker it starts need about one descriptor per
//! connection each: when the soft `RLIMIT_NOFILE` is below what the count
//! needs, the test raises its own (inherited by the broker) with
//! `prlimit --pid SELF --nofile=N:` up to the hard limit, and fails with a
//! clear message when the hard limit is too low (`ulimit -Hn`).

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpStream;
use std::process::Command;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use spate_e2e::raw;
use spate_e2e::Server;

const TOPIC: &str = "many";
const PARTITIONS: i32 = 8;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// (soft, hard) `RLIMIT_NOFILE` of this process.
fn nofile() -> (u64, u64) {
    let limits = std::fs::read_to_string("/proc/self/limits").expect("/proc/self/limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("a Max open files line");
    let mut nums = line.split_whitespace().filter_map(|w| {
        w.parse::<u64>()
            .ok()
            .or((w == "unlimited").then_some(u64::MAX))
    });
    (nums.next().unwrap_or(0), nums.next().unwrap_or(0))
}

/// Makes room for `need` descriptors, or fails saying how.
fn raise_nofile(need: u64) {
    let (soft, hard) = nofile();
    if soft >= need {
        return;
    }
    assert!(
        hard >= need,
        "{need} open files needed, the hard limit is {hard}: raise it (ulimit -Hn {need} as root)"
    );
    let pid = std::process::id().to_string();
    let ok = Command::new("prlimit")
        .args(["--pid", &pid, &format!("--nofile={need}:")])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok && nofile().0 >= need,
        "raising RLIMIT_NOFILE to {need} with prlimit failed"
    );
}

/// One client: `rounds` of produce (acks=all) then fetch of what it just
/// produced, one a second. Returns its acknowledged (partition, offset,
/// value) records.
fn client(addr: &str, id: u64, hold: Duration, start: &Barrier) -> Vec<(i32, i64, Bytes)> {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("client {id} connecting: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    start.wait();
    let partition = (id % PARTITIONS as u64) as i32;
    let mut acked = Vec::new();
    let began = Instant::now();
    let mut round = 0;
    while round == 0 || began.elapsed() < hold {
        let values: Vec<Bytes> = (0..5)
            .map(|i| Bytes::from(format!("c{id}-r{round}-{i}")))
            .collect();
        let corr = round * 2;
        s.write_all(&raw::produce(TOPIC, partition, &values, -1, corr))
            .unwrap();
        let f = raw::read_frame(&mut s).unwrap_or_else(|e| panic!("client {id} produce: {e}"));
        assert_eq!(raw::correlation(&f), corr);
        let (err, base) = raw::produced(&f);
        assert_eq!(err, 0, "client {id} round {round}: produce error");
        s.write_all(&raw::fetch(TOPIC, partition, base, 64 << 10, corr + 1))
            .unwrap();
        let f = raw::read_frame(&mut s).unwrap_or_else(|e| panic!("client {id} fetch: {e}"));
        let (err, _, records) = raw::fetched(&f);
        assert_eq!(err, 0, "client {id} round {round}: fetch error");
        for (i, v) in values.iter().enumerate() {
            let at = base + i as i64;
            let got = records.iter().find(|(o, _)| *o == at).map(|(_, v)| v);
            assert_eq!(got, Some(v), "client {id} fetching back offset {at}");
            acked.push((partition, at, v.clone()));
        }
        round += 1;
        thread::sleep(Duration::from_millis(1000));
    }
    acked
}

/// Every record of a partition.
fn read_partition(addr: &str, partition: i32) -> BTreeMap<i64, Bytes> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut out = BTreeMap::new();
    let mut next = 0;
    for corr in 0.. {
        s.write_all(&raw::fetch(TOPIC, partition, next, 1 << 20, corr))
            .unwrap();
        let (err, hw, records) = raw::fetched(&raw::read_frame(&mut s).unwrap());
        assert_eq!(err, 0);
        for (o, v) in records {
            if o >= next {
                out.insert(o, v);
            }
        }
        next = out.keys().next_back().map_or(0, |o| o + 1);
        if next >= hw {
            break;
        }
    }
    out
}

#[test]
fn a_thousand_connections_produce_and_fetch_and_every_record_reads_back() {
    let conns = env("SPATE_MANY_CONNS", 1000);
    let hold = Duration::from_secs(env("SPATE_MANY_SECS", 10));
    raise_nofile(conns * 2 + 256);
    let server = Server::start_with_properties(&format!("num.partitions={PARTITIONS}\n"), &[]);
    let pid = server.pid();
    raw::create_topic(&server.addr, TOPIC);
    let (rss0, fds0) = raw::rss_and_fds(pid);
    let start = Arc::new(Barrier::new(conns as usize + 1));
    let mut clients = Vec::new();
    for id in 0..conns {
        let (addr, start) = (server.addr.clone(), start.clone());
        clients.push(
            thread::Builder::new()
                .stack_size(256 << 10)
                .spawn(move || client(&addr, id, hold, &start))
                .expect("a client thread"),
        );
    }
    // Every connection is open once all are past the barrier.
    start.wait();
    let began = Instant::now();
    let (mut rss_max, mut fds_max) = (rss0, fds0);
    while began.elapsed() < hold {
        let (rss, fds) = raw::rss_and_fds(pid);
        rss_max = rss_max.max(rss);
        fds_max = fds_max.max(fds);
        thread::sleep(Duration::from_millis(500));
    }
    let mut acked = Vec::new();
    for c in clients {
        acked.extend(c.join().expect("a client failed"));
    }
    let took = began.elapsed();
    let (rss1, fds1) = raw::rss_and_fds(pid);
    eprintln!(
        "{conns} connections held {took:.1?}: {} records acknowledged and fetched back; \
         broker RSS {rss0} KiB idle, {rss_max} KiB at most, {rss1} KiB after; \
         open fds {fds0} idle, {fds_max} at most, {fds1} after",
        acked.len()
    );
    assert!(
        fds_max as u64 >= conns,
        "the broker never had {conns} connections open at once ({fds_max} fds at most)"
    );
    // Every acknowledged record is in the log, where it was acknowledged.
    let logs: Vec<_> = (0..PARTITIONS)
        .map(|p| read_partition(&server.addr, p))
        .collect();
    for (p, at, v) in &acked {
        assert_eq!(
            logs[*p as usize].get(at),
            Some(v),
            "partition {p} offset {at}"
        );
    }
    let total: usize = logs.iter().map(BTreeMap::len).sum();
    assert_eq!(
        total,
        acked.len(),
        "records in the log besides the acknowledged ones"
    );
}
