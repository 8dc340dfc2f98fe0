//! The owner loop: the one task that holds the [`Broker`], applies every
//! input to it and sends its outputs on.

use super::carry::{self, apply, not_in_a_cluster, send};
use super::faults::Control;
use super::reqlog;
use super::*;
use crate::clock::Clock;

/// The owner loop: applies inputs to the broker and sends its outputs.
///
/// Each pass takes every input already queued (up to a bound), applies them
/// all, then, under `--fsync always`, makes the appended data durable with
/// one fsync before any response of the pass is sent: a group commit.
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
        if fsync == FsyncPolicy::Always && !outs.is_empty() {
            broker.storage_mut().flush()?;
        }
        // Requests are done when their responses go to their writers
        // (timed and logged here).
        if let Some(m) = meter.as_mut() {
            m.finished(&mut broker, std::time::Instant::now());
        }
        for out in outs.drain(..) {
            match out {
                Output::Replica {
                    leader,
                    host,
                    port,
                    frame,
                } => {
                    if let Some(tx) = tx.upgrade() {
                        replicas.send(leader, &host, port, frame, &tx);
                    }
                }
                Output::TxnMarkers {
                    broker,
                    host,
                    port,
                    frame,
                } => {
                    if let Some(tx) = tx.upgrade() {
                        markers.send(broker, &host, port, frame, &tx);
                    }
                }
                out => {
                    if let (Output::Close { conn, .. }, Some(m)) = (&out, meter.as_mut()) {
                        m.closed(*conn);
                    }
                    send(&mut conns, out, cluster.as_ref(), (tap.as_ref(), &clock))
                }
            }
        }
        for d in done.drain(..) {
            d();
        }
        if stop {
            return broker.into_storage().close();
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
