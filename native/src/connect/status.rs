//! What the worker runs and how it is doing, shared between the task
//! threads, the REST API and the main thread: each connector's config,
//! state (RUNNING, PAUSED, FAILED) and tasks, each task's state and, when
//! it failed, the trace; the flags the REST API raises (pause, resume,
//! restart) and the task threads read.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value as Json};

use super::task::Props;

/// A connector's or task's state, as Kafka names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Not started (yet), or stopped.
    Unassigned,
    /// Running.
    Running,
    /// Paused through the REST API.
    Paused,
    /// Failed; the trace says why.
    Failed,
}

impl State {
    /// Kafka's name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            State::Unassigned => "UNASSIGNED",
            State::Running => "RUNNING",
            State::Paused => "PAUSED",
            State::Failed => "FAILED",
        }
    }
}

/// One task's shared control and status.
#[derive(Debug)]
pub(crate) struct TaskCtl {
    /// The connector's name.
    pub(crate) connector: String,
    /// The task number.
    pub(crate) id: usize,
    /// Raised to stop the task (shutdown, restart).
    pub(crate) stop: AtomicBool,
    /// Raised while the connector is paused.
    pub(crate) paused: Arc<AtomicBool>,
    /// State, trace, and the last retried error.
    pub(crate) status: Mutex<TaskStatus>,
}

/// A task's reported status.
#[derive(Debug, Clone)]
pub(crate) struct TaskStatus {
    /// Its state.
    pub(crate) state: State,
    /// Why it failed.
    pub(crate) trace: Option<String>,
    /// The error being retried now, if any (a broker or destination
    /// outage); cleared when the retried call succeeds.
    pub(crate) retrying: Option<String>,
}

impl TaskCtl {
    /// Whether the task should stop.
    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Whether the connector is paused.
    pub(crate) fn is_paused(&self) -> bool {
        self.paused.load(Ordering::Relaxed)
    }

    /// Sets the state (a failed task keeps its trace).
    pub(crate) fn set(&self, state: State) {
        if let Ok(mut s) = self.status.lock() {
            if s.state != state {
                tracing::info!("{}-{}: {}", self.connector, self.id, state.name());
            }
            s.state = state;
            if state != State::Failed {
                s.trace = None;
            }
        }
    }

    /// Fails the task with `error`, whose chain becomes the trace.
    pub(crate) fn fail(&self, error: &anyhow::Error) {
        tracing::error!("{}-{} failed: {error:#}", self.connector, self.id);
        if let Ok(mut s) = self.status.lock() {
            s.state = State::Failed;
            s.trace = Some(trace(error));
            s.retrying = None;
        }
    }

    /// Notes a retried error (`None`: the retry succeeded).
    pub(crate) fn retrying(&self, error: Option<&anyhow::Error>) {
        if let Ok(mut s) = self.status.lock() {
            if let Some(e) = error {
                tracing::warn!("{}-{}: retrying after: {e:#}", self.connector, self.id);
            }
            s.retrying = error.map(|e| format!("{e:#}"));
        }
    }

    /// Runs a task's loop `run` on `r` as RUNNING, then `stop`s the task: the
    /// task is UNASSIGNED when the loop ended (the worker stops it), or
    /// FAILED with the loop's error.
    pub(crate) fn run_task<R>(
        &self,
        r: &mut R,
        run: impl FnOnce(&mut R) -> anyhow::Result<()>,
        stop: impl FnOnce(&mut R),
    ) {
        self.set(State::Running);
        let result = run(r);
        stop(r);
        match result {
            Ok(()) => self.set(State::Unassigned),
            Err(e) => self.fail(&e),
        }
    }

    /// A retry callback for the producer: notes the error, and goes on
    /// unless the task is stopping.
    pub(crate) fn retry(&self) -> impl FnMut(&anyhow::Error) -> bool + '_ {
        |e| {
            self.retrying(Some(e));
            !self.stopping()
        }
    }
}

/// A failure as a Java-style trace: the error, then `Caused by:` lines.
pub(crate) fn trace(error: &anyhow::Error) -> String {
    let mut chain = error.chain();
    let mut out = chain.next().map(|e| e.to_string()).unwrap_or_default();
    for cause in chain {
        out.push_str("\nCaused by: ");
        out.push_str(&cause.to_string());
    }
    out
}

