//! What Spate's fuzz targets share: the byte formats of the inputs that are
//! more than one frame (a broker session, a log directory, a record set with
//! its append context), each with the encoder `examples/seeds.rs` writes the
//! seed corpora with, and native's file storage compiled from its source.
//!
//! Every format reads any byte string: a short or odd input ends the steps
//! early, it is never rejected, so libFuzzer's mutations always reach the
//! code under test.

use arbitrary::{Arbitrary, Unstructured};
use bytes::Bytes;
use spate_core::records::{AppendContext, Compression, CompressionTarget, TimestampType};

/// Native's `FileStorage` (`native/src/storage`), built from the same
/// source files: depending on the whole `spate` crate would put tokio,
/// axum, rustls and the ZooKeeper client into every instrumented build
/// for nothing. The module only needs spate-core and std.
#[path = "../../native/src/storage/mod.rs"]
#[allow(dead_code, unused_imports)]
pub mod storage;

/// Reads the formats below: bytes, little-endian integers, and a length
/// prefixed slice, each cut short (not refused) at the end of the input.
#[derive(Debug)]
pub struct Cursor<'a> {
    data: &'a [u8],
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Cursor { data }
    }

    /// True once every byte was read.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The next byte, 0 past the end.
    pub fn u8(&mut self) -> u8 {
        let (first, rest) = self
            .data
            .split_first()
            .map_or((0, &[][..]), |(f, r)| (*f, r));
        self.data = rest;
        first
    }

    /// The next two bytes, little-endian.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    /// The next four bytes, little-endian.
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    /// A u16 length, then that many bytes (fewer at the end of the input).
    pub fn slice(&mut self) -> &'a [u8] {
        let n = usize::from(self.u16()).min(self.data.len());
        let (s, rest) = self.data.split_at(n);
        self.data = rest;
        s
    }
}

/// Appends a u16 length and `bytes` (at most 65,535 of them), as
/// [`Cursor::slice`] reads them.
pub fn put_slice(out: &mut Vec<u8>, bytes: &[u8]) {
    let n = bytes.len().min(usize::from(u16::MAX));
    out.extend_from_slice(&(n as u16).to_le_bytes());
    out.extend_from_slice(&bytes[..n]);
}

/// Connections a broker session uses (ids 0 to 3).
pub const CONNS: u8 = 4;

/// One step of a broker session (the `broker` target).
///
/// # Format
///
/// ```text
/// op % 6 = 0  frame        conn:u8  len:u16le  bytes      a request frame, no size prefix
///          1  connect      conn:u8
///          2  disconnect   conn:u8
///          3  advance      ms:u32le                       the clock jumps forward
///          4  timeout                                     to the broker's next deadline
///          5  example      conn:u8 key:u8 version:u8 variant:u8 seed:u8
///                                                         spate-core's example request
/// ```
///
/// `conn` is taken modulo [`CONNS`], `key` indexes `ApiKey::ALL`, and
/// `version` counts down from the API's highest version (0: the highest), wrapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A request frame (without its size prefix) on a connection.
    Frame(u8, Bytes),
    /// A connection opens.
    Connect(u8),
    /// A connection closes.
    Disconnect(u8),
    /// Time passes.
    Advance(u32),
    /// Time passes until the broker's next timer (none: nothing happens).
    Timeout,
    /// An example request of spate-core's generator.
    Example {
        /// The connection.
        conn: u8,
        /// Index into `ApiKey::ALL`.
        key: u8,
        /// Version, wrapped into the API's range.
        version: u8,
        /// 0 full, 1 sparse, 2 mixed (modulo 3).
        variant: u8,
        /// The generator's seed.
        seed: u8,
    },
}

impl Step {
    /// Reads steps until the input ends.
    pub fn parse_all(data: &[u8]) -> Vec<Step> {
        let mut c = Cursor::new(data);
        let mut steps = Vec::new();
        while !c.is_empty() {
            steps.push(match c.u8() % 6 {
                0 => {
                    let conn = c.u8() % CONNS;
                    Step::Frame(conn, Bytes::copy_from_slice(c.slice()))
                }
                1 => Step::Connect(c.u8() % CONNS),
                2 => Step::Disconnect(c.u8() % CONNS),
                3 => Step::Advance(c.u32()),
                4 => Step::Timeout,
                _ => Step::Example {
                    conn: c.u8() % CONNS,
                    key: c.u8(),
                    version: c.u8(),
                    variant: c.u8(),
                    seed: c.u8(),
                },
            });
        }
        steps
    }

    /// Appends the step in the format [`Step::parse_all`] reads.
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            Step::Frame(conn, bytes) => {
                out.extend_from_slice(&[0, *conn]);
                put_slice(out, bytes);
            }
            Step::Connect(conn) => out.extend_from_slice(&[1, *conn]),
            Step::Disconnect(conn) => out.extend_from_slice(&[2, *conn]),
            Step::Advance(ms) => {
                out.push(3);
                out.extend_from_slice(&ms.to_le_bytes());
            }
            Step::Timeout => out.push(4),
            Step::Example {
                conn,
                key,
                version,
                variant,
                seed,
            } => out.extend_from_slice(&[5, *conn, *key, *version, *variant, *seed]),
        }
    }
}

