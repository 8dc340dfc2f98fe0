//! `spate._spate`: the native half of the `spate` Python package.
//!
//! `Broker` (the Python class) wraps the library broker, `spate::Broker` (native/src/embed/),
//! and `Cluster` the library's `spate::Cluster`. Each holds its broker or
//! cluster in a `Held` (held.rs): a tokio runtime of its own whose worker
//! threads run it, so it serves while Python code runs. A call that
//! waits on it (start, close, a control that asks the owner loop)
//! releases the GIL while it waits, so other Python threads, a client's
//! background threads among them, go on.
//!
//! Closing twice is harmless; a broker garbage-collected unclosed is
//! stopped without waiting, and one still running at interpreter exit does
//! not hold the exit up: its threads are not Python's.
//!
//! `Cluster.broker(id)` is a `Broker` too, whose controls (faults,
//! observing) reach that broker of the cluster through the cluster's
//! runtime, as `spate::Cluster::broker` does from Rust; it stops with
//! the cluster.
//!
//! Bad arguments are Python exceptions, never panics: a busy port or a
//! data directory that is a file is an `OSError` (with its errno, so
//! `NotADirectoryError` for the latter); an unknown property, API or error
//! name, or broker id, a `ValueError`; an argument of the wrong type a
//! `TypeError`.

use std::path::PathBuf;
use std::time::Duration;

use pyo3::exceptions::{
    PyNotADirectoryError, PyOSError, PyRuntimeError, PyTypeError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::Value;
use spate::{ApiKey, BrokerConfig, Data, ErrorFault, Named, Topic};
use tokio::runtime::Runtime;

mod held;

use held::Held;

/// A Kafka-compatible broker running inside this process.
#[pyclass(module = "spate", frozen)]
struct Broker {
    of: Of,
    bootstrap: String,
    port: u16,
}

/// Whose broker a Python `Broker` is.
enum Of {
    /// Its own: `Broker(...)` started it, `close()` stops it.
    Own(Box<Held<spate::Broker>>),
    /// Broker `id` of a cluster (`Cluster.broker(id)`): it runs and stops
    /// with the cluster.
    Cluster(Py<Cluster>, i32),
}

/// A Python exception for what the broker refused.
fn py_error(e: spate::Error) -> PyErr {
    let msg = e.to_string();
    match (e.io_kind(), e.raw_os_error()) {
        // OSError(errno, text) becomes the errno's own subclass.
        (_, Some(code)) => PyOSError::new_err((code, msg)),
        (Some(std::io::ErrorKind::NotADirectory), None) => PyNotADirectoryError::new_err(msg),
        (Some(_), None) => PyOSError::new_err(msg),
        (None, _) => PyValueError::new_err(msg),
    }
}

/// An API or an error code: its Kafka name or its number.
fn named(what: &str, v: &Bound<'_, PyAny>) -> PyResult<Named> {
    if v.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(format!(
            "{what}: a name or a number, not a bool"
        )));
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(Named::Name(s.to_cow()?.into_owned()));
    }
    if v.is_instance_of::<PyInt>() {
        let n: i16 = v
            .extract()
            .map_err(|_| PyValueError::new_err(format!("{what}: {v} is out of range")))?;
        return Ok(Named::Number(n));
    }
    Err(PyTypeError::new_err(format!(
        "{what}: a name (\"Produce\") or a number, not {}",
        v.get_type().name()?
    )))
}

/// The API that `v` names.
fn api_key(v: &Bound<'_, PyAny>) -> PyResult<ApiKey> {
    let found = match named("api", v)? {
        Named::Number(n) => ApiKey::from_i16(n),
        Named::Name(s) => ApiKey::ALL.iter().copied().find(|k| k.name() == s),
    };
    found.ok_or_else(|| {
        PyValueError::new_err(format!(
            "api: {v} is not a Kafka API (e.g. \"Produce\", \"Fetch\", \"Metadata\")"
        ))
    })
}

/// Seconds as a [`Duration`]: finite and not negative.
fn seconds(what: &str, s: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(s)
        .map_err(|_| PyValueError::new_err(format!("{what}: {s} is not a number of seconds >= 0")))
}

