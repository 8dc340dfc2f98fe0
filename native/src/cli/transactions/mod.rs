//! `spate transactions`: look at and repair Kafka transactions, against
//! any Kafka-compatible broker, as Kafka's `kafka-transactions.sh` does
//! (KIP-664). Tables use that tool's column names; `--json` prints the
//! same facts as JSON.
//!
//! - `list [--state S]... [--producer-id N]... [--duration-ms N]`:
//!   ListTransactions at every broker, each listing the transactional ids
//!   it coordinates (`Coordinator` is its node id). `--duration-ms` keeps
//!   transactions open longer than that and needs ListTransactions v1.
//! - `describe ID`: FindCoordinator (key type 1, a transactional id), then
//!   DescribeTransactions there: the producer id and epoch, the state, the
//!   timeout, when the open transaction started and for how long it has
//!   run, and its partitions. An unknown id fails with the broker's
//!   TRANSACTIONAL_ID_NOT_FOUND.
//! - `describe-producers TOPIC PARTITION`: DescribeProducers at the
//!   partition's leader: each active producer's epoch, last sequence and
//!   timestamp, the coordinator epoch of its last marker and the offset its
//!   open transaction starts at (-1 when none is open).
//! - `abort --topic T --partition P --start-offset N`: finds the producer
//!   whose open transaction on the partition starts at offset N (with
//!   DescribeProducers) and writes an abort marker for it there with
//!   WriteTxnMarkers, the way a hanging transaction (one its coordinator no
//!   longer knows about, which holds back read_committed consumers and the
//!   last stable offset) is ended. `--producer-id`, `--producer-epoch`
//!   and `--coordinator-epoch` name the producer directly instead. A
//!   negative coordinator epoch (a producer that never had a marker) is
//!   sent as 0, as Kafka's tool does.
//! - `find-hanging [--topic T [--partition P]] [--max-transaction-timeout-ms N]`:
//!   see [`hanging`].

mod hanging;

use crate::clock::now_ms;
use std::process::ExitCode;

use anyhow::bail;
use clap::{Args, Subcommand};
use serde_json::json;

use super::table;
use crate::client::txn::{self, Abort, Description, ListFilter, Producer};
use crate::client::{Client, ConnArgs};

/// Look at transactions and end hanging ones.
#[derive(Debug, Args)]
pub(crate) struct TransactionsArgs {
    /// Where the brokers are.
    #[command(flatten)]
    conn: ConnArgs,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    /// What to do.
    #[command(subcommand)]
    action: Action,
}

/// The `transactions` actions.
#[derive(Debug, Subcommand)]
enum Action {
    /// List the transactional ids every broker coordinates.
    List {
        /// Only transactions in this state (Empty, Ongoing, PrepareCommit,
        /// PrepareAbort, CompleteCommit, CompleteAbort, Dead,
        /// PrepareEpochFence); repeatable.
        #[arg(long = "state", value_name = "STATE")]
        states: Vec<String>,
        /// Only this producer id; repeatable.
        #[arg(long = "producer-id", value_name = "N")]
        producer_ids: Vec<i64>,
        /// Only transactions open for longer than this many milliseconds.
        #[arg(long, value_name = "MS")]
        duration_ms: Option<i64>,
    },
    /// Describe a transactional id at its coordinator.
    Describe {
        /// The transactional id.
        transactional_id: String,
    },
    /// Show the active producers of a partition, at its leader.
    DescribeProducers {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
    },
    /// Abort an open transaction on a partition by writing its abort
    /// marker there (for hanging transactions).
    Abort {
        /// The topic.
        #[arg(long)]
        topic: String,
        /// The partition.
        #[arg(long)]
        partition: i32,
        /// The offset the transaction starts at (its producer is found
        /// with DescribeProducers).
        #[arg(
            long,
            value_name = "OFFSET",
            required_unless_present = "producer_id",
            conflicts_with_all = ["producer_id", "producer_epoch", "coordinator_epoch"]
        )]
        start_offset: Option<i64>,
        /// The producer id (instead of --start-offset).
        #[arg(long, value_name = "N", requires_all = ["producer_epoch", "coordinator_epoch"])]
        producer_id: Option<i64>,
        /// The producer epoch (with --producer-id).
        #[arg(long, value_name = "N", requires = "producer_id")]
        producer_epoch: Option<i16>,
        /// The coordinator epoch (with --producer-id; negative is sent as 0).
        #[arg(
            long,
            value_name = "N",
            requires = "producer_id",
            allow_negative_numbers = true
        )]
        coordinator_epoch: Option<i32>,
    },
    /// Find open transactions that their coordinator will never end.
    FindHanging {
        /// Only this topic (every topic when absent).
        #[arg(long)]
        topic: Option<String>,
        /// Only this partition of the topic.
        #[arg(long, requires = "topic")]
        partition: Option<i32>,
        /// The largest transaction timeout of the cluster's producers: only
        /// transactions open longer than this can be hanging.
        #[arg(long, value_name = "MS", default_value_t = 900_000)]
        max_transaction_timeout_ms: i64,
    },
}

