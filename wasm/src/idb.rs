//! IndexedDB persistence: [`IdbStorage`] is a [`MemStorage`] that remembers
//! what changed, and [`Db`] writes those changes in one IndexedDB
//! transaction.
//!
//! # Layout
//!
//! One database per playground, version 1, two object stores:
//!
//! - `logs`, key `[topic, partition]`, value `{topic, partition, start, end}`:
//!   every log with its start and end offsets;
//! - `batches`, key `[topic, partition, last_offset]`, value `{topic,
//!   partition, base, last, maxTs, bytes}`: every stored batch, byte for
//!   byte. Keyed by the last offset so that "drop whole batches below
//!   offset" is one key-range delete.
//!
//! At open every row is read back into a [`MemStorage`] (with
//! [`MemStorage::restore`]); the broker then replays its metadata log from
//! it as it does at any start.

use bytes::Bytes;
use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use spate_core::collections::{Map, Set};
use spate_core::protocol::Uuid;
use spate_core::storage::{
    BatchMeta, Chunks, Compaction, MemError, MemStorage, SegmentInfo, Storage, TopicPartition,
};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    IdbDatabase, IdbFactory, IdbKeyRange, IdbObjectStore, IdbRequest, IdbTransactionMode,
};

const LOGS: &str = "logs";
const BATCHES: &str = "batches";

/// One change to write.
#[derive(Debug)]
pub(crate) enum Op {
    /// The broker created (or re-created at start) a log of this topic id.
    Create(TopicPartition, Uuid),
    Append(TopicPartition, BatchMeta, Bytes),
    DeleteBelow(TopicPartition, i64),
    DeleteLog(TopicPartition),
    /// A follower cut the log's tail: batches whose last offset is at
    /// least this go.
    TruncateFrom(TopicPartition, i64),
    /// The cleaner rewrote batches whose last offsets lie in `from..to`.
    Replace(TopicPartition, i64, i64, Vec<(Bytes, BatchMeta)>),
}

/// A [`MemStorage`] that journals its changes until [`IdbStorage::take`].
#[derive(Debug, Default)]
pub struct IdbStorage {
    mem: MemStorage,
    ops: Vec<Op>,
    touched: Set<TopicPartition>,
}

/// The changes since the last flush, with the state of each log they touched.
#[derive(Debug, Default)]
pub struct Journal {
    pub(crate) ops: Vec<Op>,
    /// `(log, Some((start, end)))` for logs that exist, `None` for deleted ones.
    pub(crate) logs: Vec<(TopicPartition, Option<(i64, i64)>)>,
}

impl Journal {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty() && self.logs.is_empty()
    }
}

impl IdbStorage {
    /// Storage over logs loaded from the database.
    pub fn from_mem(mem: MemStorage) -> Self {
        IdbStorage {
            mem,
            ..Default::default()
        }
    }

    /// Takes the journal of changes made since the last call.
    pub fn take(&mut self) -> Journal {
        let logs = std::mem::take(&mut self.touched)
            .into_iter()
            .map(|tp| {
                let exists = self.mem.logs().contains(&tp);
                let state = exists.then(|| (self.mem.start_offset(&tp), self.mem.end_offset(&tp)));
                (tp, state)
            })
            .collect();
        Journal {
            ops: std::mem::take(&mut self.ops),
            logs,
        }
    }

    /// Drops the journal: for a host that keeps nothing beyond memory
    /// ([`crate::node::Server`]).
    pub fn forget(&mut self) {
        self.ops.clear();
        self.touched.clear();
    }
}

impl Storage for IdbStorage {
    type Error = MemError;

    fn logs(&self) -> Vec<TopicPartition> {
        self.mem.logs()
    }

    fn create_log(&mut self, tp: &TopicPartition, topic_id: Uuid) -> Result<(), MemError> {
        if !self.mem.logs().contains(tp) {
            self.touched.insert(tp.clone());
        }
        self.ops.push(Op::Create(tp.clone(), topic_id));
        self.mem.create_log(tp, topic_id)
    }

    fn delete_log(&mut self, tp: &TopicPartition) -> Result<(), MemError> {
        self.mem.delete_log(tp)?;
        self.ops.push(Op::DeleteLog(tp.clone()));
        self.touched.insert(tp.clone());
        Ok(())
    }

