//! The owner loop: the one task that holds the [`Broker`], applies every
//! input to it and sends its outputs on.

use super::carry::{self, apply, not_in_a_cluster, send};
use super::faults::Control;
use super::reqlog;
use super::*;
use crate::clock::Clock;
use spate_core::broker::Completed;

/// The owner loop: applies inputs to the broker and sends its outputs.
///
/// Each pass takes every input already queued (up to a bound), applies them
/// all, then, under `--fsync always`, makes the appended data durable with
/// one fsync before any response of the pass is sent: a group commit.
/// The fsync runs on a blocking thread ([`Store::begin_flush`]) while the
/// loop goes on taking and applying inputs, so decoding and appending the
/// next requests overlaps the disk's work on the last ones. Outputs wait
/// in order: those of the pass being synced in `held`, those of later
/// passes in `next`, which the next fsync (started when the one in flight
/// is done) covers. No response leaves before the fsync of every append
/// made before it, as with one synchronous fsync per pass.
///
/// Replica requests (a follower fetching from its leaders) go out through
/// [`replica::Replicas`], whose tasks send their answers back on `tx`
/// (held weakly, so that the channel still closes when the serving side
/// drops its senders).
pub(super) async fn own<S: Store>(
    mut broker: Broker<S>,
    (tx, mut rx): (
        mpsc::WeakUnboundedSender<Input>,
        mpsc::UnboundedReceiver<Input>,
    ),
    cluster: Option<mpsc::UnboundedSender<cluster::Command>>,
    (fsync, inter_broker): (FsyncPolicy, Arc<outbound::InterBroker>),
    mut limits: quota::Follower,
    (tap, clock, metered): (Option<inspect::Tap>, Clock, bool),
) -> Result<(), S::Fault> {
    // The request log's filter is set at start: asked once.
    let logged = reqlog::enabled();
    let mut meter = (metered || logged).then(|| metrics::Meter::new(metered, logged));
    broker.metrics_mut().set_timing(metered || logged);
    broker.metrics_mut().set_errors(logged);
    let mut conns: HashMap<ConnId, ConnTx> = HashMap::new();
    let mut replicas = replica::Replicas::new(inter_broker.clone());
    let mut markers = replica::Replicas::for_markers(inter_broker);
    let mut flush_every = match fsync {
        FsyncPolicy::Interval(ms) => Some(tokio::time::interval(Duration::from_millis(ms))),
        _ => None,
    };
    let mut outs = Vec::new();
    let mut upkeep = tokio::time::interval(Duration::from_secs(60));
    let mut post = Post {
        replicas: &mut replicas,
        markers: &mut markers,
        tx: &tx,
        cluster: cluster.as_ref(),
        tap: tap.as_ref(),
        clock: &clock,
    };
    // The fsync in flight, the outputs waiting for it and those of the
    // passes since, waiting for the next one.
    let mut syncing: Option<tokio::task::JoinHandle<Result<(), S::Fault>>> = None;
    let (mut held, mut next) = (Held::default(), Held::default());
    loop {
        // A virtual clock's deadlines come when the test moves it
        // (`Control::Tick`).
        let wait = broker
            .poll_timeout()
            .filter(|_| !clock.is_virtual())
            .map(|d| Duration::from_millis((d - clock.now()).max(0) as u64));
        let first = tokio::select! {
            i = rx.recv() => i,
            _ = async { match wait { Some(w) => tokio::time::sleep(w).await, None => std::future::pending().await } } => {
                broker.handle_timeout(clock.now());
                None
            }
            _ = async { match flush_every.as_mut() { Some(t) => { t.tick().await; } None => std::future::pending().await } } => {
                broker.storage_mut().flush()?;
                continue;
            }
            r = async { match syncing.as_mut() { Some(h) => h.await, None => std::future::pending().await } } => {
                syncing = None;
                match r {
                    Ok(r) => r?,
                    Err(e) => std::panic::resume_unwind(e.into_panic()),
                }
                post.deliver(std::mem::take(&mut held), &mut conns, meter.as_mut());
                if !next.is_empty() {
                    let pass = std::mem::take(&mut next);
                    match broker.storage_mut().begin_flush()? {
                        Some(work) => (syncing, held) = (Some(tokio::task::spawn_blocking(work)), pass),
                        None => post.deliver(pass, &mut conns, meter.as_mut()),
                    }
                }
                continue;
            }
            _ = upkeep.tick() => {
                // A segment that cannot roll (a full disk) keeps taking
                // appends; the next tick tries again.
                if let Err(e) = broker.storage_mut().tick(clock.now()) {
                    warn!(error = %e, "rolling segments by age failed");
                }
                continue;
            }
        };
        let mut stop = false;
        // Answers to the embedding test, sent once the outputs they
        // caused are on their way.
        let mut done = Vec::new();
        if let Some(input) = first {
            let mut ctx = carry::Ctx {
                conns: &mut conns,
                tap: tap.as_ref(),
                meter: meter.as_mut(),
                clock: &clock,
            };
            let mut take = |input| match input {
                Input::Control(c) => control(&mut broker, c, clock.now(), &mut done),
                input => stop |= apply(&mut broker, &mut ctx, input),
            };
            take(input);
            for _ in 0..256 {
                match rx.try_recv() {
                    Ok(input) => take(input),
                    Err(_) => break,
                }
            }
        } else if rx.is_closed() && rx.is_empty() {
            stop = true;
        }
        // An AlterConfigs (or the metadata log) may have changed them.
        limits.check(|name| broker.dynamic_config(name));
        while let Some(out) = broker.poll_output() {
            match (out, &cluster) {
                (Output::CreateTopics { request, topics }, None) => {
                    not_in_a_cluster(&mut broker, request, topics, clock.now());
                }
                (out, _) => outs.push(out),
            }
        }
        // Requests are done when their responses go to their writers
        // (timed and logged then, after the fsync that lets them go).
        let pass = Held {
            outs: std::mem::take(&mut outs),
            done: std::mem::take(&mut done),
            completed: match meter {
                Some(_) => metrics::Meter::take(&mut broker),
                None => Vec::new(),
            },
        };
        if fsync != FsyncPolicy::Always && syncing.is_none() {
            post.deliver(pass, &mut conns, meter.as_mut());
        } else if syncing.is_some() {
            next.extend(pass);
        } else if !pass.is_empty() {
            match broker.storage_mut().begin_flush()? {
                Some(work) => (syncing, held) = (Some(tokio::task::spawn_blocking(work)), pass),
                None => post.deliver(pass, &mut conns, meter.as_mut()),
            }
        }
        if stop {
            if let Some(h) = syncing.take() {
                match h.await {
                    Ok(r) => r?,
                    Err(e) => std::panic::resume_unwind(e.into_panic()),
                }
                post.deliver(std::mem::take(&mut held), &mut conns, meter.as_mut());
            }
            if !next.is_empty() {
                broker.storage_mut().flush()?;
                post.deliver(std::mem::take(&mut next), &mut conns, meter.as_mut());
            }
            return broker.into_storage().close();
        }
    }
}

