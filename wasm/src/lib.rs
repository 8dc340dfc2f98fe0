//! spate-wasm: Spate's core for the browser playground.
//!
//! [`Playground`] runs a [`Broker`] inside the page over [`idb::IdbStorage`]:
//! a [`MemStorage`](spate_core::storage::MemStorage) loaded from IndexedDB
//! at [`Playground::open`], whose changes are written in one IndexedDB
//! transaction per handled request before the response is given back.
//! [`node::Server`] is a broker over memory for a host that owns the
//! sockets (the `spate-broker` npm package in `js/`).
//! Beside them, free functions explain bytes: [`annotate()`], [`parse_input`],
//! [`apis`], [`schema`], [`example`], [`sasl_examples`].
//!
//! The driver loop is the one every Spate driver runs: after each
//! `handle_*` call drain `poll_output`, then arm a `setTimeout` for
//! `poll_timeout`. The clock is `Date.now()` unless the caller passes `now`.
//!
//! Errors cross to JavaScript as `Error` objects; those about bytes carry
//! `offset` (the byte where decoding stopped), `field`, `kind` and `problem`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod annotated;
pub mod idb;
pub mod node;
mod views;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use bytes::Bytes;
use js_sys::{Function, Promise, Reflect, Uint8Array};
use serde::Serialize;
use spate_core::annotate::{self, AnnotateError, SizePrefix};
use spate_core::broker::{Broker, Config, ConnId, Output, PeerInfo};
use spate_core::example::Variant;
use spate_core::protocol::header::decode_request_header;
use spate_core::protocol::messages::produce_request::ProduceRequest;
use spate_core::protocol::messages::{request_header, response_header};
use spate_core::protocol::{ApiKey, ErrorCode, Reader, Uuid, Wire};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

pub use spate_core;

pub use annotated::Annotated;
use idb::{Db, IdbStorage};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(f: &Function, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    fn date_now() -> f64;
}

pub(crate) fn to_js<T: Serialize + ?Sized>(v: &T) -> Result<JsValue, JsValue> {
    // Int64 values beyond 2^53 must survive: every integer of the tree
    // crosses as a BigInt only when it has to be one.
    let s = serde_wasm_bindgen::Serializer::new()
        .serialize_maps_as_objects(true)
        .serialize_large_number_types_as_bigints(true);
    v.serialize(&s).map_err(JsValue::from)
}

/// A JavaScript `Error` with the byte offset and field of a decode error.
fn byte_error(e: &AnnotateError) -> JsValue {
    let err = js_sys::Error::new(&e.message);
    let _ = Reflect::set(&err, &"offset".into(), &(e.offset as f64).into());
    let _ = Reflect::set(&err, &"field".into(), &e.field.as_str().into());
    let _ = Reflect::set(&err, &"kind".into(), &e.kind.as_str().into());
    let _ = Reflect::set(&err, &"problem".into(), &e.problem.as_str().into());
    err.into()
}

pub(crate) fn error(msg: &str) -> JsValue {
    js_sys::Error::new(msg).into()
}

/// A request waiting for its response.
struct Pending {
    /// The bytes as the page shows them (size prefix included when it was
    /// there), so that a decode error's offset names the byte on screen.
    shown: Bytes,
    /// Whether `shown` starts with a size prefix.
    prefix: SizePrefix,
    resolve: Function,
    reject: Function,
}

struct Inner {
    broker: Broker<IdbStorage>,
    db: Db,
    conn: ConnId,
    next_conn: ConnId,
    /// Requests on `conn` that will get a response, oldest first.
    pending: VecDeque<Pending>,
    timer: Option<(JsValue, Closure<dyn FnMut()>)>,
}

/// The in-page broker, persisted to IndexedDB.
#[wasm_bindgen]
pub struct Playground {
    inner: Rc<RefCell<Inner>>,
    name: String,
}

/// What one drain of the broker's output settles, once storage has it.
enum Settle {
    /// Resolve with the value (the reject function is kept in case storage fails).
    Resolve(Function, Function, JsValue),
    Reject(Function, JsValue),
}

