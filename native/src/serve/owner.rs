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
            stop = apply_pass(
                &mut broker,
                input,
                &mut rx,
                &mut ctx,
                &mut done,
                &mut outs,
                cluster.is_some(),
            );
        } else if rx.is_closed() && rx.is_empty() {
            stop = true;
        }
        // An AlterConfigs (or the metadata log) may have changed them.
        limits.check(|name| broker.dynamic_config(name));
        drain(&mut broker, &mut outs, cluster.is_some(), clock.now());
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

/// Applies `first` and the inputs queued behind it, moving the outputs to
/// `outs`; true when one of them says stop.
///
/// A pass ends after 257 inputs, or sooner once its responses reach
/// [`PASS_RESPONSE_BYTES`]: they are built before any is handed to a
/// writer, so a client that pipelines hundreds of large Fetch requests and
/// reads nothing would otherwise hold hundreds of megabytes here, out of
/// reach of the per-connection bound that [`super::link`] applies as they
/// are queued.
fn apply_pass<S: Store>(
    broker: &mut Broker<S>,
    first: Input,
    rx: &mut mpsc::UnboundedReceiver<Input>,
    ctx: &mut carry::Ctx<'_>,
    done: &mut Vec<Box<dyn FnOnce() + Send>>,
    outs: &mut Vec<Output>,
    in_cluster: bool,
) -> bool {
    let mut stop = false;
    let mut answered = 0;
    let mut input = Some(first);
    for _ in 0..257 {
        let Some(next) = input.take().or_else(|| rx.try_recv().ok()) else {
            break;
        };
        match next {
            Input::Control(c) => control(broker, c, ctx.clock.now(), done),
            next => stop |= apply(broker, ctx, next),
        }
        answered += drain(broker, outs, in_cluster, ctx.clock.now());
        if answered >= PASS_RESPONSE_BYTES {
            break;
        }
    }
    stop
}

/// Response bytes after which a pass takes no more inputs.
const PASS_RESPONSE_BYTES: usize = 16 << 20;

