//! Controlled shutdown, the broker's side and the controller's checks
//! (Kafka 2.x's `KafkaServer.controlledShutdown` and the start of
//! `KafkaController.doControlledShutdown`).
//!
//! On SIGTERM, before its session is closed, the broker asks the
//! controller to move the leadership of its partitions
//! ([`ShutdownConfig`]: `controlled.shutdown.enable`, default true). The
//! membership loop does it ([`Leaving`]), one try at a time:
//!
//! - another broker is the controller: a ControlledShutdown (v3, with
//!   the broker id and the epoch of this registration) on a connection of
//!   its own to the controller's registered endpoint;
//! - this broker is the controller: it gives itself to its own machine
//!   (`Control::controlled_shutdown`), which answers once the moves are
//!   written and told; it resigns only after, when the session closes;
//! - no controller known: the try fails.
//!
//! A try succeeds when the answer names no partition still led here.
//! Otherwise (an error, partitions left, no controller) the loop waits
//! `controlled.shutdown.retry.backoff.ms` (5000) and tries again, at most
//! `controlled.shutdown.max.retries` (3) tries in all; then the broker
//! shuts down anyway, as Kafka does ("unclean shutdown"). While a try to
//! another broker is in flight the loop does nothing else.
//!
//! The controller checks a ControlledShutdown against the registrations
//! it read ([`check`]) before its machine takes it.

use std::time::Duration;

use spate_core::protocol::messages::controlled_shutdown_request::ControlledShutdownRequest;
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody};
use spate_core::storage::TopicPartition;
use tokio::sync::oneshot;
use tokio::time::Instant;
use tracing::{info, warn};

use super::engine::{BrokerId, Engine, Registered};
use super::sender::ask_once;
use crate::serve::outbound::InterBroker;

/// The ControlledShutdown version sent: the newest the spec has (broker
/// epoch from v2, flexible from v3), which Kafka 2.4 and later send.
const VERSION: i16 = 3;

/// `controlled.shutdown.*`, Kafka's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ShutdownConfig {
    /// `controlled.shutdown.enable`.
    pub enable: bool,
    /// `controlled.shutdown.max.retries`: tries in all.
    pub max_retries: u32,
    /// `controlled.shutdown.retry.backoff.ms`.
    pub backoff: Duration,
}

impl Default for ShutdownConfig {
    fn default() -> ShutdownConfig {
        ShutdownConfig {
            enable: true,
            max_retries: 3,
            backoff: Duration::from_millis(5000),
        }
    }
}

/// The controller's checks of a ControlledShutdown from `broker` at
/// `epoch` against the live registrations: BROKER_NOT_AVAILABLE when it
/// is not registered, STALE_BROKER_EPOCH when it is registered at a newer
/// epoch (an earlier incarnation asks). Epoch -1 (versions 0 and 1) is
/// not checked.
pub(crate) fn check(live: &[Registered], broker: BrokerId, epoch: i64) -> Result<(), ErrorCode> {
    let Some(r) = live.iter().find(|r| r.info.id == broker) else {
        return Err(ErrorCode::BROKER_NOT_AVAILABLE);
    };
    if epoch != -1 && epoch < r.epoch.0 {
        return Err(ErrorCode::STALE_BROKER_EPOCH);
    }
    Ok(())
}

/// Asks `controller` to move the leadership of `me`, registered at
/// `epoch`: the partitions it still leads, or the controller's error.
pub(crate) async fn ask(
    (me, security): (BrokerId, &InterBroker),
    epoch: i64,
    controller: &Registered,
) -> anyhow::Result<Result<Vec<TopicPartition>, ErrorCode>> {
    let body = RequestBody::ControlledShutdown(ControlledShutdownRequest {
        broker_id: me,
        broker_epoch: epoch,
        ..Default::default()
    });
    let ResponseBody::ControlledShutdown(r) =
        ask_once((me, security), &controller.info, &body, VERSION).await?
    else {
        anyhow::bail!("ControlledShutdown answered with another API");
    };
    let code = ErrorCode(r.error_code);
    if code != ErrorCode::NONE {
        return Ok(Err(code));
    }
    Ok(Ok(r
        .remaining_partitions
        .iter()
        .map(|p| TopicPartition::new(p.topic_name.to_string(), p.partition_index))
        .collect()))
}