    fn append(
        &mut self,
        tp: &TopicPartition,
        batch: Bytes,
        meta: BatchMeta,
    ) -> Result<(), MemError> {
        self.mem.append(tp, batch.clone(), meta)?;
        self.ops.push(Op::Append(tp.clone(), meta, batch));
        self.touched.insert(tp.clone());
        Ok(())
    }

    fn read(&self, tp: &TopicPartition, offset: i64, max_bytes: usize) -> Result<Chunks, MemError> {
        self.mem.read(tp, offset, max_bytes)
    }

    fn start_offset(&self, tp: &TopicPartition) -> i64 {
        self.mem.start_offset(tp)
    }

    fn end_offset(&self, tp: &TopicPartition) -> i64 {
        self.mem.end_offset(tp)
    }

    fn offset_for_timestamp(&self, tp: &TopicPartition, ts: i64) -> Result<Option<i64>, MemError> {
        self.mem.offset_for_timestamp(tp, ts)
    }

    fn delete_before(&mut self, tp: &TopicPartition, offset: i64) -> Result<(), MemError> {
        let before = self.mem.start_offset(tp);
        self.mem.delete_before(tp, offset)?;
        if self.mem.start_offset(tp) != before {
            self.ops.push(Op::DeleteBelow(tp.clone(), offset));
            self.touched.insert(tp.clone());
        }
        Ok(())
    }

    fn truncate_to(&mut self, tp: &TopicPartition, offset: i64) -> Result<(), MemError> {
        self.mem.truncate_to(tp, offset)?;
        self.ops.push(Op::TruncateFrom(tp.clone(), offset));
        self.touched.insert(tp.clone());
        Ok(())
    }

    fn truncate_fully_and_start_at(
        &mut self,
        tp: &TopicPartition,
        offset: i64,
    ) -> Result<(), MemError> {
        self.mem.truncate_fully_and_start_at(tp, offset)?;
        // Every batch row goes; the log row is rewritten from `touched`.
        self.ops.push(Op::TruncateFrom(tp.clone(), i64::MIN));
        self.touched.insert(tp.clone());
        Ok(())
    }

    fn size(&self, tp: &TopicPartition) -> u64 {
        self.mem.size(tp)
    }

    fn segments(&self, tp: &TopicPartition) -> Vec<SegmentInfo> {
        self.mem.segments(tp)
    }

    fn compaction(&mut self) -> Option<&mut dyn Compaction<Error = MemError>> {
        Some(self)
    }
}

impl Compaction for IdbStorage {
    fn replace_segments(
        &mut self,
        tp: &TopicPartition,
        from: i64,
        to: i64,
        batches: Vec<(Bytes, BatchMeta)>,
    ) -> Result<(), MemError> {
        self.mem.replace_segments(tp, from, to, batches.clone())?;
        self.ops.push(Op::Replace(tp.clone(), from, to, batches));
        self.touched.insert(tp.clone());
        Ok(())
    }
}

/// An open playground database.
#[derive(Debug, Clone)]
pub struct Db {
    db: IdbDatabase,
}

/// Waits for an IndexedDB request to succeed, giving its result.
async fn done(req: &IdbRequest) -> Result<JsValue, JsValue> {
    let p = Promise::new(&mut |resolve, reject| {
        let ok_req = req.clone();
        let on_ok = Closure::once_into_js(move |_: JsValue| {
            let _ = resolve.call1(
                &JsValue::NULL,
                &ok_req.result().unwrap_or(JsValue::UNDEFINED),
            );
        });
        let err_req = req.clone();
        let on_err = Closure::once_into_js(move |_: JsValue| {
            let e = err_req
                .error()
                .ok()
                .flatten()
                .map(JsValue::from)
                .unwrap_or(JsValue::NULL);
            let _ = reject.call1(&JsValue::NULL, &e);
        });
        req.set_onsuccess(Some(on_ok.unchecked_ref()));
        req.set_onerror(Some(on_err.unchecked_ref()));
    });
    JsFuture::from(p).await
}

fn factory() -> Result<IdbFactory, JsValue> {
    let f = Reflect::get(&js_sys::global(), &"indexedDB".into())?;
    if f.is_undefined() || f.is_null() {
        return Err(js_sys::Error::new("this browser has no IndexedDB").into());
    }
    Ok(f.unchecked_into())
}

