//! `spate-bench`: the load driver behind `scripts/bench`.
//!
//! Each subcommand runs one measurement against one broker through
//! librdkafka (the `rdkafka` crate, bundled C library), and prints one line of
//! JSON on stdout for the script to put in its table. It knows nothing about
//! which broker it talks to: Spate and its peer get exactly the same client,
//! configuration and load.
//!
//! ```text
//! spate-bench create  -b ADDR --topic T
//! spate-bench produce -b ADDR --topic T --count N --size BYTES --acks 1|all
//! spate-bench raw-produce -b ADDR --topic T --count N --size BYTES --acks 1|all [--batch M --inflight K]
//! spate-bench txn-produce -b ADDR --topic T --count N --size BYTES --per-txn M [--plain]
//! spate-bench consume -b ADDR --topic T --count N
//! spate-bench latency -b ADDR --topic T --rate MSGS_PER_S --seconds S
//! ```
//!
//! The producer settings are librdkafka's throughput-minded defaults made
//! explicit (linger.ms=5, batch.size=1 MB, no compression, idempotence off);
//! the consumer reads partition 0 from the beginning with 10 MB fetches, with
//! no group (assign, not subscribe), so only Fetch, ListOffsets and Metadata
//! are involved.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};

mod raw;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::config::ClientConfig;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{
    BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer,
};
use rdkafka::{ClientContext, Offset, TopicPartitionList};

#[derive(Parser)]
#[command(about = "One benchmark measurement through librdkafka; prints a JSON line")]
struct Cli {
    /// Bootstrap broker, HOST:PORT.
    #[arg(short = 'b', long, default_value = "127.0.0.1:9092")]
    brokers: String,
    /// Extra librdkafka property, KEY=VALUE (repeatable; applied last).
    #[arg(short = 'X', value_name = "KEY=VALUE", global = true)]
    extra: Vec<String>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create a topic with one partition (an existing topic is fine).
    Create {
        #[arg(long)]
        topic: String,
    },
    /// Produce COUNT messages of SIZE bytes as fast as the client can.
    Produce {
        #[arg(long)]
        topic: String,
        #[arg(long)]
        count: u64,
        #[arg(long)]
        size: usize,
        /// request.required.acks: 0, 1 or all.
        #[arg(long, default_value = "1")]
        acks: String,
    },
    /// Produce COUNT messages of SIZE bytes without librdkafka: one batch
    /// of BATCH messages encoded once, sent as one Produce request again
    /// and again, INFLIGHT requests at a time (see `raw.rs`).
    RawProduce {
        #[arg(long)]
        topic: String,
        #[arg(long)]
        count: u64,
        #[arg(long)]
        size: usize,
        /// 1 or all.
        #[arg(long, default_value = "1")]
        acks: String,
        #[arg(long, default_value_t = 1000)]
        batch: u32,
        #[arg(long, default_value_t = 5)]
        inflight: usize,
    },
    /// Produce COUNT messages of SIZE bytes in transactions of PER_TXN
    /// messages each (begin, send, commit), acks=all; with `--plain` the
    /// same idempotent producer and load without transactions, the
    /// baseline the transactional rate is a ratio of.
    TxnProduce {
        #[arg(long)]
        topic: String,
        #[arg(long)]
        count: u64,
        #[arg(long)]
        size: usize,
        #[arg(long, default_value_t = 1000)]
        per_txn: u64,
        #[arg(long)]
        plain: bool,
    },
    /// Read COUNT messages from the beginning of partition 0.
    Consume {
        #[arg(long)]
        topic: String,
        #[arg(long)]
        count: u64,
    },
    /// Produce 100-byte messages, acks=all, one at a time at a fixed rate,
    /// and report the latency from send to acknowledgement.
    Latency {
        #[arg(long)]
        topic: String,
        #[arg(long, default_value_t = 1000)]
        rate: u64,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
}

fn main() {
    let cli = Cli::parse();
    let mut extra = Vec::new();
    for kv in &cli.extra {
        match kv.split_once('=') {
            Some((k, v)) => extra.push((k.to_string(), v.to_string())),
            None => {
                eprintln!("spate-bench: -X {kv}: expected KEY=VALUE");
                std::process::exit(2);
            }
        }
    }
    EXTRA.set(extra).expect("set once");
    let result = match &cli.cmd {
        Cmd::Create { topic } => create(&cli.brokers, topic),
        Cmd::Produce {
            topic,
            count,
            size,
            acks,
        } => produce(&cli.brokers, topic, *count, *size, acks),
        Cmd::RawProduce {
            topic,
            count,
            size,
            acks,
            batch,
            inflight,
        } => raw::produce(
            &cli.brokers,
            topic,
            (*count, *size, acks),
            (*batch, *inflight),
        ),
        Cmd::TxnProduce {
            topic,
            count,
            size,
            per_txn,
            plain,
        } => txn_produce(&cli.brokers, topic, *count, *size, *per_txn, *plain),
        Cmd::Consume { topic, count } => consume(&cli.brokers, topic, *count),
        Cmd::Latency {
            topic,
            rate,
            seconds,
        } => latency(&cli.brokers, topic, *rate, *seconds),
    };
    match result {
        Ok(json) => println!("{json}"),
        Err(e) => {
            eprintln!("spate-bench: {e}");
            std::process::exit(1);
        }
    }
}

type Result<T> = std::result::Result<T, String>;

/// The `-X` properties.
static EXTRA: OnceLock<Vec<(String, String)>> = OnceLock::new();

/// Applies the `-X` properties over `config`.
fn with_extra(config: &mut ClientConfig) -> &mut ClientConfig {
    for (k, v) in EXTRA.get().into_iter().flatten() {
        config.set(k, v);
    }
    config
}

fn base_config(brokers: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", brokers)
        .set("client.id", "spate-bench")
        .set("log_level", "3");
    c
}

fn create(brokers: &str, topic: &str) -> Result<String> {
    let admin: AdminClient<Plain> = with_extra(&mut base_config(brokers))
        .create_with_context(Plain)
        .map_err(|e| format!("admin client: {e}"))?;
    let new = NewTopic::new(topic, 1, TopicReplication::Fixed(1));
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let results = futures_executor::block_on(admin.create_topics([&new], &opts))
        .map_err(|e| format!("create {topic}: {e}"))?;
    for r in results {
        match r {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => return Err(format!("create {name}: {code}")),
        }
    }
    Ok(format!("{{\"created\":\"{topic}\"}}"))
}

/// Counts acknowledgements and failures, and records latencies when the
/// message carries its send time (as an opaque: nanoseconds since `epoch`,
/// plus one; 0 means untimed).
struct Counting {
    epoch: Instant,
    acked: AtomicU64,
    failed: AtomicU64,
    latencies_us: Mutex<Vec<u64>>,
    first_error: Mutex<Option<String>>,
}

impl Counting {
    fn new() -> Counting {
        Counting {
            epoch: Instant::now(),
            acked: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            latencies_us: Mutex::new(Vec::new()),
            first_error: Mutex::new(None),
        }
    }