impl Inner {
    /// Drains every output, takes the journal, starts its IndexedDB
    /// transaction and re-arms the timer; the promises are settled when the
    /// transaction completes.
    fn drain(this: &Rc<RefCell<Inner>>, mut extra: Vec<Settle>) {
        let mut me = this.borrow_mut();
        let mut settle = Vec::new();
        while let Some(out) = me.broker.poll_output() {
            match out {
                Output::Response { conn, chunks } if conn == me.conn => {
                    if let Some(p) = me.pending.pop_front() {
                        let len = chunks.iter().map(|c| c.len()).sum::<usize>();
                        let buf = Uint8Array::new_with_length(len as u32);
                        let mut at = 0u32;
                        for c in &chunks {
                            buf.subarray(at, at + c.len() as u32).copy_from(c);
                            at += c.len() as u32;
                        }
                        settle.push(Settle::Resolve(p.resolve, p.reject, buf.into()));
                    }
                }
                Output::Close { conn, reason } if conn == me.conn => {
                    // The broker closes a connection whose frame it cannot
                    // decode; say where, and open a fresh connection.
                    while let Some(p) = me.pending.pop_front() {
                        let ann = annotate::annotate_request_with(&p.shown, p.prefix);
                        let e = match ann.error {
                            Some(e) => byte_error(&e),
                            None => error(&reason.to_string()),
                        };
                        settle.push(Settle::Reject(p.reject, e));
                    }
                    me.next_conn += 1;
                    me.conn = me.next_conn;
                    let (conn, now) = (me.conn, date_now() as i64);
                    me.broker.handle_connect(
                        conn,
                        PeerInfo {
                            addr: "page".into(),
                            ..PeerInfo::default()
                        },
                        now,
                    );
                }
                Output::Response { .. }
                | Output::Close { .. }
                | Output::Replica { .. }
                | Output::TxnMarkers { .. } => {}
                // Only a broker in ZooKeeper mode asks for this, and the
                // playground's never is: should it ever, the topics fail
                // rather than keep their request waiting.
                Output::CreateTopics { request, topics } => {
                    let results = topics
                        .into_iter()
                        .map(|t| (t.name, Err(ErrorCode::UNKNOWN_SERVER_ERROR)))
                        .collect();
                    me.broker
                        .handle_topics_created(request, results, date_now() as i64);
                }
                // Nothing else comes to a broker outside a cluster.
                _ => {}
            }
        }
        settle.append(&mut extra);
        let journal = me.broker.storage_mut().take();
        let written = if journal.is_empty() {
            Ok(None)
        } else {
            me.db.write(journal).map(Some)
        };
        // Timer: one setTimeout for the broker's next deadline.
        if let Some((id, _)) = me.timer.take() {
            clear_timeout(&id);
        }
        if let Some(at) = me.broker.poll_timeout() {
            let delay = (at as f64 - date_now()).max(0.0);
            let weak = Rc::downgrade(this);
            let cb = Closure::<dyn FnMut()>::new(move || {
                if let Some(inner) = weak.upgrade() {
                    inner.borrow_mut().timer = None;
                    let now = date_now() as i64;
                    inner.borrow_mut().broker.handle_timeout(now);
                    Inner::drain(&inner, Vec::new());
                }
            });
            // Browsers cap timeouts at 2^31-1 ms.
            let id = set_timeout(cb.as_ref().unchecked_ref(), delay.min(2_147_483_647.0));
            me.timer = Some((id, cb));
        }
        drop(me);
        // Settle only once storage has the changes; if it failed, say so.
        let finish = |result: Result<(), JsValue>, settle: Vec<Settle>| {
            for s in settle {
                let _ = match (s, &result) {
                    (Settle::Resolve(f, _, v), Ok(())) => f.call1(&JsValue::NULL, &v),
                    (Settle::Resolve(_, f, _), Err(e)) => f.call1(&JsValue::NULL, e),
                    (Settle::Reject(f, e), _) => f.call1(&JsValue::NULL, &e),
                };
            }
        };
        match written {
            Ok(None) => finish(Ok(()), settle),
            Ok(Some(p)) => wasm_bindgen_futures::spawn_local(async move {
                finish(JsFuture::from(p).await.map(|_| ()), settle);
            }),
            Err(e) => finish(Err(e), settle),
        }
    }
}

