//! `spate connect standalone WORKER.properties CONNECTOR.properties...`:
//! reads the files, starts each connector's tasks on threads of their
//! own, serves the REST API ([`super::rest`]), carries out restarts, and
//! on SIGTERM or Ctrl-C stops every task (sources flush their offsets,
//! sinks flush and commit) before it exits.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{sleep, JoinHandle};
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use clap::{Args, Subcommand};

use super::config::{read_props, ConnectorConfig, WorkerConfig};
use super::convert::Converter;
use super::offsets::OffsetStore;
use super::status::{ConnectorEntry, Registry, Restart, State, TaskCtl, TaskStatus};
use super::task::Plugin;
use super::{plugins, rest, sink, source};
use crate::client::ConnArgs;

/// Kafka Connect.
#[derive(Debug, Args)]
pub(crate) struct ConnectArgs {
    /// The mode.
    #[command(subcommand)]
    mode: Mode,
    /// How logs are written to stderr: `text` lines, or `json`, one
    /// object per line. `SPATE_LOG` filters them (default `info`).
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "FORMAT",
        default_value = "text"
    )]
    log_format: crate::logging::LogFormat,
}

/// Connect's modes.
#[derive(Debug, Subcommand)]
enum Mode {
    /// A standalone worker, as `connect-standalone.sh`: the worker's
    /// properties file, then one properties file per connector.
    Standalone {
        /// The worker's properties (Kafka's `connect-standalone.properties`).
        worker: PathBuf,
        /// One properties file per connector.
        #[arg(required = true)]
        connectors: Vec<PathBuf>,
    },
}

/// Everything the worker runs.
struct Worker {
    /// The worker's settings.
    config: WorkerConfig,
    /// The connectors and their tasks' statuses.
    registry: Registry,
    /// The offset file.
    offsets: Arc<Mutex<OffsetStore>>,
    /// Task threads, by connector and task number.
    threads: BTreeMap<(String, usize), JoinHandle<()>>,
    /// Each connector's config as read, by name.
    connectors: BTreeMap<String, ConnectorConfig>,
}

/// Runs `spate connect`.
pub(crate) fn run(args: ConnectArgs) -> anyhow::Result<ExitCode> {
    let Mode::Standalone { worker, connectors } = args.mode;
    crate::logging::init(args.log_format, "info");
    let config = WorkerConfig::from_props(&read_props(&worker)?)
        .with_context(|| format!("reading the worker file {}", worker.display()))?;
    let mut parsed = Vec::new();
    for path in &connectors {
        let c = ConnectorConfig::from_props(read_props(path)?)
            .with_context(|| format!("reading the connector file {}", path.display()))?;
        if parsed.iter().any(|p: &ConnectorConfig| p.name == c.name) {
            bail!("two connector files name `{}`", c.name);
        }
        parsed.push(c);
    }
    // The worker's converters must exist even if every connector
    // overrides them, as Kafka checks them at startup.
    Converter::new(&config.key_converter).context("key.converter")?;
    Converter::new(&config.value_converter).context("value.converter")?;
    let offsets = Arc::new(Mutex::new(OffsetStore::load(&config.offset_file)?));
    let registry: Registry = Arc::new(Mutex::new(BTreeMap::new()));
    let stop = crate::cli::stop_on_signal();
    let cluster_id = crate::client::Client::connect(&ConnArgs {
        brokers: config.bootstrap.clone(),
        command_config: None,
        props: config.producer_client.clone(),
    })
    .and_then(|mut c| c.metadata(Some(&[])))
    .ok()
    .and_then(|m| m.cluster_id.map(|id| id.to_string()));
    let advertised = (
        config.rest_advertised_host.clone(),
        config.rest_advertised_port,
    );
    let addr = rest::serve(
        &config.rest_addr,
        advertised,
        Arc::clone(&registry),
        cluster_id,
    )?;
    eprintln!("REST API listening on {addr}");
    let mut w = Worker {
        config,
        registry,
        offsets,
        threads: BTreeMap::new(),
        connectors: BTreeMap::new(),
    };
    for c in parsed {
        w.add(c);
    }
    while !stop.load(Ordering::Relaxed) {
        sleep(Duration::from_millis(100));
        w.restarts();
    }
    eprintln!("stopping: flushing offsets");
    w.stop_all();
    Ok(ExitCode::SUCCESS)
}