/// `topics`: names, `(name, partitions)` pairs, or a dict of name to
/// partitions.
fn topics(v: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<Topic>> {
    let Some(v) = v.filter(|v| !v.is_none()) else {
        return Ok(Vec::new());
    };
    if v.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(
            "topics: a list of names (topics=[\"orders\"]), not one name",
        ));
    }
    if let Ok(d) = v.cast::<PyDict>() {
        return d
            .iter()
            .map(|(k, n)| Ok(Topic::new(k.extract::<String>()?, partitions(&n)?)))
            .collect();
    }
    let mut out = Vec::new();
    for item in v.try_iter()? {
        let item = item?;
        if let Ok(s) = item.cast::<PyString>() {
            // -1: the broker's num.partitions.
            out.push(Topic::new(s.to_cow()?, -1));
        } else if let Ok(t) = item.cast::<PyTuple>() {
            let (name, n): (String, Bound<'_, PyAny>) = t.extract().map_err(|_| {
                PyTypeError::new_err(format!("topics: {t} is not a (name, partitions) pair"))
            })?;
            out.push(Topic::new(name, partitions(&n)?));
        } else {
            return Err(PyTypeError::new_err(format!(
                "topics: each a name or a (name, partitions) pair, not {}",
                item.get_type().name()?
            )));
        }
    }
    Ok(out)
}

fn partitions(n: &Bound<'_, PyAny>) -> PyResult<i32> {
    match n.extract::<i32>() {
        Ok(k) if k >= 1 && !n.is_instance_of::<PyBool>() => Ok(k),
        _ => Err(PyValueError::new_err(format!(
            "topics: partitions must be a whole number >= 1, not {n}"
        ))),
    }
}

/// `properties`: a dict of Kafka broker property names to values (str,
/// int, float or bool, written as a `server.properties` would).
fn properties(v: Option<&Bound<'_, PyDict>>) -> PyResult<Vec<(String, String)>> {
    let Some(d) = v else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (k, v) in d.iter() {
        let key: String = k
            .extract()
            .map_err(|_| PyTypeError::new_err(format!("properties: the key {k} is not a str")))?;
        let value = if let Ok(b) = v.cast::<PyBool>() {
            b.is_true().to_string()
        } else if v.is_instance_of::<PyString>()
            || v.is_instance_of::<PyInt>()
            || v.is_instance_of::<PyFloat>()
        {
            v.str()?.to_cow()?.into_owned()
        } else {
            return Err(PyTypeError::new_err(format!(
                "properties: {key} must be a str, int, float or bool, not {}",
                v.get_type().name()?
            )));
        };
        out.push((key, value));
    }
    Ok(out)
}

/// A JSON value as plain Python objects.
fn to_python<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.into_pyobject(py)?.into_any(),
            (None, Some(u)) => u.into_pyobject(py)?.into_any(),
            _ => n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any(),
        },
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(a) => {
            let items = a
                .iter()
                .map(|x| to_python(py, x))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_any()
        }
        Value::Object(o) => {
            let d = PyDict::new(py);
            for (k, x) in o {
                d.set_item(k, to_python(py, x)?)?;
            }
            d.into_any()
        }
    })
}

impl Broker {
    /// Runs `f` on the running broker, with the runtime it runs on,
    /// without the GIL; a `RuntimeError` once it (or its cluster) is
    /// closed.
    fn with<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&Runtime, &spate::Broker) -> Result<T, spate::Error> + Send,
    ) -> PyResult<T> {
        match &self.of {
            Of::Own(held) => held.with(py, |r| f(r.rt(), r.get())),
            Of::Cluster(cluster, id) => cluster.get().held.with(py, |r| {
                let b = r.get().broker(*id);
                f(r.rt(), b.expect("Cluster.broker checked the id"))
            }),
        }
    }
}

