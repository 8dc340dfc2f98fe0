//! The standalone worker's REST API (`rest.host.name`, `rest.port`,
//! default 8083), with Kafka Connect's paths and JSON shapes:
//!
//! - `GET /`: the worker's version and the Kafka cluster id.
//! - `GET /connectors`: the connectors' names.
//! - `GET /connectors/NAME`, `GET /connectors/NAME/config`.
//! - `GET /connectors/NAME/status`, `GET /connectors/NAME/tasks/ID/status`:
//!   states, with the `trace` of a failure (and `retrying`, the error a
//!   task is retrying now, which Kafka's status does not have).
//! - `PUT /connectors/NAME/pause`, `PUT /connectors/NAME/resume` (202).
//! - `POST /connectors/NAME/restart[?includeTasks=..&onlyFailed=..]` (204,
//!   or 202 with the status when either is given), and
//!   `POST /connectors/NAME/tasks/ID/restart` (204).
//!
//! Errors are Kafka's `{"error_code":404,"message":"..."}`. Creating,
//! changing and deleting connectors through the API is not supported
//! (a standalone worker takes them from its files).

use std::sync::atomic::Ordering;

use anyhow::Context as _;
use axum::extract::{Path, RawQuery, State as Shared};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use serde_json::{json, Value as Json};

use super::status::{status_json, Registry, Restart, State};

/// What the handlers share.
#[derive(Clone)]
struct Api {
    /// The connectors.
    registry: Registry,
    /// This worker's id (`host:port`).
    worker: String,
    /// The Kafka cluster's id, if the broker said it at startup.
    cluster_id: Option<String>,
}

/// Starts the API on `addr` on a thread of its own; returns the bound
/// address.
pub(crate) fn serve(
    addr: &str,
    advertised: (Option<String>, Option<u16>),
    registry: Registry,
    cluster_id: Option<String>,
) -> anyhow::Result<String> {
    let listener = std::net::TcpListener::bind(addr)
        .with_context(|| format!("binding the REST API to {addr}"))?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    let bound = local.to_string();
    // The worker's id, as Kafka's advertised REST address: the
    // advertised host, else the bound one, else (every interface) the
    // machine's host name.
    let host = advertised.0.unwrap_or_else(|| {
        if local.ip().is_unspecified() {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_string())
                .unwrap_or_else(|_| "localhost".to_string())
        } else {
            local.ip().to_string()
        }
    });
    let worker = format!("{host}:{}", advertised.1.unwrap_or(local.port()));
    let api = Api {
        registry,
        worker,
        cluster_id,
    };
    let app = Router::new()
        .route("/", get(root))
        .route("/connectors", get(list))
        .route("/connectors/{name}", get(info))
        .route("/connectors/{name}/config", get(config))
        .route("/connectors/{name}/status", get(status))
        .route("/connectors/{name}/tasks/{id}/status", get(task_status))
        .route("/connectors/{name}/pause", put(pause))
        .route("/connectors/{name}/resume", put(resume))
        .route("/connectors/{name}/restart", post(restart))
        .route("/connectors/{name}/tasks/{id}/restart", post(restart_task))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "HTTP 404 Not Found".into()) })
        .with_state(api);
    std::thread::Builder::new()
        .name("connect-rest".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!("the REST API's runtime: {e}");
                    return;
                }
            };
            rt.block_on(async move {
                match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => {
                        if let Err(e) = axum::serve(l, app).await {
                            tracing::error!("the REST API stopped: {e}");
                        }
                    }
                    Err(e) => tracing::error!("the REST API's listener: {e}"),
                }
            });
        })?;
    Ok(bound)
}

/// A JSON answer.
fn reply(code: StatusCode, body: &Json) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Kafka's error body.
fn error(code: StatusCode, message: String) -> Response {
    reply(
        code,
        &json!({"error_code": code.as_u16(), "message": message}),
    )
}

/// `Connector NAME not found`.
fn not_found(name: &str) -> Response {
    error(StatusCode::NOT_FOUND, format!("Connector {name} not found"))
}

/// Runs `f` on connector `name`, or answers 404.
fn with<T>(
    api: &Api,
    name: &str,
    f: impl FnOnce(&mut super::status::ConnectorEntry) -> T,
) -> Result<T, Response> {
    let mut r = api.registry.lock().map_err(|_| {
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the registry lock is poisoned".into(),
        )
    })?;
    r.get_mut(name).map(f).ok_or_else(|| not_found(name))
}