/// One try through another broker, the controller `controller`: reads
/// the registrations for its endpoint and this broker's epoch, then asks.
/// `Ok`: the partitions still led here; `Err`: why the try failed.
pub(crate) async fn ask_controller<E: Engine>(
    engine: &E,
    (me, security): (BrokerId, &InterBroker),
    controller: BrokerId,
) -> Result<Vec<TopicPartition>, String> {
    let live = engine.live_brokers().await.map_err(|e| e.to_string())?;
    let find = |id| live.iter().find(|r| r.info.id == id);
    let mine = find(me).ok_or("this broker's registration is gone")?;
    let c = find(controller).ok_or(format!("controller {controller} is not registered"))?;
    info!(controller, "controlled shutdown: asking the controller");
    match ask((me, security), mine.epoch.0, c).await {
        Ok(Ok(remaining)) => Ok(remaining),
        Ok(Err(code)) => Err(format!("controller {controller} answered {code}")),
        Err(e) => Err(format!("asking controller {controller}: {e:#}")),
    }
}

/// A controlled shutdown in progress in the membership loop.
#[derive(Debug)]
pub(crate) struct Leaving {
    config: ShutdownConfig,
    /// Tries made.
    tries: u32,
    /// When the next try is due (`None`: one is in flight on this
    /// broker's own controller machine).
    next: Option<Instant>,
    /// Told `true` when the leadership moved, `false` when the tries ran
    /// out.
    done: Option<oneshot::Sender<bool>>,
}

impl Leaving {
    /// Starts, with the first try due now.
    pub(crate) fn new(config: ShutdownConfig, done: oneshot::Sender<bool>) -> Leaving {
        Leaving {
            config,
            tries: 0,
            next: Some(Instant::now()),
            done: Some(done),
        }
    }

    /// When the loop must wake for the next try.
    pub(crate) fn wake_at(&self) -> Option<Instant> {
        self.next
    }

    /// A try is due now.
    pub(crate) fn due(&self) -> bool {
        self.next.is_some_and(|t| t <= Instant::now())
    }

    /// A try went to this broker's own controller machine; its answer
    /// comes through [`Leaving::answered`].
    pub(crate) fn asked_myself(&mut self) {
        self.tries += 1;
        self.next = None;
    }

    /// A try to another controller was made (counted) and answered.
    pub(crate) fn asked(&mut self) {
        self.tries += 1;
    }

    /// The outcome of the last try; true when the shutdown may go on.
    pub(crate) fn answered(&mut self, outcome: Result<Vec<TopicPartition>, String>) -> bool {
        match outcome {
            Ok(remaining) if remaining.is_empty() => {
                info!("controlled shutdown succeeded");
                self.finish(true)
            }
            outcome => {
                let why = match outcome {
                    Ok(remaining) => format!("{} partitions still led here", remaining.len()),
                    Err(why) => why,
                };
                if self.tries >= self.config.max_retries {
                    warn!(
                        tries = self.tries,
                        "controlled shutdown failed ({why}); proceeding to an unclean shutdown"
                    );
                    return self.finish(false);
                }
                warn!(
                    try_ = self.tries,
                    "controlled shutdown failed ({why}); retrying in {:?}", self.config.backoff
                );
                self.next = Some(Instant::now() + self.config.backoff);
                false
            }
        }
    }

    fn finish(&mut self, moved: bool) -> bool {
        if let Some(done) = self.done.take() {
            let _ = done.send(moved);
        }
        self.next = None;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::super::engine::{BrokerEpoch, BrokerInfo};
    use super::*;

    fn reg(id: BrokerId, epoch: i64) -> Registered {
        Registered {
            info: BrokerInfo {
                id,
                host: "h".into(),
                port: 1,
                rack: None,
                endpoints: Vec::new(),
            },
            epoch: BrokerEpoch(epoch),
        }
    }

    #[test]
    fn the_controller_refuses_an_unknown_broker_and_an_earlier_incarnation() {
        let live = [reg(1, 10), reg(2, 20)];
        assert_eq!(check(&live, 2, 20), Ok(()));
        assert_eq!(check(&live, 2, -1), Ok(()), "v0 and v1 carry no epoch");
        assert_eq!(check(&live, 2, 19), Err(ErrorCode::STALE_BROKER_EPOCH));
        assert_eq!(check(&live, 3, 5), Err(ErrorCode::BROKER_NOT_AVAILABLE));
    }

    #[tokio::test]
    async fn tries_stop_at_success_or_after_max_retries() {
        let config = ShutdownConfig {
            backoff: Duration::ZERO,
            ..ShutdownConfig::default()
        };
        let (tx, rx) = oneshot::channel();
        let mut l = Leaving::new(config, tx);
        assert!(l.due());
        for n in 1..=3 {
            l.asked();
            let left = vec![TopicPartition::new("t", 0)];
            let done = l.answered(Ok(left));
            assert_eq!(done, n == 3, "try {n}");
        }
        assert_eq!(rx.await, Ok(false));
        let (tx, rx) = oneshot::channel();
        let mut l = Leaving::new(config, tx);
        l.asked_myself();
        assert_eq!(l.wake_at(), None);
        assert!(l.answered(Ok(Vec::new())));
        assert_eq!(rx.await, Ok(true));
    }
}
