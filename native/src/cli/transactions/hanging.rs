//! `transactions find-hanging`: open transactions that nothing will end.
//!
//! A transaction is hanging when a partition holds its data without a
//! marker and its coordinator does not expect to write one: the partition's
//! last stable offset then stays put, read_committed consumers stop there
//! and compaction cannot pass it. Found as Kafka's tool finds them:
//!
//! 1. DescribeProducers at the leaders of the partitions searched (one
//!    partition, a topic's, or every topic's): the candidates are producers
//!    with an open transaction (CurrentTransactionStartOffset 0 or more)
//!    whose last write is older than `--max-transaction-timeout-ms` (the
//!    largest `transaction.timeout.ms` in use; a coordinator aborts
//!    younger ones itself when they time out).
//! 2. ListTransactions with the candidates' producer ids at every broker:
//!    which transactional id each producer id has now.
//! 3. DescribeTransactions for those ids: a candidate is hanging when its
//!    producer id has no transactional id, the id is not found, or the
//!    id's current transaction does not list the partition (while Ongoing,
//!    or PrepareCommit/PrepareAbort with the marker still to write, the
//!    coordinator will end it).
//!
//! The table has Kafka's columns (the duration in whole minutes since the
//! last write); `--json` also gives the duration in milliseconds and the
//! producer id's transactional id, when it still has one.

use std::collections::BTreeMap;
use std::process::ExitCode;

use serde_json::json;

use crate::cli::table;
use crate::client::txn::{self, Description, ListFilter, Producer, Tp};
use crate::client::Client;
use crate::clock::now_ms;

/// An open transaction on a partition that may be hanging.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Open {
    /// The partition.
    tp: Tp,
    /// Its producer, as the leader describes it.
    producer: Producer,
}

/// Runs `transactions find-hanging`.
pub(super) fn run(
    client: &mut Client,
    json: bool,
    topic: Option<&str>,
    partition: Option<i32>,
    max_timeout_ms: i64,
) -> anyhow::Result<ExitCode> {
    let partitions = match (topic, partition) {
        (Some(t), Some(p)) => vec![(t.to_string(), p)],
        (Some(t), None) => txn::all_partitions(client, Some(&[t]))?,
        (None, _) => txn::all_partitions(client, None)?,
    };
    let producers = txn::producers(client, &partitions)?;
    let candidates = candidates(&producers, now_ms(), max_timeout_ms);
    let mut ids: BTreeMap<i64, String> = BTreeMap::new();
    let mut descriptions: BTreeMap<String, Option<Description>> = BTreeMap::new();
    if !candidates.is_empty() {
        let mut pids: Vec<i64> = candidates.iter().map(|o| o.producer.producer_id).collect();
        pids.sort_unstable();
        pids.dedup();
        let filter = ListFilter {
            producer_ids: pids.clone(),
            ..Default::default()
        };
        for l in txn::list(client, &filter)? {
            // A broker that ignores the filter lists other producers too.
            if pids.contains(&l.producer_id) {
                ids.insert(l.producer_id, l.transactional_id);
            }
        }
        for id in ids.values() {
            if !descriptions.contains_key(id) {
                descriptions.insert(id.clone(), txn::describe(client, id)?);
            }
        }
    }
    let hanging = hanging(candidates, &ids, &descriptions);
    print(&hanging, &ids, json, now_ms())?;
    Ok(ExitCode::SUCCESS)
}

/// The producers with an open transaction whose last write is more than
/// `max_timeout_ms` before `now`.
fn candidates(producers: &BTreeMap<Tp, Vec<Producer>>, now: i64, max_timeout_ms: i64) -> Vec<Open> {
    producers
        .iter()
        .flat_map(|(tp, ps)| ps.iter().map(move |p| (tp, p)))
        .filter(|(_, p)| p.current_transaction_start_offset >= 0)
        .filter(|(_, p)| now.saturating_sub(p.last_timestamp) > max_timeout_ms)
        .map(|(tp, p)| Open {
            tp: tp.clone(),
            producer: p.clone(),
        })
        .collect()
}

/// The candidates their coordinator does not know to end: no transactional
/// id for the producer id, an id not found, or a transaction without the
/// partition.
fn hanging(
    candidates: Vec<Open>,
    ids: &BTreeMap<i64, String>,
    descriptions: &BTreeMap<String, Option<Description>>,
) -> Vec<Open> {
    candidates
        .into_iter()
        .filter(|o| {
            let d = ids
                .get(&o.producer.producer_id)
                .and_then(|id| descriptions.get(id))
                .and_then(Option::as_ref);
            d.is_none_or(|d| !d.partitions.contains(&o.tp))
        })
        .collect()
}