#[wasm_bindgen]
impl Playground {
    /// Opens the playground stored in the IndexedDB database `db_name`
    /// (created empty if new) and starts its broker.
    pub async fn open(db_name: String) -> Result<Playground, JsValue> {
        let db = Db::open(&db_name).await?;
        let mem = db.load().await?;
        let now = date_now() as i64;
        let mut broker = Broker::new(Config::default(), IdbStorage::from_mem(mem), now)
            .map_err(|e| error(&e.to_string()))?;
        broker.handle_connect(
            1,
            PeerInfo {
                addr: "page".into(),
                ..PeerInfo::default()
            },
            now,
        );
        let inner = Rc::new(RefCell::new(Inner {
            broker,
            db,
            conn: 1,
            next_conn: 1,
            pending: VecDeque::new(),
            timer: None,
        }));
        // Broker::new may have created the metadata log: persist it now.
        let p = {
            let journal = inner.borrow_mut().broker.storage_mut().take();
            if journal.is_empty() {
                None
            } else {
                Some(inner.borrow().db.write(journal)?)
            }
        };
        if let Some(p) = p {
            JsFuture::from(p).await?;
        }
        Inner::drain(&inner, Vec::new());
        Ok(Playground {
            inner,
            name: db_name,
        })
    }

    /// Runs one request frame (with or without its 4-byte size prefix)
    /// through the broker. Resolves with the response frame, size prefix
    /// included, once the changes it made are in IndexedDB; with `null`
    /// for a produce with acks=0, which Kafka never answers. Rejects with
    /// an `Error` carrying `offset` when the broker cannot decode it.
    /// `now` is milliseconds since the epoch (default `Date.now()`).
    ///
    /// `size_prefix` ("auto", the default, "present" or "absent") says
    /// whether the frame starts with its size, by the rule [`annotate()`]
    /// follows. A frame whose size prefix does not match the bytes after
    /// it is not sent: the `Error` has `sent: false` (a broker would wait
    /// for the missing bytes, or read the extra ones as the next frame).
    pub fn handle(&self, frame: &[u8], now: Option<f64>, size_prefix: Option<String>) -> Promise {
        let prefix = match size_prefix.as_deref().map(parse_prefix).transpose() {
            Ok(p) => p.unwrap_or_default(),
            Err(e) => return Promise::reject(&e),
        };
        let shown = Bytes::copy_from_slice(frame);
        let (frame, prefix) = match strip_prefix(&shown, prefix) {
            Ok(stripped) => stripped,
            Err(msg) => {
                let e = error(&msg);
                let _ = Reflect::set(&e, &"sent".into(), &false.into());
                return Promise::reject(&e);
            }
        };
        let now = now.unwrap_or_else(date_now) as i64;
        let no_response = acks_zero(&frame);
        let inner = self.inner.clone();
        let mut resolve_now = None;
        let promise = Promise::new(&mut |resolve, reject| {
            if no_response {
                resolve_now = Some(Settle::Resolve(resolve, reject, JsValue::NULL));
            } else {
                inner.borrow_mut().pending.push_back(Pending {
                    shown: shown.clone(),
                    prefix,
                    resolve,
                    reject,
                });
            }
        });
        {
            let mut me = inner.borrow_mut();
            let conn = me.conn;
            me.broker.handle_request(conn, frame, now);
        }
        Inner::drain(&inner, resolve_now.into_iter().collect());
        promise
    }

    /// The gallery's request of `api_key` at `version`
    /// ([`sendable_example`]) naming the example topic by its id on this
    /// broker, where the version names topics by id.
    pub fn example(&self, api_key: i16, version: i16) -> Result<Vec<u8>, JsValue> {
        use spate_core::example::sendable::{sendable_request, TOPIC};
        sendable_example(api_key, version)?;
        let key = ApiKey::from_i16(api_key).ok_or_else(|| error("no such API"))?;
        let id = self
            .inner
            .borrow()
            .broker
            .topics()
            .into_iter()
            .find(|t| t.0 == TOPIC)
            .map_or(Uuid::ZERO, |t| t.1);
        Ok(sendable_request(key, version, 1, id).to_vec())
    }

    /// Whether this broker serves the API `api_key` (a request of one it
    /// does not serve closes the connection, as in Kafka).
    pub fn serves(&self, api_key: i16) -> bool {
        ApiKey::from_i16(api_key).is_some_and(|k| self.inner.borrow().broker.serves(k))
    }

    /// Topics (with partitions, log start offsets, high watermarks) and
    /// groups, as `{topics: [...], groups: [...]}`.
    pub fn state(&self) -> Result<JsValue, JsValue> {
        to_js(&views::state(&self.inner.borrow().broker))
    }

