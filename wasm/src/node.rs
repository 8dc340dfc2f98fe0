//! [`Server`]: the broker for a JavaScript host that owns the sockets,
//! such as the `spate-broker` npm package's driver on `node:net`.
//!
//! The host frames the bytes (a Kafka frame is a 4-byte big-endian size,
//! then that many bytes) and tells the broker what happened; the broker
//! answers through [`Server::poll_output`]. Storage is memory: it is the
//! playground's [`IdbStorage`] (a `MemStorage` that journals its changes);
//! one `Broker` type in the module instead of two keeps the `.wasm`
//! small. Without a directory the journal is dropped after every input.
//!
//! # A directory
//!
//! A host that keeps the logs in files (the npm package's `dir` option,
//! `js/dir.cjs`) reads every segment file back into a [`Logs`] (which
//! checks the batches and says where a torn tail starts), starts the
//! [`Server`] over it, and after every input takes the changes with
//! [`Server::take_journal`] and writes them before it sends the answers.
//!
//! # How to drive it
//!
//! As every Spate driver (see `spate_core::broker`): after each
//! `connect`, `request`, `disconnect` or `handleTimeout`, call
//! `pollOutput` until it returns `undefined`, writing each response to its
//! socket and ending each socket it closes; then arm one timer for
//! `pollTimeout` (milliseconds since the epoch) and call `handleTimeout`
//! when it fires. Connection ids are the host's to choose, each used once.
//!
//! Outputs that only a broker in a ZooKeeper cluster gives never come
//! here: [`Server`] is always a single broker that is its own controller.
//!
//! # Faults and observation
//!
//! The core's faults (`spate_core::broker`'s faults module) are methods
//! here that forward to the broker: [`Server::inject_error`],
//! [`Server::fail_appends`], [`Server::clear_faults`], and
//! [`Server::observe`] with [`Server::poll_observed`] to drain what was
//! seen. Delays, dropped connections and a virtual clock are the host's:
//! it owns the sockets and decides what `now` each call is given (a
//! virtual clock is a `now` that moves only when the test says).

use std::collections::BTreeMap;

use bytes::Bytes;
use js_sys::{Array, Object, Reflect, Uint8Array};
use spate_core::broker::{Broker, Config, ConnId, ErrorFault, Output, PeerInfo};
use spate_core::records::{BatchInfo, BatchView};
use spate_core::storage::{BatchMeta, MemStorage, TopicPartition};
use wasm_bindgen::prelude::*;

use crate::idb::{IdbStorage, Journal, Op};
use crate::{error, to_js};

/// A single broker over memory, driven by the host's sockets and timers.
#[wasm_bindgen]
pub struct Server {
    broker: Broker<IdbStorage>,
    /// The host writes the journal ([`Server::take_journal`]).
    keep: bool,
}

/// One log read back: its batches, its end, its checkpointed start.
#[derive(Default)]
struct Read {
    batches: Vec<(BatchMeta, Bytes)>,
    first: Option<i64>,
    end: i64,
    start: Option<i64>,
}

/// Logs read back from a directory's segment files, for [`Server::new`].
#[wasm_bindgen]
#[derive(Default)]
pub struct Logs {
    logs: BTreeMap<TopicPartition, Read>,
}

