//! `spate::Broker`, the broker as a library, against librdkafka (the
//! `rdkafka` crate): a producer and a consumer as any Rust service would
//! use them, and each fault of the library as that client sees it. Here,
//! not in the main workspace, because this workspace builds librdkafka
//! already (for scripts/bench); `scripts/test bench` runs it.
//!
//! It also prints what starting a broker costs: the time from
//! `Broker::start` to the first answered ApiVersions, and the resident
//! memory it adds.

#![allow(missing_docs)]

use std::io::{Read, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Message};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::ClientContext;
use spate::{ApiKey, Broker, BrokerConfig, ErrorCode, ErrorFault, Topic};

/// Keeps each delivery report: the offset, or the error.
#[derive(Default)]
struct Reports(Mutex<Vec<Result<i64, KafkaError>>>);

impl ClientContext for Reports {}

impl ProducerContext for Reports {
    type DeliveryOpaque = ();
    fn delivery(&self, r: &DeliveryResult<'_>, _: ()) {
        let r = r.as_ref().map(|m| m.offset()).map_err(|(e, _)| e.clone());
        self.0.lock().unwrap().push(r);
    }
}

/// Produces one record to partition 0 of `topic` with librdkafka and
/// waits for its delivery report.
async fn produce(
    bootstrap: String,
    topic: &'static str,
    extra: &'static [(&str, &str)],
) -> Result<i64, KafkaError> {
    tokio::task::spawn_blocking(move || {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &bootstrap)
            .set("log_level", "0")
            .set("message.timeout.ms", "20000")
            .set("retry.backoff.ms", "20");
        for (k, v) in extra {
            c.set(*k, *v);
        }
        let p: BaseProducer<Reports> = c.create_with_context(Reports::default()).unwrap();
        p.send(BaseRecord::<(), str>::to(topic).partition(0).payload("v"))
            .map_err(|(e, _)| e)?;
        loop {
            p.poll(Duration::from_millis(50));
            if let Some(r) = p.context().0.lock().unwrap().pop() {
                return r;
            }
        }
    })
    .await
    .unwrap()
}

/// How many Produce requests the broker saw since the last look.
async fn produces_seen(b: &Broker) -> usize {
    let seen = b.observed().await.unwrap();
    seen.iter().filter(|r| r["api"] == "Produce").count()
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_time_and_memory() {
    let before = rss_kib();
    let t0 = Instant::now();
    let mut b = Broker::start(BrokerConfig::default()).await.unwrap();
    let bootstrap = b.bootstrap();
    // ApiVersions v0 on a raw socket: size, key 18, version 0,
    // correlation 7, client id "t".
    let answered = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(bootstrap).unwrap();
        let req = [0, 0, 0, 11, 0, 18, 0, 0, 0, 0, 0, 7, 0, 1, b't'];
        s.write_all(&req).unwrap();
        let mut head = [0u8; 10];
        s.read_exact(&mut head).unwrap();
        head
    })
    .await
    .unwrap();
    let elapsed = t0.elapsed();
    let after = rss_kib();
    assert_eq!(
        &answered[4..8],
        &[0, 0, 0, 7],
        "the correlation id comes back"
    );
    assert_eq!(&answered[8..10], &[0, 0], "no error");
    eprintln!(
        "embedded broker: start() to the first ApiVersions answer {:.1} ms; resident memory +{} KiB ({} -> {} KiB)",
        elapsed.as_secs_f64() * 1e3,
        after.saturating_sub(before),
        before,
        after
    );
    b.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn librdkafka_produces_and_consumes() {
    let mut b = Broker::start(BrokerConfig {
        topics: vec![Topic::new("round", 1)],
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(produce(b.bootstrap(), "round", &[]).await.unwrap(), 0);
    let bootstrap = b.bootstrap();
    let got = tokio::task::spawn_blocking(move || {
        let c: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("group.id", "g")
            .set("auto.offset.reset", "earliest")
            .set("log_level", "0")
            .create()
            .unwrap();
        c.subscribe(&["round"]).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(Ok(m)) = c.poll(Duration::from_millis(100)) {
                return Some((m.offset(), m.payload().map(<[u8]>::to_vec)));
            }
        }
        None
    })
    .await
    .unwrap();
    assert_eq!(got, Some((0, Some(b"v".to_vec()))));
    b.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn librdkafka_sees_each_fault() {
    let mut b = Broker::start(BrokerConfig {
        topics: vec![Topic::new("f", 1)],
        ..Default::default()
    })
    .await
    .unwrap();
    b.observe(true).await.unwrap();

    // A retriable error twice: librdkafka retries, the third try lands.
    let mut fault = ErrorFault::new(ApiKey::Produce, ErrorCode::NOT_LEADER_OR_FOLLOWER);
    fault.count = 2;
    fault.topic = Some("f".into());
    b.inject_error(fault).await.unwrap();
    assert_eq!(produce(b.bootstrap(), "f", &[]).await.unwrap(), 0);
    assert!(produces_seen(&b).await >= 3);

    // A fatal one: the delivery report carries it.
    let fatal = ErrorFault::new(ApiKey::Produce, ErrorCode::TOPIC_AUTHORIZATION_FAILED);
    b.inject_error(fatal).await.unwrap();
    let e = produce(b.bootstrap(), "f", &[]).await.unwrap_err();
    assert_eq!(
        e.rdkafka_error_code(),
        Some(RDKafkaErrorCode::TopicAuthorizationFailed),
        "{e}"
    );

    // A failed disk: KAFKA_STORAGE_ERROR, which librdkafka retries.
    let _ = produces_seen(&b).await;
    b.fail_appends(1, Some("f")).await.unwrap();
    assert_eq!(produce(b.bootstrap(), "f", &[]).await.unwrap(), 1);
    assert!(
        produces_seen(&b).await >= 2,
        "the failed append was retried"
    );

    // A slow broker: the answer comes no sooner than the delay.
    b.delay(ApiKey::Produce, Duration::from_millis(400), Some(1))
        .unwrap();
    let t = Instant::now();
    assert_eq!(produce(b.bootstrap(), "f", &[]).await.unwrap(), 2);
    assert!(t.elapsed() >= Duration::from_millis(400));

    // A connection dropped under a produce: librdkafka reconnects and
    // sends it again (idempotence keeps it once).
    let _ = produces_seen(&b).await;
    b.drop_connections(ApiKey::Produce, 1).unwrap();
    let idempotent = &[("enable.idempotence", "true")];
    assert_eq!(produce(b.bootstrap(), "f", idempotent).await.unwrap(), 3);
    assert_eq!(
        produces_seen(&b).await,
        1,
        "the dropped request never reached the broker"
    );
    b.close().await.unwrap();
}