    /// The opaque that times a message sent now.
    fn stamp(&self) -> usize {
        self.epoch.elapsed().as_nanos() as usize + 1
    }
}

impl ClientContext for Counting {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        log_to_stderr(level, fac, message);
    }
    /// `-X statistics.interval.ms=N` prints librdkafka's statistics
    /// (queue and round-trip latencies per broker) as JSON lines on stderr.
    fn stats_raw(&self, statistics: &[u8]) {
        eprintln!("librdkafka stats: {}", String::from_utf8_lossy(statistics));
    }
    fn error(&self, error: KafkaError, reason: &str) {
        eprintln!("librdkafka error: {error}: {reason}");
    }
}

impl ProducerContext for Counting {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, sent: usize) {
        match result {
            Ok(_) => {
                self.acked.fetch_add(1, Ordering::Relaxed);
                if sent > 0 {
                    let now = self.epoch.elapsed().as_nanos() as usize;
                    let us = (now.saturating_sub(sent - 1) / 1000) as u64;
                    self.latencies_us.lock().expect("not poisoned").push(us);
                }
            }
            Err((e, _)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                let mut first = self.first_error.lock().expect("not poisoned");
                first.get_or_insert_with(|| e.to_string());
            }
        }
    }
}

/// librdkafka's log lines (`-X debug=...` turns more on) go to stderr.
fn log_to_stderr(level: RDKafkaLogLevel, fac: &str, message: &str) {
    eprintln!("librdkafka {level:?} {fac}: {message}");
}

/// The context of the admin client and the consumer: logs to stderr.
struct Plain;