impl Worker {
    /// Registers a connector and starts its tasks (a connector whose
    /// config is refused is registered as FAILED, with why).
    fn add(&mut self, c: ConnectorConfig) {
        let name = c.name.clone();
        let paused = Arc::new(AtomicBool::new(false));
        let kind = match plugins::find(&c.class) {
            Some(Plugin::Source { .. }) => "source",
            Some(Plugin::Sink { .. }) => "sink",
            None => "unknown",
        };
        let entry = ConnectorEntry {
            kind,
            config: c.props.clone(),
            paused,
            failed: None,
            tasks: Vec::new(),
            restart: None,
        };
        if let Ok(mut r) = self.registry.lock() {
            r.insert(name.clone(), entry);
        }
        self.connectors.insert(name.clone(), c);
        self.start_connector(&name);
    }

    /// Splits the connector into tasks and starts them all.
    fn start_connector(&mut self, name: &str) {
        let Some(c) = self.connectors.get(name).cloned() else {
            return;
        };
        let configs = plugins::find(&c.class)
            .ok_or_else(|| {
                anyhow!(
                    "connector.class `{}` is not one spate has ({})",
                    c.class,
                    plugins::NAMES.join(", ")
                )
            })
            .and_then(|p| match p {
                Plugin::Source { task_configs, .. } | Plugin::Sink { task_configs, .. } => {
                    task_configs(&c.props, c.tasks_max)
                }
            });
        let configs = {
            let Ok(mut r) = self.registry.lock() else {
                return;
            };
            let Some(entry) = r.get_mut(name) else { return };
            match configs {
                Err(e) => {
                    tracing::error!("connector {name} failed: {e:#}");
                    entry.failed = Some(super::status::trace(&e));
                    return;
                }
                Ok(configs) => {
                    entry.failed = None;
                    entry.tasks = (0..configs.len())
                        .map(|id| {
                            Arc::new(TaskCtl {
                                connector: name.to_string(),
                                id,
                                stop: AtomicBool::new(false),
                                paused: Arc::clone(&entry.paused),
                                status: Mutex::new(TaskStatus {
                                    state: State::Unassigned,
                                    trace: None,
                                    retrying: None,
                                }),
                            })
                        })
                        .collect();
                    configs
                }
            }
        };
        for (id, props) in configs.into_iter().enumerate() {
            self.start_task(name, id, props);
        }
    }