    /// Deletes every topic, record and offset: the database is dropped and
    /// the broker starts empty. Waiting requests are rejected.
    pub async fn reset(&mut self) -> Result<(), JsValue> {
        let db = {
            let mut me = self.inner.borrow_mut();
            for p in me.pending.drain(..) {
                let _ = p
                    .reject
                    .call1(&JsValue::NULL, &error("the playground was reset"));
            }
            if let Some((id, _)) = me.timer.take() {
                clear_timeout(&id);
            }
            me.db.clone()
        };
        db.delete(&self.name).await?;
        let fresh = Playground::open(self.name.clone()).await?;
        self.inner = fresh.inner.clone();
        Ok(())
    }

    /// Closes the database handle and stops the timer (a second tab can
    /// then open the same database).
    pub fn close(&self) {
        let mut me = self.inner.borrow_mut();
        if let Some((id, _)) = me.timer.take() {
            clear_timeout(&id);
        }
        me.db.close();
    }
}

/// The frame without its size prefix, and whether it had one (`Present`
/// or `Absent`), by `prefix`'s rule; an error when the size does not match
/// the bytes after it.
/// Whether `frame` is a Produce request with acks=0 (which gets no
/// response). Decoded by its own type: `header::decode_request` would link
/// every request's decoder into the module.
fn acks_zero(frame: &Bytes) -> bool {
    let mut r = Reader::new(frame);
    match decode_request_header(&mut r) {
        Ok((ApiKey::Produce, h)) => {
            ProduceRequest::decode(&mut r, h.request_api_version).is_ok_and(|p| p.acks == 0)
        }
        _ => false,
    }
}

fn strip_prefix(frame: &Bytes, prefix: SizePrefix) -> Result<(Bytes, SizePrefix), String> {
    if !prefix.present_in(frame, true) {
        return Ok((frame.clone(), SizePrefix::Absent));
    }
    let Some(head) = frame.get(..4) else {
        return Err(format!(
            "a size prefix is 4 bytes, and the frame has {}",
            frame.len()
        ));
    };
    let size = i64::from(i32::from_be_bytes([head[0], head[1], head[2], head[3]]));
    let follows = frame.len() as i64 - 4;
    if size > follows {
        return Err(format!(
            "the frame is cut short: its size prefix says {size} bytes follow, {follows} do, \
             and a broker waits for the rest"
        ));
    }
    if size < follows {
        return Err(format!(
            "its size prefix says {size} bytes follow, and {follows} do: a broker would read \
             the {} after them as the next frame; send one frame at a time",
            follows - size
        ));
    }
    Ok((frame.slice(4..), SizePrefix::Present))
}

fn parse_prefix(s: &str) -> Result<SizePrefix, JsValue> {
    match s {
        "auto" => Ok(SizePrefix::Auto),
        "present" => Ok(SizePrefix::Present),
        "absent" => Ok(SizePrefix::Absent),
        other => Err(error(&format!(
            "sizePrefix must be auto, present or absent, not {other:?}"
        ))),
    }
}

/// Options of [`annotate`], read from a plain object.
struct AnnotateOptions {
    response: Option<(i16, i16)>,
    prefix: SizePrefix,
}

fn read_options(o: &JsValue) -> Result<AnnotateOptions, JsValue> {
    let get = |k: &str| -> JsValue {
        if o.is_object() {
            Reflect::get(o, &k.into()).unwrap_or(JsValue::UNDEFINED)
        } else {
            JsValue::UNDEFINED
        }
    };
    let prefix = match get("sizePrefix").as_string() {
        None => SizePrefix::Auto,
        Some(p) => parse_prefix(&p)?,
    };
    let response = match get("direction").as_string().as_deref() {
        None | Some("request") => None,
        Some("response") => {
            let key = get("apiKey")
                .as_f64()
                .ok_or_else(|| error("a response needs apiKey"))?;
            let version = get("apiVersion")
                .as_f64()
                .ok_or_else(|| error("a response needs apiVersion"))?;
            Some((key as i16, version as i16))
        }
        Some(other) => {
            return Err(error(&format!(
                "direction must be request or response, not {other:?}"
            )))
        }
    };
    Ok(AnnotateOptions { response, prefix })
}

/// Explains every byte of a frame, as an [`Annotated`] (the tree, flat).
/// `options`: `{direction: "request"|"response", apiKey, apiVersion
/// (responses), sizePrefix: "auto"|"present"|"absent"}`. Malformed bytes
/// are not an exception: the tree decoded so far comes back, and its
/// `error` is `{offset, field, kind, problem, message}`.
#[wasm_bindgen]
pub fn annotate(bytes: &[u8], options: JsValue) -> Result<Annotated, JsValue> {
    let o = read_options(&options)?;
    let ann = match o.response {
        None => annotate::annotate_request_with(bytes, o.prefix),
        Some((k, v)) => annotate::annotate_response_with(bytes, k, v, o.prefix),
    };
    Ok(Annotated::new(ann))
}