/// Moves the broker's outputs to `outs`; returns the bytes of the
/// responses among them. Topics to create without a cluster fail at once.
fn drain<S: Store>(
    broker: &mut Broker<S>,
    outs: &mut Vec<Output>,
    in_cluster: bool,
    now: i64,
) -> usize {
    let mut bytes = 0;
    while let Some(out) = broker.poll_output() {
        match out {
            Output::CreateTopics { request, topics } if !in_cluster => {
                not_in_a_cluster(broker, request, topics, now);
            }
            out => {
                if let Output::Response { chunks, .. } = &out {
                    bytes += chunks.iter().map(Bytes::len).sum::<usize>();
                }
                outs.push(out);
            }
        }
    }
    bytes
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

#[cfg(test)]
mod tests {
    use super::*;
    use spate_core::broker::{Config, PeerInfo};
    use spate_core::protocol::header::encode_request;
    use spate_core::protocol::messages::create_topics_request::{
        CreatableTopic, CreateTopicsRequest,
    };
    use spate_core::protocol::messages::fetch_request::{FetchPartition, FetchRequest, FetchTopic};
    use spate_core::protocol::messages::produce_request::{
        PartitionProduceData, ProduceRequest, TopicProduceData,
    };
    use spate_core::protocol::messages::request_header::RequestHeader;
    use spate_core::protocol::RequestBody;
    use spate_core::records::{Record, RecordBatchBuilder};
    use tokio::sync::Semaphore;

    fn frame(body: RequestBody, version: i16, correlation: i32) -> Bytes {
        let header = RequestHeader {
            request_api_key: body.api_key() as i16,
            request_api_version: version,
            correlation_id: correlation,
            client_id: Some("owner-test".into()),
            ..Default::default()
        };
        encode_request(&header, &body).unwrap().slice(4..)
    }

    /// A Produce of one batch of 250 values of 1,000 bytes.
    fn produce() -> Bytes {
        let mut b = RecordBatchBuilder::new(0, 0);
        for i in 0..250 {
            b = b.record(Record::new(i, 0, None, Some(Bytes::from(vec![b'x'; 1000]))));
        }
        let body = RequestBody::Produce(ProduceRequest {
            acks: 1,
            timeout_ms: 30_000,
            topic_data: vec![TopicProduceData {
                name: "t".into(),
                partition_data: vec![PartitionProduceData {
                    index: 0,
                    records: Some(b.build().unwrap().into()),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        });
        frame(body, 8, 0)
    }

    /// A Fetch of up to 1 MB from offset 0, answered at once.
    fn fetch(correlation: i32) -> Bytes {
        let body = RequestBody::Fetch(FetchRequest {
            replica_id: -1,
            max_bytes: 1 << 20,
            min_bytes: 1,
            session_epoch: -1,
            topics: vec![FetchTopic {
                topic: "t".into(),
                partitions: vec![FetchPartition {
                    partition: 0,
                    current_leader_epoch: -1,
                    fetch_offset: 0,
                    last_fetched_epoch: -1,
                    log_start_offset: -1,
                    partition_max_bytes: 1 << 20,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        });
        frame(body, 11, correlation)
    }

    fn response_bytes(outs: &[Output]) -> usize {
        outs.iter()
            .map(|o| match o {
                Output::Response { chunks, .. } => chunks.iter().map(Bytes::len).sum(),
                _ => 0,
            })
            .sum()
    }

    /// What a loaded machine made of a client that pipelined 500 large
    /// Fetch requests and read nothing: all of them queued when the owner
    /// came to them, and one pass built 257 answers (302 MB) before any
    /// reached the connection's bound.
    #[test]
    fn a_pass_stops_taking_inputs_once_its_answers_pass_the_bound() {
        let clock = Clock::default();
        let mut broker = Broker::new(Config::default(), MemStorage::new(), clock.now()).unwrap();
        let budget = Arc::new(Semaphore::new(1 << 20));
        let permit = || budget.clone().try_acquire_owned().unwrap();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (out_tx, _out_rx) = mpsc::unbounded_channel();
        let link = super::super::link::Link::new();
        tx.send(Input::Connect(
            1,
            PeerInfo::default(),
            ConnTx::new(out_tx, link),
        ))
        .unwrap();
        let create = RequestBody::CreateTopics(CreateTopicsRequest {
            topics: vec![CreatableTopic {
                name: "t".into(),
                num_partitions: 1,
                replication_factor: 1,
                ..Default::default()
            }],
            timeout_ms: 30_000,
            ..Default::default()
        });
        tx.send(Input::Frame(1, frame(create, 4, 0), permit()))
            .unwrap();
        // 4 batches of 250 KB: each Fetch is answered with 1 MB.
        for _ in 0..4 {
            tx.send(Input::Frame(1, produce(), permit())).unwrap();
        }
        for i in 0..300 {
            tx.send(Input::Frame(1, fetch(i + 1), permit())).unwrap();
        }
        let mut conns = HashMap::new();
        let mut ctx = carry::Ctx {
            conns: &mut conns,
            tap: None,
            meter: None,
            clock: &clock,
        };
        let (mut done, mut outs) = (Vec::new(), Vec::new());
        // Each pass, as the owner loop runs them: the answers it built.
        let mut passes = Vec::new();
        while let Ok(first) = rx.try_recv() {
            outs.clear();
            apply_pass(
                &mut broker,
                first,
                &mut rx,
                &mut ctx,
                &mut done,
                &mut outs,
                false,
            );
            passes.push((outs.len(), response_bytes(&outs)));
        }
        let (answers, built) = passes[0];
        assert!(
            (PASS_RESPONSE_BYTES..PASS_RESPONSE_BYTES + (2 << 20)).contains(&built),
            "one pass built {built} bytes of answers"
        );
        assert!(answers < 30, "one pass answered {answers} requests");
        // The rest waited for the next passes, which answered every one.
        for &(_, bytes) in &passes {
            assert!(
                bytes < PASS_RESPONSE_BYTES + (2 << 20),
                "a pass built {bytes} bytes"
            );
        }
        let total: usize = passes.iter().map(|&(n, _)| n).sum();
        assert_eq!(total, 305);
    }
}
