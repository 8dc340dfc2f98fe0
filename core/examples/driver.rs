//! A whole Kafka broker in one file: spate-core's sans-I/O `Broker` driven
//! over `std::net` with plain threads, on logs kept in memory. Run it with
//! `cargo run -p spate-core --example driver -- 127.0.0.1:9092` and use any
//! Kafka client (`kcat -b 127.0.0.1:9092 -L`). Top to bottom: the storage,
//! the loop that owns the broker, the threads that cut TCP into frames.

// A driver does I/O, reads the clock and starts threads: core/clippy.toml
// forbids them to the core itself, not to the programs that drive it.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::collections::{BTreeMap, HashMap};
use std::io::{self, ErrorKind::NotFound, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use spate_core::broker::{Broker, Config, ConnId, Output, PeerInfo};
use spate_core::protocol::{ErrorCode, Uuid};
use spate_core::storage::{BatchMeta, Chunks, SegmentInfo, Storage, TopicPartition};

/// One partition's log: its batches in offset order, each its own segment.
#[derive(Default)]
struct Log {
    start: i64, // the first offset kept (retention and DeleteRecords raise it)
    end: i64,   // one past the last offset
    batches: Vec<(BatchMeta, Bytes)>,
}

/// Every log, in memory. Nothing outlives the process, so topic ids are
/// not kept and `flush`, `tick` and `close` keep their do-nothing defaults.
#[derive(Default)]
struct Logs(BTreeMap<TopicPartition, Log>);

impl Storage for Logs {
    type Error = io::Error;

    fn logs(&self) -> Vec<TopicPartition> {
        self.0.keys().cloned().collect()
    }
    fn create_log(&mut self, tp: &TopicPartition, _topic_id: Uuid) -> io::Result<()> {
        self.0.entry(tp.clone()).or_default(); // an existing log keeps its data
        Ok(())
    }
    fn delete_log(&mut self, tp: &TopicPartition) -> io::Result<()> {
        self.0.remove(tp);
        Ok(())
    }
    fn append(&mut self, tp: &TopicPartition, batch: Bytes, meta: BatchMeta) -> io::Result<()> {
        let log = self.0.get_mut(tp).ok_or(NotFound)?; // the core chose the offsets
        log.end = meta.last_offset + 1;
        log.batches.push((meta, batch));
        Ok(())
    }
    fn read(&self, tp: &TopicPartition, offset: i64, max_bytes: usize) -> io::Result<Chunks> {
        let log = self.0.get(tp).ok_or(NotFound)?;
        // Whole batches from the one holding `offset`: one, then more while they fit.
        let first = log.batches.partition_point(|(m, _)| m.last_offset < offset);
        let (mut out, mut total) = (Vec::new(), 0);
        for (_, batch) in &log.batches[first..] {
            if !out.is_empty() && total + batch.len() > max_bytes {
                break;
            }
            total += batch.len();
            out.push(batch.clone()); // a reference count, not a copy of the bytes
        }
        Ok(out)
    }
    fn start_offset(&self, tp: &TopicPartition) -> i64 {
        self.0.get(tp).map_or(0, |log| log.start)
    }
    fn end_offset(&self, tp: &TopicPartition) -> i64 {
        self.0.get(tp).map_or(0, |log| log.end)
    }
    fn offset_for_timestamp(&self, tp: &TopicPartition, ts: i64) -> io::Result<Option<i64>> {
        let log = self.0.get(tp).ok_or(NotFound)?;
        let found = log.batches.iter().find(|(m, _)| m.max_timestamp >= ts);
        Ok(found.map(|(m, _)| m.base_offset.max(log.start)))
    }
    fn delete_before(&mut self, tp: &TopicPartition, offset: i64) -> io::Result<()> {
        let log = self.0.get_mut(tp).ok_or(NotFound)?;
        log.batches.retain(|(m, _)| m.last_offset >= offset); // the one holding it stays
        log.start = log.start.max(offset.min(log.end));
        Ok(())
    }
    fn truncate_to(&mut self, tp: &TopicPartition, offset: i64) -> io::Result<()> {
        let log = self.0.get_mut(tp).ok_or(NotFound)?;
        if log.end > offset {
            log.batches.retain(|(m, _)| m.last_offset < offset); // a straddling batch goes whole
            let last_end = log.batches.last().map(|(m, _)| m.last_offset + 1);
            log.end = last_end.unwrap_or(offset).max(log.start).min(offset);
            log.start = log.start.min(offset);
        }
        Ok(())
    }
    fn truncate_fully_and_start_at(&mut self, tp: &TopicPartition, offset: i64) -> io::Result<()> {
        let log = self.0.get_mut(tp).ok_or(NotFound)?;
        *log = Log {
            start: offset,
            end: offset,
            batches: Vec::new(),
        };
        Ok(())
    }
    fn segments(&self, tp: &TopicPartition) -> Vec<SegmentInfo> {
        let Some(log) = self.0.get(tp) else {
            return Vec::new();
        };
        let segment = |(m, batch): &(BatchMeta, Bytes)| SegmentInfo {
            base_offset: m.base_offset.max(log.start), // the first starts at the log start
            next_offset: m.last_offset + 1,
            bytes: batch.len() as u64,
            max_timestamp: m.max_timestamp,
        };
        log.batches.iter().map(segment).collect()
    }
}

/// What the listener and reader threads tell the main thread, which owns the broker.
enum Input {
    Connect(ConnId, PeerInfo, TcpStream), // the stream: a clone to write responses to
    Frame(ConnId, Bytes),                 // one request, its size prefix removed
    Disconnect(ConnId),
}

/// Milliseconds since the Unix epoch: the broker's only clock, read here.
fn now() -> i64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH);
    since_epoch.map_or(0, |d| d.as_millis() as i64)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args().nth(1).unwrap_or("127.0.0.1:9092".into());
    let listener = TcpListener::bind(addr)?;
    let bound = listener.local_addr()?; // with port 0, the port the OS chose
    let config = Config {
        advertised_host: bound.ip().to_string(), // Metadata sends clients here
        advertised_port: i32::from(bound.port()),
        ..Config::default()
    };
    let mut broker = Broker::new(config, Logs::default(), now())?;
    println!("listening on {bound}");
    let (tx, inputs) = mpsc::channel();
    std::thread::spawn(move || accept(listener, tx));
    // The owner loop: the only code that touches the broker.
    let mut writers = HashMap::new();
    loop {
        // Sleep until the next input or the broker's next deadline.
        let wait = broker.poll_timeout().map_or(60_000, |at| at - now());
        let input = inputs.recv_timeout(Duration::from_millis(wait.max(0) as u64));
        let now = now();
        match input {
            Ok(Input::Connect(conn, peer, writer)) => {
                writers.insert(conn, writer);
                broker.handle_connect(conn, peer, now);
            }
            Ok(Input::Frame(conn, frame)) => broker.handle_request(conn, frame, now),
            Ok(Input::Disconnect(conn)) => {
                writers.remove(&conn);
                broker.handle_disconnect(conn, now);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        }
        // Deadlines due (parked fetches, group timers, retention), also when
        // inputs keep coming and recv_timeout never runs out.
        if broker.poll_timeout().is_some_and(|at| at <= now) {
            broker.handle_timeout(now);
        }
        // Durability is the driver's choice: to promise it, flush before any
        // response leaves (these logs in memory have nothing to flush).
        broker.storage_mut().flush()?;
        // The drain rule: every output, before waiting again. Blocking writes
        // keep this short, but a slow client stalls everyone (native/src/serve
        // writes from a task per connection).
        while let Some(output) = broker.poll_output() {
            match output {
                Output::Response { conn, chunks } => {
                    if let Some(mut stream) = writers.get(&conn) {
                        // A write fails when the client is gone: its reader reports it.
                        let _ = chunks.iter().try_for_each(|c| stream.write_all(c));
                    }
                }
                Output::Close { conn, reason } => {
                    eprintln!("closing connection {conn}: {reason}");
                    if let Some(stream) = writers.remove(&conn) {
                        let _ = stream.shutdown(Shutdown::Both);
                    }
                }
                // Only a broker in a ZooKeeper cluster follows leaders; this
                // one runs alone.
                Output::Replica { .. } | Output::TxnMarkers { .. } => {}
                // Only a broker in ZooKeeper mode (`Config::zk_mode`) asks its
                // driver to write topics to ZooKeeper; this one has no
                // ZooKeeper, so the topics fail instead of waiting forever.
                Output::CreateTopics { request, topics } => {
                    let failed = topics
                        .into_iter()
                        .map(|t| (t.name, Err(ErrorCode::UNKNOWN_SERVER_ERROR)))
                        .collect();
                    broker.handle_topics_created(request, failed, now);
                }
                // Nothing else comes to a broker outside a cluster.
                _ => {}
            }
        }
    }
}

