//! Starting and stopping a broker inside a tokio runtime: [`start`] binds
//! the listeners, registers in the cluster when there is one, and spawns
//! the accept loops and the owner; [`Running::shutdown`] stops them in
//! Kafka's order. `spate serve` runs one between the two until a signal;
//! `spate::Broker` (the library) until its handle is closed or dropped.

use super::owner::own;
use super::*;
use crate::clock::Clock;
use spate_core::security::SecurityProtocol;

/// A broker that is serving.
pub(crate) struct Running {
    /// Each listener's bound address, in `listeners` order.
    pub addrs: Vec<SocketAddr>,
    /// Where `/metrics` is served, if it is.
    pub metrics: Option<SocketAddr>,
    /// The owner's inputs.
    pub inputs: mpsc::UnboundedSender<Input>,
    /// The broker's time.
    pub clock: Clock,
    /// The delays and drops its connections apply.
    pub faults: Arc<faults::DriverFaults>,
    /// The frames-in-flight budget (an embedded broker's own requests
    /// take their share like any connection's).
    pub budget: Arc<Semaphore>,
    stop_tx: tokio::sync::watch::Sender<bool>,
    stop_rx: tokio::sync::watch::Receiver<bool>,
    accepts: Vec<tokio::task::JoinHandle<()>>,
    owner: tokio::task::JoinHandle<Result<(), String>>,
    member: Option<cluster::Member>,
    controlled_shutdown: cluster::shutdown::ShutdownConfig,
}