#[wasm_bindgen]
impl Logs {
    /// No logs yet.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Logs {
        Logs::default()
    }

    /// Adds the segment file `<base>.log` of `topic`-`partition` (a log's
    /// segments in order, an empty file for an empty log). Returns how
    /// many of its bytes hold whole batches that follow on from the ones
    /// before (their CRCs checked too when `check`, after an unclean
    /// stop): the host cuts the file there and drops the segments after
    /// it, as `spate serve`'s recovery does.
    pub fn segment(
        &mut self,
        topic: String,
        partition: i32,
        base: f64,
        bytes: Vec<u8>,
        check: bool,
    ) -> f64 {
        let base = base as i64;
        let log = self
            .logs
            .entry(TopicPartition::new(topic, partition))
            .or_default();
        log.first.get_or_insert(base);
        let bytes = Bytes::from(bytes);
        let (mut pos, mut expect) = (0, log.end.max(base));
        while let Ok(info) = BatchInfo::peek(&bytes[pos..]) {
            let b = &bytes[pos..];
            let whole = info.size <= b.len()
                && info.base_offset >= expect
                && info.last_offset >= info.base_offset;
            let crc_ok = || {
                info.magic != 2
                    || BatchView::parse(&b[..info.size], 0).is_ok_and(|v| v.size == info.size)
            };
            if !whole || (check && !crc_ok()) {
                break;
            }
            let max_timestamp = match info.magic {
                2 => i64::from_be_bytes(b[35..43].try_into().unwrap_or_default()),
                _ => -1,
            };
            let meta = BatchMeta {
                base_offset: info.base_offset,
                last_offset: info.last_offset,
                max_timestamp,
            };
            log.batches.push((meta, bytes.slice(pos..pos + info.size)));
            expect = info.last_offset + 1;
            pos += info.size;
        }
        log.end = expect;
        pos as f64
    }

    /// The log start offset the directory's `log-start-offset-checkpoint`
    /// names for `topic`-`partition`.
    pub fn start(&mut self, topic: String, partition: i32, start: f64) {
        let log = self
            .logs
            .entry(TopicPartition::new(topic, partition))
            .or_default();
        log.start = Some(start as i64);
    }

    /// Into memory: each log starts at its checkpoint (not below its
    /// first segment, not past its end), as `spate serve` opens it.
    fn into_mem(self) -> MemStorage {
        let mut mem = MemStorage::new();
        for (tp, log) in self.logs {
            let Some(first) = log.first else { continue };
            let start = log.start.unwrap_or(first).max(first).min(log.end);
            let kept = log
                .batches
                .into_iter()
                .filter(|(m, _)| m.last_offset >= start);
            mem.restore(tp, start, log.end, kept);
        }
        mem
    }
}

fn set(o: &Object, k: &str, v: JsValue) {
    let _ = Reflect::set(o, &k.into(), &v);
}

/// A change as the host writes it: `{op, topic, partition, ...}`.
fn op_js(op: Op) -> Object {
    let o = Object::new();
    let (name, tp) = match op {
        Op::Create(tp, id) => {
            set(&o, "topicId", id.to_string().into());
            ("create", tp)
        }
        Op::Append(tp, meta, bytes) => {
            set(&o, "base", (meta.base_offset as f64).into());
            set(&o, "last", (meta.last_offset as f64).into());
            set(&o, "maxTs", (meta.max_timestamp as f64).into());
            set(&o, "bytes", Uint8Array::from(&bytes[..]).into());
            ("append", tp)
        }
        Op::DeleteBelow(tp, _) => ("deleteBelow", tp),
        Op::DeleteLog(tp) => ("deleteLog", tp),
        Op::TruncateFrom(tp, i64::MIN) => ("truncateAll", tp),
        Op::TruncateFrom(tp, offset) => {
            set(&o, "offset", (offset as f64).into());
            ("truncate", tp)
        }
        Op::Replace(tp, from, to, batches) => {
            set(&o, "from", (from as f64).into());
            set(&o, "to", (to as f64).into());
            let list = Array::new();
            for (bytes, meta) in batches {
                list.push(&Array::of2(
                    &(meta.base_offset as f64).into(),
                    &Uint8Array::from(&bytes[..]),
                ));
            }
            set(&o, "batches", list.into());
            ("replace", tp)
        }
    };
    set(&o, "op", name.into());
    set(&o, "topic", tp.topic.as_str().into());
    set(&o, "partition", tp.partition.into());
    o
}

fn journal_js(journal: Journal) -> JsValue {
    let ops: Array = journal.ops.into_iter().map(op_js).collect();
    let logs: Array = journal
        .logs
        .into_iter()
        .map(|(tp, state)| {
            let o = Object::new();
            set(&o, "topic", tp.topic.as_str().into());
            set(&o, "partition", tp.partition.into());
            if let Some((start, end)) = state {
                set(&o, "start", (start as f64).into());
                set(&o, "end", (end as f64).into());
            }
            o
        })
        .collect();
    let o = Object::new();
    set(&o, "ops", ops.into());
    set(&o, "logs", logs.into());
    o.into()
}

/// Reads `options[key]` as a number, if present.
fn number(options: &JsValue, key: &str) -> Result<Option<f64>, JsValue> {
    let v = Reflect::get(options, &key.into())?;
    if v.is_undefined() {
        return Ok(None);
    }
    v.as_f64()
        .map(Some)
        .ok_or_else(|| error(&format!("{key} must be a number")))
}