    /// Starts task `id` of `name` on a new thread.
    fn start_task(&mut self, name: &str, id: usize, props: super::task::Props) {
        let Some(c) = self.connectors.get(name).cloned() else {
            return;
        };
        let Some(ctl) = self
            .registry
            .lock()
            .ok()
            .and_then(|r| r.get(name).and_then(|e| e.tasks.get(id).cloned()))
        else {
            return;
        };
        let converters = (|| -> anyhow::Result<(Converter, Converter)> {
            let key = Converter::new(
                c.key_converter
                    .as_ref()
                    .unwrap_or(&self.config.key_converter),
            )
            .context("key.converter")?;
            let value = Converter::new(
                c.value_converter
                    .as_ref()
                    .unwrap_or(&self.config.value_converter),
            )
            .context("value.converter")?;
            Ok((key, value))
        })();
        let converters = match converters {
            Ok(c) => c,
            Err(e) => {
                ctl.fail(&e);
                return;
            }
        };
        let conn = |pairs: &[(String, String)]| ConnArgs {
            brokers: self.config.bootstrap.clone(),
            command_config: None,
            props: pairs.to_vec(),
        };
        let thread = format!("{name}-{id}");
        let handle = match plugins::find(&c.class) {
            Some(Plugin::Source { task, .. }) => {
                let run = source::SourceRun {
                    ctl,
                    task: task(),
                    props,
                    converters,
                    tolerate_all: c.errors.tolerate_all,
                    conn: conn(&self.config.producer_client),
                    offsets: Arc::clone(&self.offsets),
                    flush_interval: self.config.offset_flush_interval,
                };
                std::thread::Builder::new()
                    .name(thread)
                    .spawn(move || source::run(run))
            }
            Some(Plugin::Sink { task, .. }) => {
                let topics = match c.sink_topics() {
                    Ok(t) => t,
                    Err(e) => {
                        ctl.fail(&e);
                        return;
                    }
                };
                let run = sink::SinkRun {
                    ctl,
                    task: task(),
                    props,
                    topics,
                    converters,
                    errors: c.errors.clone(),
                    conn: conn(&self.config.consumer_client),
                    producer_conn: conn(&self.config.producer_client),
                    flush_interval: self.config.offset_flush_interval,
                };
                std::thread::Builder::new()
                    .name(thread)
                    .spawn(move || sink::run(run))
            }
            None => return,
        };
        match handle {
            Ok(h) => {
                self.threads.insert((name.to_string(), id), h);
            }
            Err(e) => tracing::error!("starting a thread for {name}-{id}: {e}"),
        }
    }

    /// Carries out the restarts the REST API asked for.
    fn restarts(&mut self) {
        let asked: Vec<(String, Restart)> = match self.registry.lock() {
            Ok(mut r) => r
                .iter_mut()
                .filter_map(|(n, e)| Some((n.clone(), e.restart.take()?)))
                .collect(),
            Err(_) => return,
        };
        for (name, restart) in asked {
            let (connector_failed, tasks) = match self.registry.lock() {
                Ok(r) => match r.get(&name) {
                    Some(e) => (e.failed.is_some(), e.tasks.clone()),
                    None => continue,
                },
                Err(_) => return,
            };
            if !restart.include_tasks {
                // Only the connector: its config is checked and split
                // again when it failed; running tasks go on.
                if connector_failed || tasks.is_empty() {
                    self.start_connector(&name);
                }
                continue;
            }
            let failed = |t: &TaskCtl| {
                t.status
                    .lock()
                    .map(|s| s.state == State::Failed)
                    .unwrap_or(true)
            };
            if connector_failed || tasks.is_empty() {
                self.start_connector(&name);
                continue;
            }
            let configs = self
                .connectors
                .get(&name)
                .and_then(|c| match plugins::find(&c.class)? {
                    Plugin::Source { task_configs, .. } | Plugin::Sink { task_configs, .. } => {
                        task_configs(&c.props, c.tasks_max).ok()
                    }
                })
                .unwrap_or_default();
            for t in tasks {
                if restart.task.is_some_and(|id| id != t.id) || (restart.only_failed && !failed(&t))
                {
                    continue;
                }
                t.stop.store(true, Ordering::Relaxed);
                if let Some(h) = self.threads.remove(&(name.clone(), t.id)) {
                    let _ = h.join();
                }
                t.stop.store(false, Ordering::Relaxed);
                t.set(State::Unassigned);
                if let Some(props) = configs.get(t.id) {
                    self.start_task(&name, t.id, props.clone());
                }
            }
        }
    }

    /// Stops every task and waits for each to flush.
    fn stop_all(&mut self) {
        if let Ok(r) = self.registry.lock() {
            for e in r.values() {
                for t in &e.tasks {
                    t.stop.store(true, Ordering::Relaxed);
                }
            }
        }
        for ((name, id), h) in std::mem::take(&mut self.threads) {
            if h.join().is_err() {
                tracing::error!("task {name}-{id} panicked");
            }
        }
    }
}