/// Runs `spate transactions`.
pub(crate) fn run(args: TransactionsArgs) -> anyhow::Result<ExitCode> {
    let mut client = Client::connect(&args.conn)?;
    let json = args.json;
    match args.action {
        Action::List {
            states,
            producer_ids,
            duration_ms,
        } => {
            let filter = ListFilter {
                states,
                producer_ids,
                duration_ms,
            };
            list(&mut client, json, &filter)
        }
        Action::Describe { transactional_id } => describe(&mut client, json, &transactional_id),
        Action::DescribeProducers { topic, partition } => {
            describe_producers(&mut client, json, &topic, partition)
        }
        Action::Abort {
            topic,
            partition,
            start_offset,
            producer_id,
            producer_epoch,
            coordinator_epoch,
        } => {
            let abort = match (start_offset, producer_id, producer_epoch, coordinator_epoch) {
                (Some(offset), ..) => find_abort(&mut client, &topic, partition, offset)?,
                (None, Some(producer_id), Some(producer_epoch), Some(coordinator_epoch)) => Abort {
                    topic,
                    partition,
                    producer_id,
                    producer_epoch,
                    coordinator_epoch: coordinator_epoch.max(0),
                },
                _ => bail!(
                    "give --start-offset, or --producer-id with --producer-epoch and \
                     --coordinator-epoch"
                ),
            };
            abort_transaction(&mut client, json, &abort)
        }
        Action::FindHanging {
            topic,
            partition,
            max_transaction_timeout_ms,
        } => hanging::run(
            &mut client,
            json,
            topic.as_deref(),
            partition,
            max_transaction_timeout_ms,
        ),
    }
}