/// The files a log directory input may hold (the `storage` target), the
/// paths relative to the log directory. Two partitions of topic `t`, two
/// segments of `t-0`, and the leftovers of an interrupted compaction swap.
pub const STORAGE_FILES: &[&str] = &[
    "meta.properties",
    "log-start-offset-checkpoint",
    "recovery-point-offset-checkpoint",
    "cleaner-offset-checkpoint",
    "t-0/partition.metadata",
    "t-0/00000000000000000000.log",
    "t-0/00000000000000000000.index",
    "t-0/00000000000000000000.timeindex",
    "t-0/00000000000000000000.txnindex",
    "t-0/00000000000000000010.log",
    "t-0/00000000000000000010.index",
    "t-0/00000000000000000010.timeindex",
    "t-0/00000000000000000010.txnindex",
    "t-0/00000000000000000000.log.cleaned",
    "t-0/00000000000000000000.log.swap",
    "t-0/00000000000000000000.index.swap",
    "t-0/00000000000000000010.log.deleted",
    "t-1/partition.metadata",
    "t-1/00000000000000000000.log",
    "t-1/00000000000000000000.index",
    "t-1/00000000000000000000.timeindex",
    "t-1/00000000000000000000.txnindex",
];

/// A log directory as the `storage` target writes it before opening it.
///
/// # Format
///
/// ```text
/// flags:u8                  bit 0: the clean shutdown marker is present
/// { file:u8 len:u16le bytes }*   appended to STORAGE_FILES[file % len]
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogDirInput {
    /// `.kafka_cleanshutdown` exists.
    pub clean: bool,
    /// (index into [`STORAGE_FILES`], bytes appended to it), in order.
    pub writes: Vec<(u8, Vec<u8>)>,
}

impl LogDirInput {
    /// Reads the format above.
    pub fn parse(data: &[u8]) -> LogDirInput {
        let mut c = Cursor::new(data);
        let clean = c.u8() & 1 == 1;
        let mut writes = Vec::new();
        while !c.is_empty() {
            let file = c.u8() % STORAGE_FILES.len() as u8;
            writes.push((file, c.slice().to_vec()));
        }
        LogDirInput { clean, writes }
    }

    /// Writes the format above.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![u8::from(self.clean)];
        for (file, bytes) in &self.writes {
            for chunk in bytes.chunks(usize::from(u16::MAX)) {
                out.push(*file);
                put_slice(&mut out, chunk);
            }
        }
        out
    }
}

/// Bytes of [`AppendInput`]'s context before the record set.
pub const APPEND_CONTEXT_LEN: usize = 24;

/// The context a Produce's record set is validated under (the `records`
/// target): the first [`APPEND_CONTEXT_LEN`] bytes of the input, read with
/// `arbitrary` (all zeros: offset 0, Produce v3, CreateTime, producer
/// compression, no bounds); the rest is the record set.
#[derive(Debug, Clone, Arbitrary)]
pub struct AppendInput {
    next_offset: u32,
    leader_epoch: u16,
    now_ms: u32,
    log_append_time: bool,
    max_message_bytes: u16,
    produce_version: u8,
    compression: u8,
    timestamp_bounds: Option<(u16, u16)>,
    compacted: bool,
    max_decompressed_kib: u8,
}

impl AppendInput {
    /// The context and the record set of an input.
    pub fn parse(data: &[u8]) -> (AppendContext, Bytes) {
        let (head, set) = data.split_at(data.len().min(APPEND_CONTEXT_LEN));
        let mut u = Unstructured::new(head);
        let a = AppendInput::arbitrary(&mut u).unwrap_or_else(|_| AppendInput::zero());
        (a.context(), Bytes::copy_from_slice(set))
    }

    fn zero() -> AppendInput {
        AppendInput {
            next_offset: 0,
            leader_epoch: 0,
            now_ms: 0,
            log_append_time: false,
            max_message_bytes: 0,
            produce_version: 0,
            compression: 0,
            timestamp_bounds: None,
            compacted: false,
            max_decompressed_kib: 0,
        }
    }

    fn context(&self) -> AppendContext {
        let d = AppendContext::default();
        let (before, after) = self
            .timestamp_bounds
            .map_or((i64::MAX, i64::MAX), |(b, a)| (i64::from(b), i64::from(a)));
        AppendContext {
            next_offset: i64::from(self.next_offset),
            leader_epoch: i32::from(self.leader_epoch),
            now_ms: 1_700_000_000_000 + i64::from(self.now_ms),
            timestamp_type: if self.log_append_time {
                TimestampType::LogAppendTime
            } else {
                TimestampType::CreateTime
            },
            // 0 is Kafka's default; otherwise small limits, to reach the
            // RECORD_TOO_LARGE paths.
            max_message_bytes: match self.max_message_bytes {
                0 => d.max_message_bytes,
                n => usize::from(n),
            },
            produce_version: 3 + i16::from(self.produce_version % 11),
            compression: match self.compression % 6 {
                0 => CompressionTarget::Producer,
                n => CompressionTarget::Codec(
                    Compression::from_id(n - 1).unwrap_or(Compression::None),
                ),
            },
            timestamp_before_max_ms: before,
            timestamp_after_max_ms: after,
            compacted: self.compacted,
            max_decompressed_bytes: match self.max_decompressed_kib {
                0 => d.max_decompressed_bytes,
                n => usize::from(n) << 10,
            },
        }
    }
}