impl ClientContext for Plain {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        log_to_stderr(level, fac, message);
    }
    fn error(&self, error: KafkaError, reason: &str) {
        eprintln!("librdkafka error: {error}: {reason}");
    }
}

impl ConsumerContext for Plain {}

fn producer(brokers: &str, settings: &[(&str, &str)]) -> Result<ThreadedProducer<Counting>> {
    let mut config = base_config(brokers);
    config
        .set("enable.idempotence", "false")
        .set("compression.type", "none")
        .set("message.timeout.ms", "120000");
    for (k, v) in settings {
        config.set(*k, *v);
    }
    with_extra(&mut config)
        .create_with_context(Counting::new())
        .map_err(|e| format!("producer: {e}"))
}

fn check(counting: &Counting, expected: u64) -> Result<()> {
    let acked = counting.acked.load(Ordering::Relaxed);
    let failed = counting.failed.load(Ordering::Relaxed);
    if failed > 0 || acked != expected {
        let first = counting.first_error.lock().expect("not poisoned").clone();
        return Err(format!(
            "{acked} of {expected} acknowledged, {failed} failed (first error: {})",
            first.unwrap_or_else(|| "none".into())
        ));
    }
    Ok(())
}

fn produce(brokers: &str, topic: &str, count: u64, size: usize, acks: &str) -> Result<String> {
    let p = producer(
        brokers,
        &[
            ("acks", acks),
            ("linger.ms", "5"),
            ("batch.size", "1000000"),
            ("batch.num.messages", "100000"),
            ("queue.buffering.max.messages", "1000000"),
        ],
    )?;
    // Metadata first, so that connecting is not part of the measurement.
    p.client()
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .map_err(|e| format!("metadata: {e}"))?;
    let value = vec![b'x'; size];
    let start = Instant::now();
    for _ in 0..count {
        let mut record = BaseRecord::with_opaque_to(topic, 0)
            .payload(&value[..])
            .partition(0);
        loop {
            match p.send::<(), [u8]>(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    record = r;
                    std::thread::sleep(Duration::from_micros(200));
                }
                Err((e, _)) => return Err(format!("send: {e}")),
            }
        }
    }
    p.flush(Duration::from_secs(120))
        .map_err(|e| format!("flush: {e}"))?;
    let secs = start.elapsed().as_secs_f64();
    check(p.context(), count)?;
    Ok(rate_json(count, count * size as u64, secs))
}

/// Sends one message, serving delivery reports while librdkafka's queue
/// is full.
fn send_one(p: &BaseProducer<Counting>, topic: &str, value: &[u8]) -> Result<()> {
    let mut record = BaseRecord::with_opaque_to(topic, 0)
        .payload(value)
        .partition(0);
    loop {
        match p.send::<(), [u8]>(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                record = r;
                p.poll(Duration::from_micros(200));
            }
            Err((e, _)) => return Err(format!("send: {e}")),
        }
    }
}

fn txn_produce(
    brokers: &str,
    topic: &str,
    count: u64,
    size: usize,
    per_txn: u64,
    plain: bool,
) -> Result<String> {
    let id = format!("spate-bench-{}", std::process::id());
    let mut settings = vec![
        ("acks", "all"),
        ("enable.idempotence", "true"),
        // No linger: a transaction's last batch would otherwise wait 5 ms
        // before the commit can go, a client-side pause per transaction.
        ("linger.ms", "0"),
        ("batch.size", "1000000"),
        ("batch.num.messages", "100000"),
        ("queue.buffering.max.messages", "1000000"),
        // librdkafka requires it at most transaction.timeout.ms (60 s).
        ("message.timeout.ms", "60000"),
    ];
    if !plain {
        settings.push(("transactional.id", id.as_str()));
    }
    // A BaseProducer served from this thread: a ThreadedProducer's poll
    // thread (100 ms apart) would set the pace of every flush and commit.
    let mut config = base_config(brokers);
    config.set("compression.type", "none");
    for (k, v) in &settings {
        config.set(*k, *v);
    }
    let p: BaseProducer<Counting> = with_extra(&mut config)
        .create_with_context(Counting::new())
        .map_err(|e| format!("producer: {e}"))?;
    let timeout = Duration::from_secs(30);
    if !plain {
        p.init_transactions(timeout)
            .map_err(|e| format!("init_transactions: {e}"))?;
    }
    p.client()
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .map_err(|e| format!("metadata: {e}"))?;
    let value = vec![b'x'; size];
    let per_txn = per_txn.max(1);
    let start = Instant::now();
    let mut sent = 0;
    while sent < count {
        let n = per_txn.min(count - sent);
        if !plain {
            p.begin_transaction()
                .map_err(|e| format!("begin_transaction: {e}"))?;
        }
        for _ in 0..n {
            send_one(&p, topic, &value)?;
        }
        if !plain {
            // Wait for the acknowledgements by polling: librdkafka 2.12's
            // flush (and commit_transaction's own) wakes only every 100 ms
            // once the last Produce is answered, which would set the pace.
            let deadline = Instant::now() + timeout;
            while p.in_flight_count() > 0 && Instant::now() < deadline {
                p.poll(Duration::from_millis(1));
            }
            p.commit_transaction(timeout)
                .map_err(|e| format!("commit_transaction: {e}"))?;
        }
        sent += n;
    }
    p.flush(Duration::from_secs(120))
        .map_err(|e| format!("flush: {e}"))?;
    let secs = start.elapsed().as_secs_f64();
    check(p.context(), count)?;
    Ok(rate_json(count, count * size as u64, secs))
}