#[pymethods]
impl Broker {
    /// Starts a broker on `host:port` (port 0: a free one) and returns once
    /// it takes connections and `topics` exist.
    #[new]
    #[pyo3(signature = (topics=None, *, auto_create=true, dir=None, host=None, port=0, properties=None, observe=false, virtual_clock=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        topics: Option<&Bound<'_, PyAny>>,
        auto_create: bool,
        dir: Option<PathBuf>,
        host: Option<String>,
        port: u16,
        properties: Option<&Bound<'_, PyDict>>,
        observe: bool,
        virtual_clock: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Broker> {
        let mut props = self::properties(properties)?;
        // Kafka's own test harnesses start groups at once; so does this
        // (Kafka's default is 3 s), unless told otherwise.
        const DELAY: &str = "group.initial.rebalance.delay.ms";
        if !props.iter().any(|(k, _)| k == DELAY) {
            props.push((DELAY.into(), "0".into()));
        }
        let virtual_clock = match virtual_clock.filter(|v| !v.is_none()) {
            None => None,
            Some(v) if v.is_instance_of::<PyBool>() => v
                .is_truthy()?
                .then(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH))
                .map(|d| d.map_or(0, |d| d.as_millis() as i64)),
            Some(v) => Some(v.extract::<i64>().map_err(|_| {
                PyTypeError::new_err(
                    "virtual_clock: True, or a start time in ms since the Unix epoch",
                )
            })?),
        };
        let config = BrokerConfig {
            host: host.unwrap_or_else(|| "127.0.0.1".into()),
            port,
            data: dir.map_or(Data::Memory, Data::Dir),
            topics: self::topics(topics)?,
            auto_create_topics: auto_create,
            properties: props,
            virtual_clock,
        };
        let held = Held::start(py, move || async move {
            let b = spate::Broker::start(config).await?;
            if observe {
                b.observe(true).await?;
            }
            Ok(b)
        })?;
        let (bootstrap, port) = held.with(py, |r| Ok((r.get().bootstrap(), r.get().port())))?;
        Ok(Broker {
            of: Of::Own(Box::new(held)),
            bootstrap,
            port,
        })
    }

    /// `"HOST:PORT"`, for a client's `bootstrap.servers`.
    #[getter]
    fn bootstrap_servers(&self) -> &str {
        &self.bootstrap
    }

    /// The port it listens on.
    #[getter]
    fn port(&self) -> u16 {
        self.port
    }

    /// Whether `close()` was called (for a cluster's broker: the
    /// cluster's).
    #[getter]
    fn closed(&self) -> bool {
        match &self.of {
            Of::Own(held) => held.closed(),
            Of::Cluster(cluster, _) => cluster.get().held.closed(),
        }
    }

    /// Stops the broker: requests already received are answered, the logs
    /// flushed. Calling it again does nothing. A cluster's broker stops
    /// with its cluster only: a `RuntimeError`.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        match &self.of {
            Of::Own(held) => held.close(py),
            Of::Cluster(_, id) => Err(PyRuntimeError::new_err(format!(
                "broker {id} is a cluster's: it stops with Cluster.close()"
            ))),
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        let state = if self.closed() { "closed" } else { "running" };
        match &self.of {
            Of::Own(_) => format!("<spate.Broker {} {state}>", self.bootstrap),
            Of::Cluster(_, id) => {
                format!(
                    "<spate.Broker {id} of a cluster, {} {state}>",
                    self.bootstrap
                )
            }
        }
    }

    /// Answers the next `count` requests of `api` (naming `topic` /
    /// `partition`, when given) with the error code `error`, in a real
    /// response of that API and version; they are not carried out.
    #[pyo3(signature = (api, error, count=1, *, topic=None, partition=None))]
    fn inject_error(
        &self,
        py: Python<'_>,
        api: &Bound<'_, PyAny>,
        error: &Bound<'_, PyAny>,
        count: u32,
        topic: Option<String>,
        partition: Option<i32>,
    ) -> PyResult<()> {
        let fault = ErrorFault {
            api: named("api", api)?,
            error: named("error", error)?,
            count,
            topic,
            partition,
        };
        self.with(py, |rt, b| rt.block_on(b.inject_error(fault)))
    }

    /// Fails the next `count` produce appends (to `topic` only, when
    /// given): their partitions are answered KAFKA_STORAGE_ERROR.
    #[pyo3(signature = (count=1, *, topic=None))]
    fn fail_appends(&self, py: Python<'_>, count: u32, topic: Option<String>) -> PyResult<()> {
        self.with(py, |rt, b| {
            rt.block_on(b.fail_appends(count, topic.as_deref()))
        })
    }

    /// Holds the next `count` requests of `api` (all of them until
    /// `clear_faults()`, when None) `seconds` before the broker sees them.
    #[pyo3(signature = (api, seconds, count=None))]
    fn delay(
        &self,
        py: Python<'_>,
        api: &Bound<'_, PyAny>,
        seconds: f64,
        count: Option<u32>,
    ) -> PyResult<()> {
        let api = api_key(api)?;
        let by = self::seconds("seconds", seconds)?;
        self.with(py, |_, b| b.delay(api, by, count))
    }

    /// Closes the connection of each of the next `count` requests of
    /// `api`, unanswered.
    #[pyo3(signature = (api, count=1))]
    fn drop_connection(&self, py: Python<'_>, api: &Bound<'_, PyAny>, count: u32) -> PyResult<()> {
        let api = api_key(api)?;
        self.with(py, |_, b| b.drop_connections(api, count))
    }

    /// Disarms every fault: injected errors, failing appends, delays,
    /// drops.
    fn clear_faults(&self, py: Python<'_>) -> PyResult<()> {
        self.with(py, |rt, b| rt.block_on(b.clear_faults()))
    }

    /// Starts (True) or stops recording every request, for `observed()`.
    #[pyo3(signature = (on=true))]
    fn observe(&self, py: Python<'_>, on: bool) -> PyResult<()> {
        self.with(py, |rt, b| rt.block_on(b.observe(on)))
    }

    /// The requests recorded since the last call, oldest first, each as
    /// a dict: `{"api", "version", "header", "body", "conn"}`.
    fn observed<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let got = self.with(py, |rt, b| rt.block_on(b.observed()))?;
        let items = got
            .iter()
            .map(|v| to_python(py, v))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }

    /// The broker's time, in milliseconds since the Unix epoch.
    fn now_ms(&self, py: Python<'_>) -> PyResult<i64> {
        self.with(py, |_, b| Ok(b.now_ms()))
    }

    /// Moves a virtual clock forward by `seconds`; returns once what was
    /// then due (session timeouts, long polls) is done.
    fn advance(&self, py: Python<'_>, seconds: f64) -> PyResult<()> {
        let by = self::seconds("seconds", seconds)?;
        self.with(py, |rt, b| rt.block_on(b.advance(by)))
    }
}