#[wasm_bindgen]
impl Server {
    /// A broker advertising `{host, port}` to its clients, with the
    /// options `{autoCreate, defaultPartitions,
    /// groupInitialRebalanceDelayMs, seed, now}` (`now`: milliseconds
    /// since the epoch; `seed`: the ids' randomness, a fresh one per
    /// broker), and for a broker over a directory `{clusterId, logDir}`
    /// with the `logs` read from it: its changes are then kept for
    /// [`Server::take_journal`]. The host checks option names; this
    /// checks their values.
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue, logs: Option<Logs>) -> Result<Server, JsValue> {
        if !options.is_object() {
            return Err(error("options must be an object"));
        }
        let mut config = Config::default();
        let host = Reflect::get(&options, &"host".into())?;
        config.advertised_host = host
            .as_string()
            .ok_or_else(|| error("host must be a string"))?;
        let port = number(&options, "port")?.ok_or_else(|| error("port is required"))?;
        if !(1.0..=65535.0).contains(&port) || port.fract() != 0.0 {
            return Err(error(&format!("port must be 1 to 65535, not {port}")));
        }
        config.advertised_port = port as i32;
        let auto = Reflect::get(&options, &"autoCreate".into())?;
        if !auto.is_undefined() {
            config.auto_create_topics = auto
                .as_bool()
                .ok_or_else(|| error("autoCreate must be a boolean"))?;
        }
        if let Some(n) = number(&options, "defaultPartitions")? {
            if !(1.0..=i32::MAX as f64).contains(&n) || n.fract() != 0.0 {
                return Err(error(&format!(
                    "defaultPartitions must be a positive integer, not {n}"
                )));
            }
            config.default_partitions = n as i32;
        }
        if let Some(ms) = number(&options, "groupInitialRebalanceDelayMs")? {
            if ms.is_nan() || ms < 0.0 {
                return Err(error("groupInitialRebalanceDelayMs must be 0 or more"));
            }
            config.groups.initial_rebalance_delay_ms = ms as i64;
        }
        if let Some(seed) = number(&options, "seed")? {
            config.seed = seed as u64;
        }
        for (key, field) in [
            ("clusterId", &mut config.cluster_id),
            ("logDir", &mut config.log_dir),
        ] {
            if let Some(v) = Reflect::get(&options, &key.into())?.as_string() {
                *field = v;
            }
        }
        let now = number(&options, "now")?.ok_or_else(|| error("now is required"))? as i64;
        let keep = logs.is_some();
        let storage = IdbStorage::from_mem(logs.map(Logs::into_mem).unwrap_or_default());
        let mut server = Server {
            broker: Broker::new(config, storage, now)
                .map_err(|e| error(&format!("the broker could not start: {e}")))?,
            keep,
        };
        server.forget();
        Ok(server)
    }

    /// Drops the journal unless the host writes it.
    fn forget(&mut self) {
        if !self.keep {
            self.broker.storage_mut().forget();
        }
    }

    /// The changes to the logs since the last call, `undefined` if none:
    /// `{ops, logs}`, `ops` each `{op, topic, partition, ...}` (`create`
    /// with `topicId`; `append` with `base`, `last`, `maxTs`, `bytes`;
    /// `deleteBelow`; `truncate` with `offset` (batches ending at or past
    /// it go); `truncateAll`; `replace` with `from`, `to` (batches ending
    /// in `from..to` go) and `batches` (`[base, bytes]`, to put in);
    /// `deleteLog`) in order, then `logs`: `{topic, partition, start,
    /// end}` for each log they touched, without `start` for a deleted one.
    #[wasm_bindgen(js_name = takeJournal)]
    pub fn take_journal(&mut self) -> JsValue {
        let journal = self.broker.storage_mut().take();
        if journal.is_empty() {
            return JsValue::UNDEFINED;
        }
        journal_js(journal)
    }

    /// Connection `conn` opened from `addr` (`"127.0.0.1:53122"`, for
    /// logs); `entropy` is 32 fresh secure random bytes (the seed of its
    /// SASL nonces).
    pub fn connect(&mut self, conn: f64, addr: String, entropy: &[u8], now: f64) {
        let mut peer = PeerInfo {
            addr,
            ..PeerInfo::default()
        };
        let n = entropy.len().min(peer.entropy.len());
        peer.entropy[..n].copy_from_slice(&entropy[..n]);
        self.broker.handle_connect(conn as ConnId, peer, now as i64);
    }

    /// One request frame arrived on `conn`, its size prefix removed.
    pub fn request(&mut self, conn: f64, frame: &[u8], now: f64) {
        self.broker
            .handle_request(conn as ConnId, Bytes::copy_from_slice(frame), now as i64);
        self.forget();
    }

    /// Connection `conn` closed (by the peer, or after a close output).
    pub fn disconnect(&mut self, conn: f64, now: f64) {
        self.broker.handle_disconnect(conn as ConnId, now as i64);
        self.forget();
    }

    /// Time passed: runs the timers due at `now`.
    #[wasm_bindgen(js_name = handleTimeout)]
    pub fn handle_timeout(&mut self, now: f64) {
        self.broker.handle_timeout(now as i64);
        self.forget();
    }

    /// When `handleTimeout` is next due (ms since the epoch), if ever.
    #[wasm_bindgen(js_name = pollTimeout)]
    pub fn poll_timeout(&self) -> Option<f64> {
        self.broker.poll_timeout().map(|t| t as f64)
    }

    /// The next thing to do, or `undefined` when there is none:
    /// `{conn, frame: Uint8Array}` (write the frame, size prefix
    /// included) or `{conn, close: reason}` (end the socket).
    #[wasm_bindgen(js_name = pollOutput)]
    pub fn poll_output(&mut self) -> Result<JsValue, JsValue> {
        while let Some(out) = self.broker.poll_output() {
            let o = Object::new();
            match out {
                Output::Response { conn, chunks } => {
                    let len = chunks.iter().map(|c| c.len()).sum::<usize>();
                    let buf = Uint8Array::new_with_length(len as u32);
                    let mut at = 0u32;
                    for c in &chunks {
                        buf.subarray(at, at + c.len() as u32).copy_from(c);
                        at += c.len() as u32;
                    }
                    Reflect::set(&o, &"conn".into(), &(conn as f64).into())?;
                    Reflect::set(&o, &"frame".into(), &buf)?;
                }
                Output::Close { conn, reason } => {
                    Reflect::set(&o, &"conn".into(), &(conn as f64).into())?;
                    Reflect::set(&o, &"close".into(), &reason.into())?;
                }
                // A single broker is never asked to reach ZooKeeper or
                // other brokers.
                _ => continue,
            }
            return Ok(o.into());
        }
        Ok(JsValue::UNDEFINED)
    }

    /// Arms an injected error, `fault` being the JSON of core's
    /// `ErrorFault`: `{"api": "Produce", "error":
    /// "NOT_LEADER_OR_FOLLOWER", "count": 2, "topic": "t", "partition":
    /// 0}` (names or numbers). Throws the core's reason when it refuses.
    #[wasm_bindgen(js_name = injectError)]
    pub fn inject_error(&mut self, fault: &str) -> Result<(), JsValue> {
        let fault: ErrorFault =
            serde_json::from_str(fault).map_err(|e| error(&format!("bad fault: {e}")))?;
        self.broker.inject_error(fault).map_err(|e| error(&e.0))
    }

    /// The next `count` appends of a client's Produce (to `topic` only,
    /// when given) fail with KAFKA_STORAGE_ERROR.
    #[wasm_bindgen(js_name = failAppends)]
    pub fn fail_appends(&mut self, count: u32, topic: Option<String>) {
        self.broker.fail_appends(count, topic);
    }

    /// Injected errors and append failures not yet used up.
    #[wasm_bindgen(js_name = pendingFaults)]
    pub fn pending_faults(&self) -> u32 {
        self.broker.pending_faults()
    }

    /// Disarms every injected error and append failure.
    #[wasm_bindgen(js_name = clearFaults)]
    pub fn clear_faults(&mut self) {
        self.broker.clear_faults();
    }

    /// Starts (or stops) recording every request that arrives, for
    /// `pollObserved`.
    pub fn observe(&mut self, on: bool) {
        self.broker.observe(on);
    }

    /// The oldest request recorded and not yet drained, as an object
    /// (`{api, version, header, body, conn}`, the JSON codec's form;
    /// integers beyond 2^53 as BigInt), or `undefined`.
    #[wasm_bindgen(js_name = pollObserved)]
    pub fn poll_observed(&mut self) -> Result<JsValue, JsValue> {
        match self.broker.poll_observed() {
            Some(v) => to_js(&v),
            None => Ok(JsValue::UNDEFINED),
        }
    }
}