/// Outputs of one or more passes, and the answers to the embedding test
/// to send once those outputs are on their way.
#[derive(Default)]
struct Held {
    outs: Vec<Output>,
    done: Vec<Box<dyn FnOnce() + Send>>,
    /// The requests answered, timed when the outputs go.
    completed: Vec<Completed>,
}

impl Held {
    fn is_empty(&self) -> bool {
        self.outs.is_empty() && self.done.is_empty() && self.completed.is_empty()
    }

    fn extend(&mut self, later: Held) {
        self.outs.extend(later.outs);
        self.done.extend(later.done);
        self.completed.extend(later.completed);
    }
}

/// Where outputs go besides the connections.
struct Post<'a> {
    replicas: &'a mut replica::Replicas,
    markers: &'a mut replica::Replicas,
    tx: &'a mpsc::WeakUnboundedSender<Input>,
    cluster: Option<&'a mpsc::UnboundedSender<cluster::Command>>,
    tap: Option<&'a inspect::Tap>,
    clock: &'a Clock,
}

impl Post<'_> {
    /// Sends the outputs on, then the answers.
    fn deliver(
        &mut self,
        held: Held,
        conns: &mut HashMap<ConnId, ConnTx>,
        mut meter: Option<&mut metrics::Meter>,
    ) {
        if let Some(m) = meter.as_deref_mut() {
            m.finished(held.completed, std::time::Instant::now());
        }
        for out in held.outs {
            match out {
                Output::Replica {
                    leader,
                    host,
                    port,
                    frame,
                } => {
                    if let Some(tx) = self.tx.upgrade() {
                        self.replicas.send(leader, &host, port, frame, &tx);
                    }
                }
                Output::TxnMarkers {
                    broker,
                    host,
                    port,
                    frame,
                } => {
                    if let Some(tx) = self.tx.upgrade() {
                        self.markers.send(broker, &host, port, frame, &tx);
                    }
                }
                out => {
                    if let (Output::Close { conn, .. }, Some(m)) = (&out, meter.as_deref_mut()) {
                        m.closed(*conn);
                    }
                    send(conns, out, self.cluster, (self.tap, self.clock))
                }
            }
        }
        for d in held.done {
            d();
        }
    }
}

/// Applies an embedding test's [`Control`]; its answer goes in `done`.
fn control<S: Store>(
    broker: &mut Broker<S>,
    c: Control,
    now: i64,
    done: &mut Vec<Box<dyn FnOnce() + Send>>,
) {
    match c {
        Control::InjectError(fault, tx) => {
            let r = broker.inject_error(fault);
            done.push(Box::new(move || {
                let _ = tx.send(r);
            }));
        }
        Control::FailAppends(n, topic, tx) => {
            broker.fail_appends(n, topic);
            done.push(Box::new(move || {
                let _ = tx.send(());
            }));
        }
        Control::ClearFaults(tx) => {
            broker.clear_faults();
            done.push(Box::new(move || {
                let _ = tx.send(());
            }));
        }
        Control::Observe(on, tx) => {
            broker.observe(on);
            done.push(Box::new(move || {
                let _ = tx.send(());
            }));
        }
        Control::Observed(tx) => {
            let seen: Vec<_> = std::iter::from_fn(|| broker.poll_observed()).collect();
            let _ = tx.send(seen);
        }
        Control::Tick(tx) => {
            broker.handle_timeout(now);
            done.push(Box::new(move || {
                let _ = tx.send(());
            }));
        }
    }
}