async fn root(Shared(api): Shared<Api>) -> Response {
    reply(
        StatusCode::OK,
        &json!({"version": env!("CARGO_PKG_VERSION"), "kafka_cluster_id": api.cluster_id}),
    )
}

async fn list(Shared(api): Shared<Api>) -> Response {
    let names: Vec<String> = api
        .registry
        .lock()
        .map(|r| r.keys().cloned().collect())
        .unwrap_or_default();
    reply(StatusCode::OK, &json!(names))
}

async fn info(Shared(api): Shared<Api>, Path(name): Path<String>) -> Response {
    let r = with(&api, &name, |c| {
        let tasks: Vec<Json> = c
            .tasks
            .iter()
            .map(|t| json!({"connector": name, "task": t.id}))
            .collect();
        json!({"name": name, "config": c.config, "tasks": tasks, "type": c.kind})
    });
    match r {
        Ok(j) => reply(StatusCode::OK, &j),
        Err(e) => e,
    }
}

async fn config(Shared(api): Shared<Api>, Path(name): Path<String>) -> Response {
    match with(&api, &name, |c| json!(c.config)) {
        Ok(j) => reply(StatusCode::OK, &j),
        Err(e) => e,
    }
}

async fn status(Shared(api): Shared<Api>, Path(name): Path<String>) -> Response {
    let worker = api.worker.clone();
    match with(&api, &name, |c| status_json(&name, c, &worker)) {
        Ok(j) => reply(StatusCode::OK, &j),
        Err(e) => e,
    }
}

async fn task_status(
    Shared(api): Shared<Api>,
    Path((name, id)): Path<(String, usize)>,
) -> Response {
    let worker = api.worker.clone();
    match with(&api, &name, |c| status_json(&name, c, &worker)) {
        Ok(j) => match j["tasks"]
            .as_array()
            .and_then(|ts| ts.iter().find(|t| t["id"] == id))
        {
            Some(t) => reply(StatusCode::OK, t),
            None => error(StatusCode::NOT_FOUND, format!("Task {name}-{id} not found")),
        },
        Err(e) => e,
    }
}

async fn pause(Shared(api): Shared<Api>, Path(name): Path<String>) -> Response {
    match with(&api, &name, |c| c.paused.store(true, Ordering::Relaxed)) {
        Ok(()) => StatusCode::ACCEPTED.into_response(),
        Err(e) => e,
    }
}

async fn resume(Shared(api): Shared<Api>, Path(name): Path<String>) -> Response {
    match with(&api, &name, |c| c.paused.store(false, Ordering::Relaxed)) {
        Ok(()) => StatusCode::ACCEPTED.into_response(),
        Err(e) => e,
    }
}

/// A boolean query parameter.
fn flag(query: &Option<String>, name: &str) -> Option<bool> {
    query.as_deref()?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, "true"));
        (k == name).then(|| v.eq_ignore_ascii_case("true"))
    })
}

async fn restart(
    Shared(api): Shared<Api>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let include_tasks = flag(&query, "includeTasks");
    let only_failed = flag(&query, "onlyFailed");
    let asked = Restart {
        include_tasks: include_tasks.unwrap_or(false),
        only_failed: only_failed.unwrap_or(false),
        task: None,
    };
    let worker = api.worker.clone();
    let r = with(&api, &name, |c| {
        c.restart = Some(asked);
        let mut j = status_json(&name, c, &worker);
        // What will restart shows as RESTARTING, as Kafka's answer.
        if !asked.only_failed || j["connector"]["state"] == State::Failed.name() {
            j["connector"]["state"] = "RESTARTING".into();
        }
        if let Some(tasks) = j["tasks"].as_array_mut() {
            for t in tasks {
                if asked.include_tasks && (!asked.only_failed || t["state"] == State::Failed.name())
                {
                    t["state"] = "RESTARTING".into();
                }
            }
        }
        j
    });
    match r {
        Ok(_) if include_tasks.is_none() && only_failed.is_none() => {
            StatusCode::NO_CONTENT.into_response()
        }
        Ok(j) => reply(StatusCode::ACCEPTED, &j),
        Err(e) => e,
    }
}

async fn restart_task(
    Shared(api): Shared<Api>,
    Path((name, id)): Path<(String, usize)>,
) -> Response {
    let r = with(&api, &name, |c| {
        c.tasks.iter().find(|t| t.id == id)?;
        c.restart = Some(Restart {
            include_tasks: true,
            only_failed: false,
            task: Some(id),
        });
        Some(())
    });
    match r {
        Ok(Some(())) => StatusCode::NO_CONTENT.into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, format!("Task {name}-{id} not found")),
        Err(e) => e,
    }
}