/// Several brokers of one ZooKeeper-mode cluster inside this process.
#[pyclass(module = "spate", frozen)]
struct Cluster {
    held: Held<spate::Cluster>,
    bootstrap: String,
    /// Each broker's id, `HOST:PORT` and port.
    brokers: Vec<(i32, String, u16)>,
}

#[pymethods]
impl Cluster {
    /// Starts `brokers` brokers (ids 1 to N) registered in the ZooKeeper
    /// at `zookeeper` (`host:port[/chroot]`), and returns once each sees
    /// all of them and a controller, and every partition of `topics` has
    /// a leader.
    #[new]
    #[pyo3(signature = (zookeeper, brokers=3, topics=None, *, replication_factor=None, properties=None))]
    fn new(
        py: Python<'_>,
        zookeeper: String,
        brokers: u16,
        topics: Option<&Bound<'_, PyAny>>,
        replication_factor: Option<i16>,
        properties: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Cluster> {
        let mut props = self::properties(properties)?;
        const DELAY: &str = "group.initial.rebalance.delay.ms";
        if !props.iter().any(|(k, _)| k == DELAY) {
            props.push((DELAY.into(), "0".into()));
        }
        let config = spate::ClusterConfig {
            brokers,
            zookeeper,
            topics: self::topics(topics)?,
            replication_factor,
            properties: props,
        };
        let held = Held::start(py, move || spate::Cluster::start(config))?;
        let (bootstrap, brokers) = held.with(py, |r| {
            let c = r.get();
            let each = c.ids().into_iter().filter_map(|id| {
                let b = c.broker(id)?;
                Some((id, b.bootstrap(), b.port()))
            });
            Ok((c.bootstrap(), each.collect()))
        })?;
        Ok(Cluster {
            held,
            bootstrap,
            brokers,
        })
    }

    /// Every broker's `"HOST:PORT"`, comma-separated.
    #[getter]
    fn bootstrap_servers(&self) -> &str {
        &self.bootstrap
    }

    /// The brokers' ids.
    #[getter]
    fn ids(&self) -> Vec<i32> {
        self.brokers.iter().map(|(id, _, _)| *id).collect()
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.held.closed()
    }

    /// Broker `id`, as a `Broker` with its faults and controls; it stops
    /// with the cluster. An id the cluster has not is a `ValueError`.
    fn broker(slf: &Bound<'_, Self>, id: i32) -> PyResult<Broker> {
        let me = slf.get();
        let Some((_, bootstrap, port)) = me.brokers.iter().find(|(i, _, _)| *i == id) else {
            return Err(PyValueError::new_err(format!(
                "no broker {id} in this cluster (its ids: {:?})",
                me.ids()
            )));
        };
        Ok(Broker {
            of: Of::Cluster(slf.clone().unbind(), id),
            bootstrap: bootstrap.clone(),
            port: *port,
        })
    }

    /// The leader of `partition` of `topic`, as the controller says.
    fn leader(&self, py: Python<'_>, topic: String, partition: i32) -> PyResult<i32> {
        self.held
            .with(py, |r| r.rt().block_on(r.get().leader(&topic, partition)))
    }

    /// Makes broker `to` the leader of `partition` of `topic` (a
    /// reassignment with `to` first, then a preferred election) and
    /// returns once every broker says so.
    fn move_leader(&self, py: Python<'_>, topic: String, partition: i32, to: i32) -> PyResult<()> {
        self.held.with(py, |r| {
            r.rt().block_on(r.get().move_leader(&topic, partition, to))
        })
    }

    /// Stops every broker. Calling it again does nothing.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.held.close(py)
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        let state = if self.closed() { "closed" } else { "running" };
        format!("<spate.Cluster {} {state}>", self.bootstrap)
    }
}

/// Spate's broker inside this Python process.
#[pymodule]
fn _spate(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Broker>()?;
    m.add_class::<Cluster>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