/// Reads pasted text as bytes: hex in its common shapes (plain, spaced,
/// `0x`, C arrays, `xxd`, `hexdump -C`, tshark/Wireshark dumps) or base64
/// (forced with `base64 = true`). Returns `{bytes: Uint8Array, shape}`;
/// throws an `Error` saying where the text went wrong.
#[wasm_bindgen(js_name = parseInput)]
pub fn parse_input(text: &str, base64: Option<bool>) -> Result<JsValue, JsValue> {
    let r = if base64.unwrap_or(false) {
        spate_core::input::parse_base64(text)
    } else {
        spate_core::input::parse(text)
    };
    let d = r.map_err(|e| error(&e.to_string()))?;
    let o = js_sys::Object::new();
    Reflect::set(&o, &"bytes".into(), &Uint8Array::from(&d.bytes[..]).into())?;
    Reflect::set(&o, &"shape".into(), &d.shape.to_string().into())?;
    Ok(o.into())
}

/// Every API with `{key, name, minVersion, maxVersion, flexibleFrom}`.
#[wasm_bindgen]
pub fn apis() -> Result<JsValue, JsValue> {
    to_js(&views::apis())
}

/// The fields of one API's request or response (`direction`), header and
/// body, each with its type, version ranges and description.
#[wasm_bindgen]
pub fn schema(api_key: i16, direction: &str) -> Result<JsValue, JsValue> {
    let key =
        ApiKey::from_i16(api_key).ok_or_else(|| error(&format!("no API has key {api_key}")))?;
    let (spec, header) = match direction {
        "request" => (key.request_spec(), &request_header::SPEC),
        "response" => (key.response_spec(), &response_header::SPEC),
        _ => return Err(error("direction must be request or response")),
    };
    to_js(&views::SchemaInfo {
        name: spec.name,
        versions: spec.valid,
        flexible: spec.flexible,
        header: views::fields(header.root),
        body: views::fields(spec.root),
    })
}

/// The project's description of a field or wire part named `name`, if any.
#[wasm_bindgen]
pub fn describe(name: &str) -> Option<String> {
    spate_core::protocol::docs::describe(name).map(str::to_string)
}

/// An example frame (size prefix included) of `api_key` at `version`:
/// `direction` "request" or "response", `variant` "full", "sparse" or
/// "mixed", `seed` any number.
#[wasm_bindgen]
pub fn example(
    api_key: i16,
    version: i16,
    direction: &str,
    variant: Option<String>,
    seed: Option<f64>,
) -> Result<Vec<u8>, JsValue> {
    let key =
        ApiKey::from_i16(api_key).ok_or_else(|| error(&format!("no API has key {api_key}")))?;
    if !key.versions().contains(version) {
        return Err(error(&format!(
            "{} has versions {}, not {version}",
            key.name(),
            key.versions()
        )));
    }
    let variant = match variant.as_deref() {
        None | Some("full") => Variant::Full,
        Some("sparse") => Variant::Sparse,
        Some("mixed") => Variant::Mixed,
        Some(v) => {
            return Err(error(&format!(
                "variant must be full, sparse or mixed, not {v:?}"
            )))
        }
    };
    let seed = seed.unwrap_or(1.0) as u64;
    Ok(match direction {
        "request" => spate_core::example::example_request(key, version, seed, variant),
        "response" => spate_core::example::example_response(key, version, seed, variant),
        _ => return Err(error("direction must be request or response")),
    }
    .to_vec())
}

/// A request of `api_key` at `version` (size prefix included) with values
/// a broker takes: the gallery's examples to send
/// (`spate_core::example::sendable`). Its topic is `exampleTopic()`.
#[wasm_bindgen(js_name = sendableExample)]
pub fn sendable_example(api_key: i16, version: i16) -> Result<Vec<u8>, JsValue> {
    let key =
        ApiKey::from_i16(api_key).ok_or_else(|| error(&format!("no API has key {api_key}")))?;
    if !key.versions().contains(version) {
        return Err(error(&format!(
            "{} has versions {}, not {version}",
            key.name(),
            key.versions()
        )));
    }
    Ok(spate_core::example::sendable::sendable_request(key, version, 1, Uuid::ZERO).to_vec())
}