/// `transactions list`.
fn list(client: &mut Client, json: bool, filter: &ListFilter) -> anyhow::Result<ExitCode> {
    let rows = txn::list(client, filter)?;
    if json {
        outln!("{}", serde_json::to_string(&rows)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let cells: Vec<Vec<String>> = rows
        .into_iter()
        .map(|l| {
            vec![
                l.transactional_id,
                l.coordinator.to_string(),
                l.producer_id.to_string(),
                l.state,
            ]
        })
        .collect();
    out!(
        "{}",
        table::render(
            &[
                "TransactionalId",
                "Coordinator",
                "ProducerId",
                "TransactionState"
            ],
            &cells
        )
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `transactions describe`.
fn describe(client: &mut Client, json: bool, id: &str) -> anyhow::Result<ExitCode> {
    let Some(d) = txn::describe(client, id)? else {
        bail!("describing transactional id `{id}`: TRANSACTIONAL_ID_NOT_FOUND (105)");
    };
    let (start, duration) = started(&d, now_ms());
    if json {
        let partitions: Vec<_> = d
            .partitions
            .iter()
            .map(|(t, p)| json!({"topic": t, "partition": p}))
            .collect();
        outln!(
            "{}",
            json!({
                "coordinator_id": d.coordinator_id,
                "transactional_id": d.transactional_id,
                "producer_id": d.producer_id,
                "producer_epoch": d.producer_epoch,
                "state": d.state,
                "transaction_timeout_ms": d.timeout_ms,
                "transaction_start_time_ms": start,
                "transaction_duration_ms": duration,
                "topic_partitions": partitions,
            })
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let opt = |v: Option<i64>| v.map_or_else(|| "-".to_string(), |v| v.to_string());
    let partitions: Vec<String> = d
        .partitions
        .iter()
        .map(|(t, p)| format!("{t}-{p}"))
        .collect();
    let row = vec![
        d.coordinator_id.to_string(),
        d.transactional_id.clone(),
        d.producer_id.to_string(),
        d.producer_epoch.to_string(),
        d.state.clone(),
        d.timeout_ms.to_string(),
        opt(start),
        opt(duration),
        partitions.join(","),
    ];
    out!(
        "{}",
        table::render(
            &[
                "CoordinatorId",
                "TransactionalId",
                "ProducerId",
                "ProducerEpoch",
                "TransactionState",
                "TransactionTimeoutMs",
                "CurrentTransactionStartTimeMs",
                "TransactionDurationMs",
                "TopicPartitions",
            ],
            &[row]
        )
    )?;
    Ok(ExitCode::SUCCESS)
}

/// When the open transaction started and how long it has run at `now`;
/// both `None` when none is open (the start time is then -1).
fn started(d: &Description, now: i64) -> (Option<i64>, Option<i64>) {
    if d.start_time_ms < 0 {
        return (None, None);
    }
    (
        Some(d.start_time_ms),
        Some(now.saturating_sub(d.start_time_ms)),
    )
}

/// `transactions describe-producers`.
fn describe_producers(
    client: &mut Client,
    json: bool,
    topic: &str,
    partition: i32,
) -> anyhow::Result<ExitCode> {
    let tp = (topic.to_string(), partition);
    let mut all = txn::producers(client, std::slice::from_ref(&tp))?;
    let rows = all.remove(&tp).unwrap_or_default();
    if json {
        outln!("{}", serde_json::to_string(&rows)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    out!("{}", producers_table(&rows))?;
    Ok(ExitCode::SUCCESS)
}

/// The table of `describe-producers`.
fn producers_table(rows: &[Producer]) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|p| {
            vec![
                p.producer_id.to_string(),
                p.producer_epoch.to_string(),
                p.coordinator_epoch.to_string(),
                p.last_sequence.to_string(),
                p.last_timestamp.to_string(),
                p.current_transaction_start_offset.to_string(),
            ]
        })
        .collect();
    table::render(
        &[
            "ProducerId",
            "ProducerEpoch",
            "LatestCoordinatorEpoch",
            "LastSequence",
            "LastTimestamp",
            "CurrentTransactionStartOffset",
        ],
        &cells,
    )
}

/// The abort of the transaction that starts at `offset` on the partition:
/// its producer found with DescribeProducers.
fn find_abort(
    client: &mut Client,
    topic: &str,
    partition: i32,
    offset: i64,
) -> anyhow::Result<Abort> {
    let tp = (topic.to_string(), partition);
    let mut all = txn::producers(client, std::slice::from_ref(&tp))?;
    let rows = all.remove(&tp).unwrap_or_default();
    abort_at(topic, partition, offset, &rows)
}

/// The abort of the producer among `rows` whose open transaction starts
/// at `offset`.
fn abort_at(topic: &str, partition: i32, offset: i64, rows: &[Producer]) -> anyhow::Result<Abort> {
    let Some(p) = rows
        .iter()
        .find(|p| offset >= 0 && p.current_transaction_start_offset == offset)
    else {
        bail!("no open transaction starts at offset {offset} on {topic}-{partition}");
    };
    let Ok(producer_epoch) = i16::try_from(p.producer_epoch) else {
        bail!(
            "producer {} has epoch {}, more than a marker can carry",
            p.producer_id,
            p.producer_epoch
        );
    };
    Ok(Abort {
        topic: topic.to_string(),
        partition,
        producer_id: p.producer_id,
        producer_epoch,
        coordinator_epoch: p.coordinator_epoch.max(0),
    })
}

/// `transactions abort`: writes the marker and says so.
fn abort_transaction(client: &mut Client, json: bool, a: &Abort) -> anyhow::Result<ExitCode> {
    txn::abort(client, a)?;
    if json {
        outln!("{}", serde_json::to_string(a)?)?;
    } else {
        outln!(
            "aborted the transaction of producer {} (epoch {}) on {}-{} with coordinator epoch {}",
            a.producer_id,
            a.producer_epoch,
            a.topic,
            a.partition,
            a.coordinator_epoch
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn producer(id: i64, epoch: i32, coordinator_epoch: i32, start: i64) -> Producer {
        Producer {
            producer_id: id,
            producer_epoch: epoch,
            coordinator_epoch,
            last_sequence: 4,
            last_timestamp: 1_700_000_000_000,
            current_transaction_start_offset: start,
        }
    }

    #[test]
    fn abort_finds_the_producer_by_start_offset() {
        let rows = [producer(7, 2, 3, -1), producer(9, 1, -1, 40)];
        let a = abort_at("t", 0, 40, &rows).unwrap();
        assert_eq!((a.producer_id, a.producer_epoch), (9, 1));
        // A producer that never had a marker reports -1; the marker says 0.
        assert_eq!(a.coordinator_epoch, 0);
        let e = abort_at("t", 0, 41, &rows).unwrap_err().to_string();
        assert_eq!(e, "no open transaction starts at offset 41 on t-0");
        // -1 means "no open transaction", never a start offset.
        assert!(abort_at("t", 0, -1, &rows).is_err());
        assert!(abort_at("t", 0, 40, &[producer(9, 70_000, 0, 40)]).is_err());
    }

    #[test]
    fn duration_only_of_an_open_transaction() {
        let mut d = Description {
            coordinator_id: 1,
            transactional_id: "x".into(),
            producer_id: 5,
            producer_epoch: 0,
            state: "Ongoing".into(),
            timeout_ms: 60_000,
            start_time_ms: 1_000,
            partitions: vec![("t".into(), 0)],
        };
        assert_eq!(started(&d, 3_500), (Some(1_000), Some(2_500)));
        d.start_time_ms = -1;
        assert_eq!(started(&d, 3_500), (None, None));
    }

    #[test]
    fn producers_table_has_kafkas_columns() {
        let t = producers_table(&[producer(9, 1, -1, 40)]);
        let mut lines = t.lines();
        let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
        assert_eq!(header[2], "LatestCoordinatorEpoch");
        let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
        assert_eq!(row, ["9", "1", "-1", "4", "1700000000000", "40"]);
    }
}