/// Stores one batch row, keyed by its log and last offset.
fn put_batch(
    batches: &IdbObjectStore,
    tp: &TopicPartition,
    meta: &BatchMeta,
    bytes: &Bytes,
) -> Result<(), JsValue> {
    let row = Object::new();
    set(&row, "topic", &tp.topic.as_str().into());
    set(&row, "partition", &tp.partition.into());
    set(&row, "base", &(meta.base_offset as f64).into());
    set(&row, "last", &(meta.last_offset as f64).into());
    set(&row, "maxTs", &(meta.max_timestamp as f64).into());
    set(&row, "bytes", &Uint8Array::from(&bytes[..]).into());
    batches.put_with_key(&row, &batch_key(tp, meta.last_offset as f64))?;
    Ok(())
}

fn tp_key(tp: &TopicPartition) -> Array {
    Array::of2(&tp.topic.as_str().into(), &tp.partition.into())
}

fn batch_key(tp: &TopicPartition, last: f64) -> Array {
    Array::of3(
        &tp.topic.as_str().into(),
        &tp.partition.into(),
        &last.into(),
    )
}

fn set(o: &Object, k: &str, v: &JsValue) {
    let _ = Reflect::set(o, &k.into(), v);
}

fn get_f64(o: &JsValue, k: &str) -> Result<f64, JsValue> {
    Reflect::get(o, &k.into())?
        .as_f64()
        .ok_or_else(|| js_sys::Error::new(&format!("stored row lacks {k}")).into())
}

fn get_str(o: &JsValue, k: &str) -> Result<String, JsValue> {
    Reflect::get(o, &k.into())?
        .as_string()
        .ok_or_else(|| js_sys::Error::new(&format!("stored row lacks {k}")).into())
}

impl Db {
    /// Opens (creating if needed) the database `name`.
    pub async fn open(name: &str) -> Result<Db, JsValue> {
        let req = factory()?.open_with_u32(name, 1)?;
        let upgrade = Closure::<dyn FnMut(JsValue)>::new({
            let req = req.clone();
            move |_| {
                if let Ok(db) = req.result().map(|r| r.unchecked_into::<IdbDatabase>()) {
                    let names = db.object_store_names();
                    if !names.contains(LOGS) {
                        let _ = db.create_object_store(LOGS);
                    }
                    if !names.contains(BATCHES) {
                        let _ = db.create_object_store(BATCHES);
                    }
                }
            }
        });
        req.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
        let db = done(&req).await;
        req.set_onupgradeneeded(None);
        drop(upgrade);
        let db: IdbDatabase = db?.unchecked_into();
        // Another tab deleting or upgrading the database asks us to close.
        let on_change = Closure::<dyn FnMut(JsValue)>::new({
            let db = db.clone();
            move |_| db.close()
        });
        db.set_onversionchange(Some(on_change.as_ref().unchecked_ref()));
        on_change.forget();
        Ok(Db { db })
    }

    /// Closes this handle.
    pub fn close(&self) {
        self.db.close();
    }

    /// Deletes the database `name` (closing this handle first).
    pub async fn delete(self, name: &str) -> Result<(), JsValue> {
        self.db.close();
        let req = factory()?.delete_database(name)?;
        done(&req).await.map(|_| ())
    }

    /// Reads every log and batch into memory.
    pub async fn load(&self) -> Result<MemStorage, JsValue> {
        let tx = self
            .db
            .transaction_with_str_sequence(&Array::of2(&LOGS.into(), &BATCHES.into()))?;
        let logs = done(&tx.object_store(LOGS)?.get_all()?).await?;
        let batches = done(&tx.object_store(BATCHES)?.get_all()?).await?;
        let mut mem = MemStorage::new();
        let batches: Array = batches.unchecked_into();
        let mut by_log: Map<TopicPartition, Vec<(BatchMeta, Bytes)>> = Default::default();
        for row in batches.iter() {
            let tp =
                TopicPartition::new(get_str(&row, "topic")?, get_f64(&row, "partition")? as i32);
            let meta = BatchMeta {
                base_offset: get_f64(&row, "base")? as i64,
                last_offset: get_f64(&row, "last")? as i64,
                max_timestamp: get_f64(&row, "maxTs")? as i64,
            };
            let bytes: Uint8Array = Reflect::get(&row, &"bytes".into())?.dyn_into()?;
            by_log
                .entry(tp)
                .or_default()
                .push((meta, Bytes::from(bytes.to_vec())));
        }
        let logs: Array = logs.unchecked_into();
        for row in logs.iter() {
            let tp =
                TopicPartition::new(get_str(&row, "topic")?, get_f64(&row, "partition")? as i32);
            let start = get_f64(&row, "start")? as i64;
            let end = get_f64(&row, "end")? as i64;
            let mut batches = by_log.remove(&tp).unwrap_or_default();
            batches.sort_by_key(|(m, _)| m.base_offset);
            mem.restore(tp, start, end, batches);
        }
        Ok(mem)
    }