/// The listener thread: numbers connections and starts a reader for each.
fn accept(listener: TcpListener, owner: Sender<Input>) {
    for (conn, stream) in (1..).zip(listener.incoming().flatten()) {
        let (Ok(writer), Ok(peer)) = (stream.try_clone(), stream.peer_addr()) else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let addr = peer.to_string();
        // Sent before the reader starts: the owner hears of a connection first.
        let _ = owner.send(Input::Connect(
            conn,
            PeerInfo {
                addr,
                ..PeerInfo::default()
            },
            writer,
        ));
        let owner = owner.clone();
        std::thread::spawn(move || {
            let _ = read_frames(conn, stream, &owner); // until the stream ends
            let _ = owner.send(Input::Disconnect(conn));
        });
    }
}

/// A reader thread: a 4-byte big-endian size, then a frame that long; again.
fn read_frames(conn: ConnId, mut stream: TcpStream, owner: &Sender<Input>) -> io::Result<()> {
    loop {
        let mut size = [0; 4];
        stream.read_exact(&mut size)?;
        let size = u32::from_be_bytes(size) as usize;
        if size > 100 << 20 {
            return Err(io::ErrorKind::InvalidData.into()); // Kafka's socket.request.max.bytes
        }
        let mut frame = vec![0; size];
        stream.read_exact(&mut frame)?;
        owner
            .send(Input::Frame(conn, frame.into()))
            .map_err(io::Error::other)?;
    }
}
