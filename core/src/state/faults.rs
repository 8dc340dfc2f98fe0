//! Storage failures a test asked for (`Broker::fail_appends`): the next
//! appends of a client's Produce fail as a failed disk would make them
//! fail, and the partition is answered KAFKA_STORAGE_ERROR, as Kafka
//! answers it.

/// Appends still to fail, each rule with the topic it is limited to.
#[derive(Debug, Default)]
pub(crate) struct AppendFaults {
    rules: Vec<(Option<String>, u32)>,
}

impl AppendFaults {
    /// The next `count` appends (to `topic` only, when given) fail.
    pub(crate) fn add(&mut self, count: u32, topic: Option<String>) {
        if count > 0 {
            self.rules.push((topic, count));
        }
    }

    /// Whether the append to `topic` about to be made is to fail; a rule
    /// that says so counts it.
    pub(crate) fn take(&mut self, topic: &str) -> bool {
        let hit = self
            .rules
            .iter_mut()
            .find(|(t, n)| *n > 0 && t.as_deref().is_none_or(|t| t == topic));
        let Some((_, n)) = hit else {
            return false;
        };
        *n -= 1;
        self.rules.retain(|(_, n)| *n > 0);
        true
    }

    /// Appends still to fail, over every rule.
    pub(crate) fn pending(&self) -> u32 {
        self.rules.iter().map(|(_, n)| *n).sum()
    }

    /// No more failures.
    pub(crate) fn clear(&mut self) {
        self.rules.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_counts_down_and_a_topic_rule_leaves_other_topics_alone() {
        let mut f = AppendFaults::default();
        f.add(1, Some("a".into()));
        f.add(1, None);
        assert!(f.take("b"), "the unlimited rule takes b");
        assert!(!f.take("b"), "spent");
        assert_eq!(f.pending(), 1);
        assert!(f.take("a"));
        assert!(!f.take("a"));
        assert_eq!(f.pending(), 0);
    }
}