/// One connector as the worker runs it.
#[derive(Debug)]
pub(crate) struct ConnectorEntry {
    /// `source` or `sink`.
    pub(crate) kind: &'static str,
    /// Its properties.
    pub(crate) config: Props,
    /// Raised while paused (shared with its tasks).
    pub(crate) paused: Arc<AtomicBool>,
    /// Why the connector itself failed (its config), if it did.
    pub(crate) failed: Option<String>,
    /// Its tasks.
    pub(crate) tasks: Vec<Arc<TaskCtl>>,
    /// Raised by a restart request; the main thread carries it out.
    pub(crate) restart: Option<Restart>,
}

/// A restart request (`POST /connectors/NAME/restart`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Restart {
    /// `includeTasks`: restart the tasks too.
    pub(crate) include_tasks: bool,
    /// `onlyFailed`: only what has failed.
    pub(crate) only_failed: bool,
    /// Only this task (`POST /connectors/NAME/tasks/ID/restart`).
    pub(crate) task: Option<usize>,
}

/// Every connector, by name.
pub(crate) type Registry = Arc<Mutex<BTreeMap<String, ConnectorEntry>>>;

/// The worker's id in statuses (`host:port` of its REST API).
pub(crate) fn status_json(name: &str, c: &ConnectorEntry, worker: &str) -> Json {
    let connector_state = if c.failed.is_some() {
        State::Failed
    } else if c.paused.load(Ordering::Relaxed) {
        State::Paused
    } else {
        State::Running
    };
    let mut connector = json!({"state": connector_state.name(), "worker_id": worker});
    if let Some(t) = &c.failed {
        connector["trace"] = Json::from(t.clone());
    }
    let tasks: Vec<Json> = c
        .tasks
        .iter()
        .map(|t| {
            let s = t.status.lock().map(|s| s.clone()).unwrap_or(TaskStatus {
                state: State::Failed,
                trace: Some("the task's status lock is poisoned".into()),
                retrying: None,
            });
            let mut j = json!({"id": t.id, "state": s.state.name(), "worker_id": worker});
            if let Some(trace) = s.trace {
                j["trace"] = Json::from(trace);
            }
            if let Some(r) = s.retrying {
                j["retrying"] = Json::from(r);
            }
            j
        })
        .collect();
    json!({"name": name, "connector": connector, "tasks": tasks, "type": c.kind})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_have_kafkas_shape() {
        let paused = Arc::new(AtomicBool::new(false));
        let task = |id| {
            Arc::new(TaskCtl {
                connector: "c".into(),
                id,
                stop: AtomicBool::new(false),
                paused: Arc::clone(&paused),
                status: Mutex::new(TaskStatus {
                    state: State::Unassigned,
                    trace: None,
                    retrying: None,
                }),
            })
        };
        let entry = ConnectorEntry {
            kind: "sink",
            config: Props::new(),
            paused: Arc::clone(&paused),
            failed: None,
            tasks: vec![task(0), task(1)],
            restart: None,
        };
        entry.tasks[0].set(State::Running);
        let cause = anyhow::anyhow!("bad bytes").context("Tolerance exceeded in error handler");
        entry.tasks[1].fail(&cause);
        let j = status_json("c", &entry, "h:8083");
        assert_eq!(
            j,
            json!({
                "name": "c",
                "connector": {"state": "RUNNING", "worker_id": "h:8083"},
                "tasks": [
                    {"id": 0, "state": "RUNNING", "worker_id": "h:8083"},
                    {"id": 1, "state": "FAILED", "worker_id": "h:8083",
                     "trace": "Tolerance exceeded in error handler\nCaused by: bad bytes"},
                ],
                "type": "sink",
            })
        );
        paused.store(true, Ordering::Relaxed);
        entry.tasks[0].retrying(Some(&anyhow::anyhow!("broker down")));
        let j = status_json("c", &entry, "h:8083");
        assert_eq!(j["connector"]["state"], "PAUSED");
        assert_eq!(j["tasks"][0]["retrying"], "broker down");
        entry.tasks[0].retrying(None);
        entry.tasks[1].set(State::Running);
        let j = status_json("c", &entry, "h:8083");
        assert_eq!(j["tasks"][0].get("retrying"), None);
        assert_eq!(j["tasks"][1].get("trace"), None);
    }
}