/// Starts serving `storage` with `settings` (joining the cluster when
/// `joining`), on `clock`'s time.
pub(crate) async fn start<S: Store>(
    mut settings: Settings,
    storage: S,
    joining: Option<Joining<ZooKeeper>>,
    clock: Clock,
) -> Result<Running> {
    let quota = quota::ConnQuota::new(settings.connections.clone())
        .map_err(|e| anyhow::anyhow!("server.properties: {e}"))?;
    let mut bound = Vec::new();
    for l in &settings.listeners {
        let socket = TcpListener::bind(&l.bind)
            .await
            .with_context(|| format!("listener {}: listening on {}", l.name, l.bind))?;
        let local = socket.local_addr()?;
        bound.push((l.clone(), socket, advertised_endpoint(l, local)));
    }
    // This broker's address for clients of the listener the core names
    // other brokers by, else of the first advertised listener.
    let me = bound
        .iter()
        .filter_map(|(l, _, adv)| Some((l, adv.as_ref()?)))
        .min_by_key(|(l, _)| l.name != settings.config.listener_name);
    if let Some((_, (host, port))) = me {
        settings.config.advertised_host = host.clone();
        settings.config.advertised_port = *port;
    }
    settings.config.advertised_listeners = bound
        .iter()
        .filter_map(|(l, _, adv)| {
            let (host, port) = adv.clone()?;
            Some(Endpoint {
                listener: l.name.clone(),
                host,
                port,
                protocol: l.protocol,
            })
        })
        .collect();
    // The owner's inputs; the first may be the broker epoch of the
    // registration below, waiting for the owner to start.
    let (tx, rx) = mpsc::unbounded_channel();
    // Registered once it listens, so the address it registers answers; and
    // before it says so, so that a broker that says it listens is a member.
    let member = match joining {
        Some(j) => {
            let me = BrokerInfo {
                id: settings.config.node_id,
                host: settings.config.advertised_host.clone(),
                port: settings.config.advertised_port,
                rack: settings.config.rack.clone(),
                endpoints: settings.config.advertised_listeners.clone(),
            };
            let owner = tx.clone();
            let tell: cluster::Tell = Box::new(move |news| {
                let _ = owner.send(Input::Cluster(news));
            });
            let security = settings.inter_broker.clone();
            match j.join(me, tell, (settings.rebalance, security)).await {
                Ok(m) => Some(m),
                Err(e) => {
                    let _ = storage.close();
                    return Err(
                        anyhow::Error::new(e).context("registering this broker in the cluster")
                    );
                }
            }
        }
        None => None,
    };
    let broker = Broker::new(settings.config.clone(), storage, clock.now())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some((addr, dir)) = &settings.playground {
        let relay = match &settings.console {
            Some(to) => {
                let plain = bound
                    .iter()
                    .find(|(l, _, _)| matches!(l.protocol, SecurityProtocol::Plaintext))
                    .map(|(_, socket, _)| socket.local_addr())
                    .transpose()?;
                Some(console_relay(to.clone(), plain)?)
            }
            None => None,
        };
        playground::start(addr, dir.clone(), settings.tap.clone(), relay).await?;
    }
    let mut addrs = Vec::new();
    for (l, socket, adv) in &bound {
        addrs.push(socket.local_addr()?);
        info!(listener = %l.name, protocol = l.protocol.name(), advertised = ?adv, "listener");
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let metrics = match &settings.metrics {
        Some(addr) => Some(metrics::start(addr, tx.downgrade(), stop_rx.clone()).await?),
        None => None,
    };
    info!(advertised = %format!("{}:{}", settings.config.advertised_host, settings.config.advertised_port), "spate is serving");
    let mut next_id: ConnId = 1;
    let max = settings.max_request_bytes;
    let faults = Arc::new(faults::DriverFaults::default());
    let mut accepts = Vec::new();
    let budget = Arc::new(Semaphore::new(IN_FLIGHT_BYTES));
    let spares = Arc::new(spares::Spares::default());
    for (l, socket, _) in bound {
        let shared = conn::Shared {
            owner: tx.clone(),
            max_request: max,
            budget: budget.clone(),
            faults: faults.clone(),
            idle: settings.idle,
            spares: spares.clone(),
        };
        let tls = settings.tls.get(&l.name).cloned();
        let mut stop = stop_rx.clone();
        let base = next_id;
        next_id += 1 << 40;
        let quota = quota.clone();
        // Kafka's protected listener: the inter-broker one, when there
        // are others, is not held back by max.connections.
        let protected = l.name == settings.inter_broker_listener && settings.listeners.len() > 1;
        accepts.push(tokio::spawn(async move {
            let mut id = base;
            loop {
                tokio::select! {
                    _ = quota.wait_for_slot(protected) => {}
                    _ = stop.changed() => return,
                }
                tokio::select! {
                    res = socket.accept() => match res {
                        Ok((stream, peer)) => match quota.admit(peer.ip()) {
                            Ok(slot) => {
                                id += 1;
                                let name = l.name.clone();
                                tokio::spawn(conn::accept(id, (stream, slot), peer, name, tls.clone(), shared.clone()));
                            }
                            Err(max) => info!(
                                "Rejected connection from {}, address already has the configured maximum of {max} connections.",
                                peer.ip()
                            ),
                        },
                        Err(e) => warn!(error = %e, "accept failed"),
                    },
                    _ = stop.changed() => return,
                }
            }
        }));
    }
    let commands = member.as_ref().map(cluster::Member::commands);
    let owner = tokio::spawn(own(
        broker,
        (tx.downgrade(), rx),
        commands,
        (settings.fsync, settings.inter_broker.clone()),
        quota::Follower::new(quota),
        (
            settings.tap.clone(),
            clock.clone(),
            settings.metrics.is_some(),
        ),
    ));
    let owner = tokio::spawn(async move {
        match owner.await {
            Ok(r) => r.map_err(|e| format!("closing the logs failed: {e}")),
            Err(e) => Err(format!("the broker task failed: {e}")),
        }
    });
    Ok(Running {
        addrs,
        metrics,
        inputs: tx,
        clock,
        faults,
        budget,
        stop_tx,
        stop_rx,
        accepts,
        owner,
        member,
        controlled_shutdown: settings.controlled_shutdown,
    })
}

impl Running {
    /// Leaves out the controlled shutdown when stopping: for a whole
    /// cluster stopping together, where no broker stays to take the
    /// leadership (each try would fail and wait out
    /// `controlled.shutdown.retry.backoff.ms`).
    pub(crate) fn skip_controlled_shutdown(&mut self) {
        self.controlled_shutdown.enable = false;
    }

    /// Stops: leadership moves away first in a cluster (Kafka's
    /// controlled shutdown), then no new connections are taken, requests
    /// already received are answered, and the logs are flushed and marked
    /// cleanly shut down. `Err`: closing the logs failed.
    pub(crate) async fn shutdown(mut self) -> Result<(), String> {
        if let Some(m) = &self.member {
            info!("shutting down: moving leadership away");
            m.shut_down_controlled(self.controlled_shutdown).await;
        }
        info!("shutting down: no new connections");
        let _ = self.stop_tx.send(true);
        for a in self.accepts.drain(..) {
            let _ = a.await;
        }
        self.stop_rx.mark_changed();
        let _ = self.inputs.send(Input::Shutdown);
        let result = (&mut self.owner)
            .await
            .unwrap_or_else(|e| Err(format!("the broker task failed: {e}")));
        match &result {
            Ok(()) => info!("logs flushed; clean shutdown"),
            Err(e) => warn!(error = %e, "shutting down"),
        }
        if let Some(m) = self.member.take() {
            m.leave().await;
        }
        result
    }

    /// Stops without waiting (a handle dropped unclosed): the accept loops
    /// end and the owner closes the logs on its own time.
    pub(crate) fn stop_now(&self) {
        let _ = self.stop_tx.send(true);
        let _ = self.inputs.send(Input::Shutdown);
    }
}

/// Where clients are told to reach listener `l`, bound at `local`: its
/// advertised host and port, the bound port for port 0, and for an empty
/// host the bound address, or this machine's host name when bound to
/// every interface (Kafka advertises the canonical host name).
pub(super) fn advertised_endpoint(
    l: &listeners::Listener,
    local: SocketAddr,
) -> Option<(String, i32)> {
    let (host, port) = l.advertised.clone()?;
    let port = if port == 0 {
        i32::from(local.port())
    } else {
        port
    };
    let host = match host.as_str() {
        "" if local.ip().is_unspecified() => std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into()),
        "" => local.ip().to_string(),
        h => h.to_string(),
    };
    Some((host, port))
}

/// `--console`'s relay: to `to`, else to this broker's first PLAINTEXT
/// listener, bound at `plain` (a wildcard bind reached on the loopback
/// address).
fn console_relay(to: Option<String>, plain: Option<SocketAddr>) -> Result<console::Relay> {
    if let Some(to) = to {
        return Ok(console::Relay::new(to));
    }
    let mut at = plain.ok_or_else(|| {
        anyhow::anyhow!(
            "--console needs a PLAINTEXT listener to send its requests to, or --console-bootstrap"
        )
    })?;
    if at.ip().is_unspecified() {
        at.set_ip(if at.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    Ok(console::Relay::new(at.to_string()))
}
