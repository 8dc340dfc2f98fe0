//! A log directory that fills up mid-produce, on a real 8 MiB tmpfs the
//! test mounts (it needs root: `mount -t tmpfs`; without the permission
//! it fails and says so). The producer gets KAFKA_STORAGE_ERROR (56) for
//! the appends that do not fit, every acknowledged record reads back, the
//! broker keeps answering reads, appends work again as soon as space
//! returns (no restart), and a restart after `kill -9` loses nothing
//! acknowledged.

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use spate_e2e::raw;
use spate_e2e::{Server, TempDir};

const TOPIC: &str = "fills-up";
const KAFKA_STORAGE_ERROR: i16 = 56;

/// A tmpfs of `size` mounted on a fresh directory, unmounted when dropped.
struct Tmpfs {
    dir: PathBuf,
    _parent: TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        let parent = TempDir::new("tmpfs");
        let dir = parent.0.join("mnt");
        std::fs::create_dir_all(&dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .output()
            .expect("running mount");
        assert!(
            out.status.success(),
            "this test mounts a small tmpfs to fill it up and needs root (CAP_SYS_ADMIN): \
             `mount -t tmpfs -o size={size} tmpfs {}` failed: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Tmpfs {
            dir,
            _parent: parent,
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// Produces one batch of 100 values of 1,000 bytes tagged `n`: the
/// partition's error code and base offset.
fn produce(s: &mut TcpStream, n: i32) -> (i16, i64) {
    let values: Vec<Bytes> = (0..100)
        .map(|i| Bytes::from(format!("{n:06}-{i:03}-{}", "x".repeat(989))))
        .collect();
    s.write_all(&raw::produce(TOPIC, 0, &values, -1, n))
        .unwrap();
    let f = raw::read_frame(s).expect("a Produce answer");
    assert_eq!(raw::correlation(&f), n);
    raw::produced(&f)
}

/// Every record of the partition, fetched from offset 0.
fn read_all(addr: &str) -> Vec<(i64, Bytes)> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut out: Vec<(i64, Bytes)> = Vec::new();
    for corr in 0.. {
        let next = out.last().map_or(0, |(o, _)| o + 1);
        s.write_all(&raw::fetch(TOPIC, 0, next, 1 << 20, corr))
            .unwrap();
        let (err, hw, records) = raw::fetched(&raw::read_frame(&mut s).unwrap());
        assert_eq!(err, 0, "fetching at {next}");
        out.extend(records.into_iter().filter(|(o, _)| *o >= next));
        if out.last().map_or(0, |(o, _)| o + 1) >= hw {
            break;
        }
    }
    out
}

/// Checks that every acknowledged batch (tag, base offset) is in `log`,
/// whole and where it was acknowledged.
fn all_acknowledged_present(log: &[(i64, Bytes)], acked: &[(i32, i64)]) {
    for &(n, base) in acked {
        for i in 0..100 {
            let (o, v) = &log[(base + i) as usize];
            assert_eq!(*o, base + i);
            assert!(
                v.starts_with(format!("{n:06}-{i:03}-").as_bytes()),
                "offset {o} holds {:?}, not batch {n}'s record {i}",
                String::from_utf8_lossy(&v[..11.min(v.len())])
            );
        }
    }
}

fn used(dir: &Path) -> String {
    let out = Command::new("df").arg("-k").arg(dir).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_full_log_directory_fails_appends_with_storage_error_and_loses_nothing_acknowledged() {
    let fs = Tmpfs::mount("8m");
    // Room to give back later.
    let ballast = fs.dir.join("ballast");
    std::fs::write(&ballast, vec![0u8; 2 << 20]).unwrap();
    let data = fs.dir.join("data");
    let server = Server::start_in(&data, &[]);
    raw::create_topic(&server.addr, TOPIC);
    let mut s = TcpStream::connect(&server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();

    // Fill it: 100 KB a batch until an append does not fit.
    let mut acked = Vec::new();
    let mut n = 0;
    let refused = loop {
        n += 1;
        assert!(n < 200, "8 MiB never filled up");
        match produce(&mut s, n) {
            (0, base) => acked.push((n, base)),
            (err, _) => break err,
        }
    };
    eprintln!(
        "{} batches acknowledged, then error {refused}; df: {}",
        acked.len(),
        used(&fs.dir)
    );
    assert_eq!(refused, KAFKA_STORAGE_ERROR, "the error for a full disk");
    assert!(acked.len() > 10, "only {} batches fitted", acked.len());
    // Still full: refused again, on the same connection.
    n += 1;
    assert_eq!(produce(&mut s, n).0, KAFKA_STORAGE_ERROR);

    // Reads go on, and hold everything acknowledged, nothing else.
    let log = read_all(&server.addr);
    assert_eq!(log.len(), acked.len() * 100, "records in the log");
    all_acknowledged_present(&log, &acked);

    // Space returns: appends work again without a restart.
    std::fs::remove_file(&ballast).unwrap();
    for _ in 0..5 {
        n += 1;
        let (err, base) = produce(&mut s, n);
        assert_eq!(err, 0, "producing once there is room again");
        acked.push((n, base));
    }
    let log = read_all(&server.addr);
    assert_eq!(log.len(), acked.len() * 100);
    all_acknowledged_present(&log, &acked);

    // Full again, then a crash: the restart keeps every acknowledged batch.
    loop {
        n += 1;
        assert!(n < 400, "8 MiB never filled up again");
        match produce(&mut s, n) {
            (0, base) => acked.push((n, base)),
            (err, _) => {
                assert_eq!(err, KAFKA_STORAGE_ERROR);
                break;
            }
        }
    }
    drop(s);
    server.kill9();
    let server = Server::start_in(&data, &[]);
    let log = read_all(&server.addr);
    assert_eq!(log.len(), acked.len() * 100, "records after the restart");
    all_acknowledged_present(&log, &acked);
    eprintln!(
        "{} batches acknowledged in all, all read back after kill -9",
        acked.len()
    );
}
