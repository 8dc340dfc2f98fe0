//! [`Held`]: what a Python `Broker` or `Cluster` holds, a library broker
//! or cluster on a tokio runtime of its own.
//!
//! Its worker threads serve while Python code runs. Each call that waits
//! on it releases the GIL. [`Held::close`] stops it gracefully, and a
//! second close does nothing; dropped unclosed (garbage collected, or at
//! interpreter exit) it stops without waiting, so that it never holds the
//! exit up: its threads are not Python's.

use std::future::Future;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use pyo3::exceptions::{PyOSError, PyRuntimeError};
use pyo3::prelude::*;
use tokio::runtime::Runtime;

use crate::py_error;

/// What a [`Held`] runs.
pub(crate) trait Runs: Send + 'static {
    /// Its name in messages and thread names: "broker", "cluster".
    const WHAT: &'static str;

    /// Stops it gracefully (as `spate::Broker::close`).
    async fn close(&mut self) -> Result<(), spate::Error>;
}

impl Runs for spate::Broker {
    const WHAT: &'static str = "broker";

    async fn close(&mut self) -> Result<(), spate::Error> {
        spate::Broker::close(self).await
    }
}

impl Runs for spate::Cluster {
    const WHAT: &'static str = "cluster";

    async fn close(&mut self) -> Result<(), spate::Error> {
        spate::Cluster::close(self).await
    }
}

/// A runtime and what it runs.
pub(crate) struct Running<T> {
    rt: Option<Runtime>,
    value: Option<T>,
}

impl<T> Running<T> {
    /// What it runs.
    pub(crate) fn get(&self) -> &T {
        self.value.as_ref().expect("a Running always has its value")
    }

    /// Its runtime, to wait on.
    pub(crate) fn rt(&self) -> &Runtime {
        self.rt.as_ref().expect("a Running always has its runtime")
    }
}

impl<T> Drop for Running<T> {
    fn drop(&mut self) {
        // Not closed: dropping the broker (or cluster) stops its tasks,
        // and the runtime goes without waiting for them.
        drop(self.value.take());
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// A `T` on a runtime of its own until closed.
pub(crate) struct Held<T: Runs> {
    running: Mutex<Option<Running<T>>>,
}

impl<T: Runs> Held<T> {
    /// Builds a runtime (two worker threads) and runs `start()` on it to
    /// its end, without the GIL.
    pub(crate) fn start<F>(py: Python<'_>, start: impl FnOnce() -> F + Send) -> PyResult<Held<T>>
    where
        F: Future<Output = Result<T, spate::Error>>,
    {
        let running = py.detach(move || -> PyResult<Running<T>> {
            let what = T::WHAT;
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name(format!("spate-{what}"))
                .enable_all()
                .build()
                .map_err(|e| PyOSError::new_err(format!("starting the {what}'s runtime: {e}")))?;
            match rt.block_on(start()) {
                Ok(value) => Ok(Running {
                    rt: Some(rt),
                    value: Some(value),
                }),
                Err(e) => {
                    rt.shutdown_background();
                    Err(py_error(e))
                }
            }
        })?;
        Ok(Held {
            running: Mutex::new(Some(running)),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Option<Running<T>>> {
        // A panic while locked leaves plain data behind.
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on what runs, without the GIL; a `RuntimeError` once
    /// closed.
    pub(crate) fn with<R: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&Running<T>) -> Result<R, spate::Error> + Send,
    ) -> PyResult<R> {
        py.detach(|| match self.lock().as_ref() {
            Some(r) => f(r).map_err(py_error),
            None => Err(PyRuntimeError::new_err(format!(
                "the {} is closed",
                T::WHAT
            ))),
        })
    }

    /// Whether [`Held::close`] was called.
    pub(crate) fn closed(&self) -> bool {
        self.lock().is_none()
    }

    /// Stops it gracefully, without the GIL; again, nothing.
    pub(crate) fn close(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| {
            let Some(mut r) = self.lock().take() else {
                return Ok(());
            };
            let rt = r.rt.take().expect("a Running always has its runtime");
            let mut value = r.value.take().expect("a Running always has its value");
            let result = rt.block_on(value.close());
            drop(value);
            rt.shutdown_timeout(Duration::from_secs(1));
            result.map_err(py_error)
        })
    }
}