/// What the page sends before the gallery request of `api_key` (see
/// `spate_core::example::sendable::setup`), given how many partitions the
/// example topic has (`undefined` when it does not exist):
/// `[{key, version, name, why}]`.
#[wasm_bindgen(js_name = sendableSetup)]
pub fn sendable_setup(api_key: i16, partitions: Option<i32>) -> Result<JsValue, JsValue> {
    let out = js_sys::Array::new();
    let Some(key) = ApiKey::from_i16(api_key) else {
        return Ok(out.into());
    };
    for (k, v, why) in spate_core::example::sendable::setup(key, partitions) {
        let o = js_sys::Object::new();
        Reflect::set(&o, &"key".into(), &(k as i16).into())?;
        Reflect::set(&o, &"version".into(), &v.into())?;
        Reflect::set(&o, &"name".into(), &k.name().into())?;
        Reflect::set(&o, &"why".into(), &why.into())?;
        out.push(&o);
    }
    Ok(out.into())
}

/// The error the gallery request of `api_key` at `version` is about, as
/// `{error, why}` (Kafka's name for it and why it comes), or `null` when
/// it succeeds.
#[wasm_bindgen(js_name = sendableExpected)]
pub fn sendable_expected(api_key: i16, version: i16) -> Result<JsValue, JsValue> {
    let Some((code, why)) =
        ApiKey::from_i16(api_key).and_then(|k| spate_core::example::sendable::expected(k, version))
    else {
        return Ok(JsValue::NULL);
    };
    let o = js_sys::Object::new();
    Reflect::set(&o, &"error".into(), &code.name().into())?;
    Reflect::set(&o, &"why".into(), &why.into())?;
    Ok(o.into())
}

/// The topic every sendable example names.
#[wasm_bindgen(js_name = exampleTopic)]
pub fn example_topic() -> String {
    spate_core::example::sendable::TOPIC.to_string()
}

/// A whole SASL/SCRAM-SHA-256 authentication (RFC 7677's example), frame
/// by frame: `[{name, direction, apiKey, apiVersion, bytes: Uint8Array}]`.
#[wasm_bindgen(js_name = saslExamples)]
pub fn sasl_examples() -> Result<JsValue, JsValue> {
    let out = js_sys::Array::new();
    for f in spate_core::example::sasl::scram_sha256_exchange() {
        let o = js_sys::Object::new();
        Reflect::set(&o, &"name".into(), &f.name.into())?;
        let dir = if f.request { "request" } else { "response" };
        Reflect::set(&o, &"direction".into(), &dir.into())?;
        Reflect::set(&o, &"apiKey".into(), &(f.api_key as i16).into())?;
        Reflect::set(&o, &"apiVersion".into(), &f.api_version.into())?;
        Reflect::set(&o, &"bytes".into(), &Uint8Array::from(&f.bytes[..]).into())?;
        out.push(&o);
    }
    Ok(out.into())
}

/// A frame as JSON text (pretty-printed, two-space indent) for the
/// request builder: `{api, version, side, header, body}` with every field
/// by its schema name (see `spate_core::json`). `options` as for
/// [`annotate()`]. Throws an `Error` naming the field where decoding stopped.
#[wasm_bindgen(js_name = toJson)]
pub fn to_json(bytes: &[u8], options: JsValue) -> Result<String, JsValue> {
    use spate_core::json;
    let o = read_options(&options)?;
    let v = match o.response {
        None => json::decode_request(bytes, o.prefix),
        Some((k, v)) => json::decode_response(bytes, k, v, o.prefix),
    }
    .map_err(|e| json_error(&e.to_string(), &e.path))?;
    serde_json::to_string_pretty(&v).map_err(|e| error(&e.to_string()))
}

/// The frame (size prefix included) that JSON text describes, in the
/// format [`to_json`] writes; missing fields take their defaults. Throws
/// an `Error` whose message names the JSON path (also in its `path`).
#[wasm_bindgen(js_name = fromJson)]
pub fn from_json(text: &str) -> Result<Vec<u8>, JsValue> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| json_error(&format!("not valid JSON: {e}"), ""))?;
    spate_core::json::encode(&v)
        .map(|b| b.to_vec())
        .map_err(|e| json_error(&e.to_string(), &e.path))
}

fn json_error(msg: &str, path: &str) -> JsValue {
    let e = error(msg);
    let _ = Reflect::set(&e, &"path".into(), &path.into());
    e
}