fn rate_json(msgs: u64, bytes: u64, secs: f64) -> String {
    format!(
        "{{\"msgs\":{msgs},\"bytes\":{bytes},\"secs\":{secs:.6},\"msgs_per_s\":{:.1},\"mb_per_s\":{:.1}}}",
        msgs as f64 / secs,
        bytes as f64 / secs / 1e6
    )
}

fn consume(brokers: &str, topic: &str, count: u64) -> Result<String> {
    let mut config = base_config(brokers);
    config
        .set("group.id", "spate-bench")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("fetch.max.bytes", "52428800")
        .set("max.partition.fetch.bytes", "10485760")
        .set("queued.min.messages", "10000000")
        .set("queued.max.messages.kbytes", "1048576")
        .set("fetch.queue.backoff.ms", "1")
        .set("fetch.wait.max.ms", "100");
    let consumer: BaseConsumer<Plain> = with_extra(&mut config)
        .create_with_context(Plain)
        .map_err(|e| format!("consumer: {e}"))?;
    consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .map_err(|e| format!("metadata: {e}"))?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .map_err(|e| format!("assign: {e}"))?;
    let start = Instant::now();
    consumer.assign(&tpl).map_err(|e| format!("assign: {e}"))?;
    let deadline = start + Duration::from_secs(300);
    let (mut got, mut bytes) = (0u64, 0u64);
    while got < count {
        if Instant::now() > deadline {
            return Err(format!("only {got} of {count} messages within 300 s"));
        }
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                got += 1;
                bytes += m.payload_len() as u64;
            }
            Some(Err(KafkaError::PartitionEOF(_))) | None => {}
            Some(Err(e)) => return Err(format!("fetch: {e}")),
        }
    }
    let secs = start.elapsed().as_secs_f64();
    Ok(rate_json(got, bytes, secs))
}

fn latency(brokers: &str, topic: &str, rate: u64, seconds: u64) -> Result<String> {
    let p = producer(brokers, &[("acks", "all"), ("linger.ms", "0")])?;
    p.client()
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .map_err(|e| format!("metadata: {e}"))?;
    let value = [b'x'; 100];
    let count = rate * seconds;
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let start = Instant::now();
    for i in 0..count {
        let at = start + interval * i as u32;
        if let Some(wait) = at.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let record = BaseRecord::with_opaque_to(topic, p.context().stamp())
            .payload(&value[..])
            .partition(0);
        p.send::<(), [u8]>(record)
            .map_err(|(e, _)| format!("send: {e}"))?;
    }
    p.flush(Duration::from_secs(60))
        .map_err(|e| format!("flush: {e}"))?;
    check(p.context(), count)?;
    let mut lat = std::mem::take(&mut *p.context().latencies_us.lock().expect("not poisoned"));
    lat.sort_unstable();
    let pick = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)] as f64 / 1000.0;
    Ok(format!(
        "{{\"count\":{},\"p50_ms\":{:.3},\"p99_ms\":{:.3},\"max_ms\":{:.3}}}",
        lat.len(),
        pick(0.5),
        pick(0.99),
        pick(1.0)
    ))
}
