//! The controller's automatic leader rebalance (Kafka's
//! `auto.leader.rebalance.enable`, default true): while this broker is
//! the controller, the membership loop runs the machine's imbalance check
//! (`Controller::handle_rebalance_check`) 5 s after it is elected, as
//! Kafka's `onControllerFailover` schedules it, then every
//! `leader.imbalance.check.interval.seconds` (300). A preferred replica
//! that leads less than `100 - leader.imbalance.per.broker.percentage`
//! (10) % of its partitions gets them back where it is in sync.

use std::time::Duration;

use tokio::time::Instant;

/// The first check after an election (Kafka's 5 s).
const FIRST_CHECK: Duration = Duration::from_secs(5);

/// `auto.leader.rebalance.enable` and its two settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RebalanceConfig {
    /// `auto.leader.rebalance.enable`.
    pub enable: bool,
    /// `leader.imbalance.check.interval.seconds`.
    pub interval: Duration,
    /// `leader.imbalance.per.broker.percentage`.
    pub percentage: u32,
}

impl Default for RebalanceConfig {
    fn default() -> RebalanceConfig {
        RebalanceConfig {
            enable: true,
            interval: Duration::from_secs(300),
            percentage: 10,
        }
    }
}

/// When the next check is due, while this broker is the controller.
#[derive(Debug, Default)]
pub(crate) struct RebalanceTimer {
    next: Option<Instant>,
}

impl RebalanceTimer {
    /// Follows the role: `controller` or not. Returns true when a check is
    /// due at `now` (and schedules the next).
    pub(crate) fn due(&mut self, config: &RebalanceConfig, controller: bool, now: Instant) -> bool {
        if !config.enable || !controller {
            self.next = None;
            return false;
        }
        match self.next {
            None => {
                self.next = Some(now + FIRST_CHECK);
                false
            }
            Some(t) if t <= now => {
                self.next = Some(now + config.interval);
                true
            }
            Some(_) => false,
        }
    }

    /// When the loop must wake for the next check.
    pub(crate) fn wake_at(&self) -> Option<Instant> {
        self.next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_start_5s_after_election_then_follow_the_interval_and_stop_on_resigning() {
        let config = RebalanceConfig {
            interval: Duration::from_secs(60),
            ..RebalanceConfig::default()
        };
        let start = Instant::now();
        let mut t = RebalanceTimer::default();
        assert!(!t.due(&config, true, start), "scheduled, not due");
        assert_eq!(t.wake_at(), Some(start + FIRST_CHECK));
        let first = start + FIRST_CHECK;
        assert!(t.due(&config, true, first));
        assert!(!t.due(&config, true, first));
        assert!(t.due(&config, true, first + Duration::from_secs(60)));
        assert!(!t.due(&config, false, first + Duration::from_secs(120)));
        assert_eq!(t.wake_at(), None);
        let off = RebalanceConfig {
            enable: false,
            ..config
        };
        assert!(!t.due(&off, true, start));
        assert_eq!(t.wake_at(), None);
    }
}