/// Prints the hanging transactions, as a table or JSON.
fn print(
    hanging: &[Open],
    ids: &BTreeMap<i64, String>,
    json: bool,
    now: i64,
) -> anyhow::Result<()> {
    let duration_ms = |o: &Open| now.saturating_sub(o.producer.last_timestamp);
    if json {
        let rows: Vec<_> = hanging
            .iter()
            .map(|o| {
                let p = &o.producer;
                json!({
                    "topic": o.tp.0,
                    "partition": o.tp.1,
                    "producer_id": p.producer_id,
                    "producer_epoch": p.producer_epoch,
                    "coordinator_epoch": p.coordinator_epoch,
                    "start_offset": p.current_transaction_start_offset,
                    "last_timestamp": p.last_timestamp,
                    "duration_ms": duration_ms(o),
                    "transactional_id": ids.get(&p.producer_id),
                })
            })
            .collect();
        outln!("{}", json!(rows))?;
        return Ok(());
    }
    let cells: Vec<Vec<String>> = hanging
        .iter()
        .map(|o| {
            let p = &o.producer;
            vec![
                o.tp.0.clone(),
                o.tp.1.to_string(),
                p.producer_id.to_string(),
                p.producer_epoch.to_string(),
                p.coordinator_epoch.to_string(),
                p.current_transaction_start_offset.to_string(),
                p.last_timestamp.to_string(),
                (duration_ms(o) / 60_000).to_string(),
            ]
        })
        .collect();
    out!(
        "{}",
        table::render(
            &[
                "Topic",
                "Partition",
                "ProducerId",
                "ProducerEpoch",
                "CoordinatorEpoch",
                "StartOffset",
                "LastTimestamp",
                "Duration(min)",
            ],
            &cells
        )
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn producer(id: i64, last_timestamp: i64, start: i64) -> Producer {
        Producer {
            producer_id: id,
            producer_epoch: 0,
            coordinator_epoch: -1,
            last_sequence: 0,
            last_timestamp,
            current_transaction_start_offset: start,
        }
    }

    fn describe(id: &str, pid: i64, partitions: &[Tp]) -> Description {
        Description {
            coordinator_id: 1,
            transactional_id: id.into(),
            producer_id: pid,
            producer_epoch: 0,
            state: "Ongoing".into(),
            timeout_ms: 60_000,
            start_time_ms: 0,
            partitions: partitions.to_vec(),
        }
    }

    #[test]
    fn only_old_open_transactions_are_candidates() {
        let t0: Tp = ("t".into(), 0);
        let producers = BTreeMap::from([(
            t0.clone(),
            vec![
                producer(1, 1_000, 5),  // open, old
                producer(2, 1_000, -1), // no open transaction
                producer(3, 9_500, 7),  // open, too young
            ],
        )]);
        let c = candidates(&producers, 10_000, 1_000);
        let pids: Vec<i64> = c.iter().map(|o| o.producer.producer_id).collect();
        assert_eq!(pids, [1]);
        // With no timeout every open transaction older than now is one.
        assert_eq!(candidates(&producers, 10_000, 0).len(), 2);
    }

    #[test]
    fn the_coordinator_decides() {
        let (t0, t1): (Tp, Tp) = (("t".into(), 0), ("t".into(), 1));
        let open = |pid, tp: &Tp| Open {
            tp: tp.clone(),
            producer: producer(pid, 0, 3),
        };
        let candidates = vec![
            open(1, &t0), // ongoing with t-0: not hanging
            open(1, &t1), // the same transaction lacks t-1: hanging
            open(2, &t0), // no transactional id: hanging
            open(3, &t0), // its id is not found: hanging
        ];
        let ids = BTreeMap::from([(1, "a".to_string()), (3, "c".to_string())]);
        let descriptions = BTreeMap::from([
            (
                "a".to_string(),
                Some(describe("a", 1, std::slice::from_ref(&t0))),
            ),
            ("c".to_string(), None),
        ]);
        let h = hanging(candidates, &ids, &descriptions);
        let found: Vec<(i64, i32)> = h.iter().map(|o| (o.producer.producer_id, o.tp.1)).collect();
        assert_eq!(found, [(1, 1), (2, 0), (3, 0)]);
    }
}