    /// Starts one readwrite transaction holding every change of `journal`
    /// and gives a promise of its completion. The transaction is created
    /// now, so transactions complete in the order their journals were taken.
    pub fn write(&self, journal: Journal) -> Result<Promise, JsValue> {
        let tx = self.db.transaction_with_str_sequence_and_mode(
            &Array::of2(&LOGS.into(), &BATCHES.into()),
            IdbTransactionMode::Readwrite,
        )?;
        let logs: IdbObjectStore = tx.object_store(LOGS)?;
        let batches: IdbObjectStore = tx.object_store(BATCHES)?;
        for op in &journal.ops {
            match op {
                // Topic ids are in the metadata log, which is stored too.
                Op::Create(..) => {}
                Op::Append(tp, meta, bytes) => {
                    put_batch(&batches, tp, meta, bytes)?;
                }
                Op::DeleteBelow(tp, offset) => {
                    let range = IdbKeyRange::bound_with_lower_open_and_upper_open(
                        &batch_key(tp, f64::NEG_INFINITY),
                        &batch_key(tp, *offset as f64),
                        false,
                        true,
                    )?;
                    batches.delete(&range)?;
                }
                Op::Replace(tp, from, to, new) => {
                    // Batches are keyed by their last offset: drop those
                    // the cleaner replaced, then store what it wrote.
                    let range = IdbKeyRange::bound_with_lower_open_and_upper_open(
                        &batch_key(tp, *from as f64),
                        &batch_key(tp, *to as f64),
                        false,
                        true,
                    )?;
                    batches.delete(&range)?;
                    for (bytes, meta) in new {
                        put_batch(&batches, tp, meta, bytes)?;
                    }
                }
                Op::TruncateFrom(tp, offset) => {
                    let range = IdbKeyRange::bound(
                        &batch_key(tp, *offset as f64),
                        &batch_key(tp, f64::INFINITY),
                    )?;
                    batches.delete(&range)?;
                }
                Op::DeleteLog(tp) => {
                    let range = IdbKeyRange::bound(
                        &batch_key(tp, f64::NEG_INFINITY),
                        &batch_key(tp, f64::INFINITY),
                    )?;
                    batches.delete(&range)?;
                }
            }
        }
        for (tp, state) in &journal.logs {
            match state {
                Some((start, end)) => {
                    let row = Object::new();
                    set(&row, "topic", &tp.topic.as_str().into());
                    set(&row, "partition", &tp.partition.into());
                    set(&row, "start", &(*start as f64).into());
                    set(&row, "end", &(*end as f64).into());
                    logs.put_with_key(&row, &tp_key(tp))?;
                }
                None => {
                    logs.delete(&tp_key(tp))?;
                }
            }
        }
        Ok(Promise::new(&mut |resolve, reject| {
            let on_ok = Closure::once_into_js(move |_: JsValue| {
                let _ = resolve.call0(&JsValue::NULL);
            });
            let reject2 = reject.clone();
            let tx_err = tx.clone();
            let on_err = Closure::once_into_js(move |_: JsValue| {
                let e = tx_err
                    .error()
                    .map(JsValue::from)
                    .unwrap_or_else(|| js_sys::Error::new("IndexedDB transaction failed").into());
                let _ = reject.call1(&JsValue::NULL, &e);
            });
            let on_abort = Closure::once_into_js(move |_: JsValue| {
                let _ = reject2.call1(
                    &JsValue::NULL,
                    &js_sys::Error::new("IndexedDB transaction aborted").into(),
                );
            });
            tx.set_oncomplete(Some(on_ok.unchecked_ref()));
            tx.set_onerror(Some(on_err.unchecked_ref()));
            tx.set_onabort(Some(on_abort.unchecked_ref()));
        }))
    }
}
