//! Kafka transactions end to end: `spate serve` as the transaction
//! coordinator of real clients over TCP. confluent-kafka (librdkafka)
//! through `tests/py/txn_confluent.py`, kafka-python through
//! `tests/py/txn_kafka_python.py`, kafkajs through `tests/js/txn_producer.js`,
//! and quixstreams' exactly-once word count (`tests/py/word_count_eos.py`).
//!
//! Every script prints what it saw as one JSON line; the assertions are
//! here. Data is read back up to a plain record appended after the
//! transactions (a "mark"): a read_committed reader sees the mark only once
//! the last stable offset has passed every transaction before it, so a
//! stuck LSO shows as the value "NO MARK" at the end of a partition.
//!
//! Offsets are exact, as Kafka's are: each COMMIT or ABORT marker takes one
//! offset of every partition in the transaction.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use spate_e2e::{require, wait_until, workspace, Server, TempDir, Watched};

/// The broker configuration of these tests. Spate aborts a transaction at
/// its deadline; Kafka looks for timed-out ones every
/// `transaction.abort.timed.out.transaction.cleanup.interval.ms` (10 s by
/// default), set to 500 ms so that the same waits hold against Kafka.
const PROPERTIES: &str = "\
group.initial.rebalance.delay.ms=0
offsets.topic.num.partitions=5
transaction.state.log.num.partitions=5
transaction.abort.timed.out.transaction.cleanup.interval.ms=500
";

/// How long one client script may run before the test fails.
const LIMIT: Duration = Duration::from_secs(60);

/// Runs `cmd` to its end (killed after `limit`) and returns the JSON object
/// of its last line of stdout.
fn run_json(name: &str, cmd: Command, limit: Duration) -> Value {
    let mut p = Watched::spawn(name, cmd);
    match p.wait_exit(limit) {
        None => {
            p.kill9();
            panic!("{name} did not finish within {limit:?}\n{}", p.transcript());
        }
        Some(status) if !status.success() => {
            panic!("{name} failed ({status})\n{}", p.transcript())
        }
        Some(_) => {}
    }
    let lines = p.lines();
    let last = lines.last().map(String::as_str).unwrap_or_default();
    serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("{name}: {e} in its last line\n{}", p.transcript()))
}

fn python_script(script: &str, args: &[&str]) -> Command {
    let mut c = Command::new(require("python3"));
    c.arg(workspace().join("tests/py").join(script)).args(args);
    c
}

/// `txn_confluent.py SCENARIO ADDR ARGS...`, its JSON.
fn confluent(server: &Server, scenario: &str, args: &[&str]) -> Value {
    let mut all = vec![scenario, server.addr.as_str()];
    all.extend_from_slice(args);
    let cmd = python_script("txn_confluent.py", &all);
    run_json(&format!("txn_confluent.py {scenario}"), cmd, LIMIT)
}

/// `prefix0`, `prefix1`, ... for `numbers`.
fn named(prefix: &str, numbers: impl IntoIterator<Item = u32>) -> Vec<String> {
    numbers
        .into_iter()
        .map(|i| format!("{prefix}{i}"))
        .collect()
}

/// `values` followed by `more`.
fn then(mut values: Vec<String>, more: Vec<String>) -> Vec<String> {
    values.extend(more);
    values
}

/// The one-partition answer `{"0": values}`.
fn p0(values: Vec<String>) -> Value {
    json!({ "0": values })
}

/// A stable partition: the last stable offset equals the high watermark.
fn stable(end: u64) -> Value {
    json!({ "lso": end, "hw": end })
}

/// Whether a client error (as `txn_confluent.py` reports one) is the fatal
/// error of a fenced producer.
fn is_fenced(err: &Value) -> bool {
    let names = ["PRODUCER_FENCED", "_FENCED", "INVALID_PRODUCER_EPOCH"];
    err["fatal"] == true && names.iter().any(|n| err["name"] == *n)
}

/// A broker with [`PROPERTIES`] over the data directory `dir`.
fn start_in(dir: &TempDir, config: &TempDir) -> Server {
    let props = config.0.join("server.properties");
    std::fs::write(&props, PROPERTIES).expect("writing server.properties");
    Server::start_in(&dir.0, &[&props.to_string_lossy()])
}

#[test]
fn confluent_commit_is_visible_to_read_committed() {
    let server = Server::start_with_properties(PROPERTIES, &[]);
    let out = confluent(&server, "commit", &[]);
    let expected = json!({
        "0": named("c", [0, 2, 4, 6, 8]),
        "1": named("c", [1, 3, 5, 7, 9]),
    });
    assert_eq!(out["committed"], expected, "{out}");
    assert_eq!(out["uncommitted"], expected, "{out}");
    // Per partition: 5 records, the COMMIT marker, the mark.
    assert_eq!(
        out["offsets"],
        json!({ "0": stable(7), "1": stable(7) }),
        "{out}"
    );
}

#[test]
fn confluent_abort_is_seen_only_by_read_uncommitted() {
    let server = Server::start_with_properties(PROPERTIES, &[]);
    let out = confluent(&server, "abort", &[]);
    assert_eq!(out["committed"], p0(vec![]), "{out}");
    assert_eq!(out["uncommitted"], p0(named("a", 0..10)), "{out}");
    // 10 records, the ABORT marker, the mark.
    assert_eq!(out["offsets"], json!({ "0": stable(12) }), "{out}");
}

#[test]
fn confluent_commit_after_abort_in_the_same_producer() {
    let server = Server::start_with_properties(PROPERTIES, &[]);
    let out = confluent(&server, "abort-then-commit", &[]);
    assert_eq!(out["committed"], p0(named("c", 0..5)), "{out}");
    let all = then(named("a", 0..5), named("c", 0..5));
    assert_eq!(out["uncommitted"], p0(all), "{out}");
    // 5 aborted, ABORT, 5 committed, COMMIT, the mark.
    assert_eq!(out["offsets"], json!({ "0": stable(13) }), "{out}");
}

#[test]
fn confluent_second_producer_with_the_same_id_fences_the_first() {
    let server = Server::start_with_properties(PROPERTIES, &[]);
    let out = confluent(&server, "fence", &[]);
    // The second producer's InitProducerId aborted the first one's
    // transaction; its own committed.
    assert_eq!(out["committed"], p0(named("b", 0..3)), "{out}");
    let all = then(named("a", 0..5), named("b", 0..3));
    assert_eq!(out["uncommitted"], p0(all), "{out}");
    assert_eq!(out["offsets"], json!({ "0": stable(11) }), "{out}");
    assert!(
        is_fenced(&out["fenced_commit"]),
        "the first producer's commit fails, fenced and fatal: {}",
        out["fenced_commit"]
    );
    assert_ne!(out["begin_after_fenced"], "ok", "{out}");
}

#[test]
fn confluent_transaction_past_its_timeout_is_aborted() {
    let server = Server::start_with_properties(PROPERTIES, &[]);
    let out = confluent(&server, "timeout", &[]);
    // While open: 5 records and a plain one after them; the LSO holds at
    // the transaction's first offset.
    assert_eq!(
        out["while_open"],
        json!({ "0": { "lso": 0, "hw": 6 } }),
        "{out}"
    );
    // A read_committed reader reached the plain record (the LSO moved on)
    // without seeing any of the transaction's, and only after the timeout.
    assert_eq!(out["committed_to_after"], p0(vec![]), "{out}");
    let waited = out["waited_s"].as_f64().expect("waited_s");
    assert!(
        (1.5..15.0).contains(&waited),
        "read_committed saw past the transaction {waited:.1}s after it began (timeout 2s)"
    );
    assert_ne!(
        out["late_commit"], "ok",
        "a commit after the timeout must fail"
    );
    assert_eq!(out["committed"], p0(vec!["after".into()]), "{out}");
    let all = then(named("x", 0..5), vec!["after".into()]);
    assert_eq!(out["uncommitted"], p0(all), "{out}");
    // 5 records, "after", the ABORT marker, the mark.
    assert_eq!(out["offsets"], json!({ "0": stable(8) }), "{out}");
}

#[test]
fn confluent_misuse_errors_and_the_producer_goes_on() {
    let server = Server::start_with_properties(PROPERTIES, &[]);
    let out = confluent(&server, "misuse", &[]);
    for call in [
        "commit_without_begin",
        "abort_without_begin",
        "produce_outside",
        "begin_twice",
    ] {
        assert_eq!(out[call]["name"], "_STATE", "{call}: {}", out[call]);
        assert_eq!(out[call]["fatal"], false, "{call}: {}", out[call]);
    }
    assert_eq!(out["commit"], "ok", "{out}");
    assert_eq!(out["committed"], p0(vec!["inside".into()]), "{out}");
    assert_eq!(out["uncommitted"], p0(vec!["inside".into()]), "{out}");
    assert_eq!(out["offsets"], json!({ "0": stable(3) }), "{out}");
}

#[test]
fn confluent_consume_transform_produce_with_offsets_in_the_transaction() {
    let server = Server::start_with_properties(PROPERTIES, &[]);
    let out = confluent(&server, "consume-transform-produce", &[]);
    let rounds = out["rounds"].as_array().expect("rounds");
    assert!(rounds.len() >= 3, "{out}");
    let mut aborted = 0;
    for (i, r) in rounds.iter().enumerate() {
        // Before EndTxn, the group's committed offsets are the previous ones.
        assert_eq!(r["before_end"], r["previous"], "round {i}: {r}");
        if r["outcome"] == "commit" {
            // The positions sent (a partition with no position keeps its
            // committed offset).
            let mut want = r["previous"].clone();
            for (p, o) in r["sent"].as_object().expect("sent") {
                if o.as_i64().is_some_and(|o| o >= 0) {
                    want[p] = o.clone();
                }
            }
            assert_eq!(r["after_end"], want, "round {i}: {r}");
        } else {
            assert_eq!(r["after_end"], r["previous"], "round {i}: {r}");
            aborted += r["values"].as_array().map_or(0, Vec::len);
        }
    }
    // With require_stable (read_committed), a partition with a pending
    // transactional offset answers UNSTABLE_OFFSET_COMMIT, which librdkafka
    // retries until the call's 3 s are up.
    assert_eq!(
        rounds[0]["before_end_stable"],
        json!({ "error": "_TIMED_OUT" }),
        "OffsetFetch with require_stable must not return a pending offset"
    );
    assert!(aborted > 0, "round 1 aborted a batch: {out}");
    assert_eq!(out["final"], json!({ "0": 10, "1": 10 }), "{out}");
    let bang =
        |from: u32| -> Vec<String> { (from..20).step_by(2).map(|n| format!("n{n}!")).collect() };
    assert_eq!(
        out["committed"],
        json!({ "0": bang(0), "1": bang(1) }),
        "each input exactly once"
    );
    let seen: usize = ["0", "1"]
        .iter()
        .map(|p| out["uncommitted"][p].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(seen, 20 + aborted, "the aborted batch too: {out}");
}

#[test]
fn kafka_python_commit_and_abort() {
    let server = Server::start_with_properties(PROPERTIES, &[]);
    let cmd = python_script("txn_kafka_python.py", &[&server.addr]);
    let out = run_json("txn_kafka_python.py", cmd, LIMIT);
    assert_eq!(out["committed"], json!(named("c", 0..10)), "{out}");
    let all = then(then(named("c", 0..5), named("a", 0..5)), named("c", 5..10));
    assert_eq!(out["uncommitted"], json!(all), "{out}");
}

#[test]
fn kafkajs_commit_and_abort() {
    let server = Server::start_with_properties(PROPERTIES, &[]);
    let mut cmd = Command::new(require("node"));
    cmd.arg(workspace().join("tests/js/txn_producer.js"))
        .arg(&server.addr);
    let out = run_json("txn_producer.js", cmd, LIMIT);
    assert_eq!(out["committed"], json!(named("c", 0..10)), "{out}");
    let all = then(then(named("c", 0..5), named("a", 0..5)), named("c", 5..10));
    assert_eq!(out["uncommitted"], json!(all), "{out}");
}

/// quixstreams with processing_guarantee="exactly-once", killed with
/// SIGKILL part way and run again on the same state directory: read with
/// read_committed, every word's counts are exactly 1, 2, ..., n, n being
/// its number of occurrences in the input (nothing counted twice, nothing
/// lost).
#[test]
fn quixstreams_exactly_once_word_count_survives_kill_9() {
    let python = workspace().join("target/venv-quix/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: run scripts/test, which creates it",
        python.display()
    );
    let server = Server::start_with_properties(PROPERTIES, &[]);
    let text = [
        "the quick brown fox jumps over the lazy dog",
        "the dog sleeps",
        "a fox is quick and a dog is lazy",
        "spate speaks the kafka protocol",
        "the end",
    ];
    let input: String = (0..40)
        .flat_map(|_| text)
        .map(|l| format!("{l}\n"))
        .collect();
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for w in input.split_whitespace() {
        *expected.entry(w.to_string()).or_default() += 1;
    }
    let words: u64 = expected.values().sum();
    let create = server.spate(&["topic", "create", "lines", "--partitions", "2"], b"");
    assert!(create.status.success(), "{create:?}");
    let produce = server.spate(&["produce", "lines"], input.as_bytes());
    assert!(produce.status.success(), "{produce:?}");
    let state = TempDir::new("quix-eos-state");
    let app = || {
        let mut c = Command::new(&python);
        c.arg(workspace().join("tests/py/word_count_eos.py"))
            .arg(&server.addr)
            .arg(&state.0);
        c
    };
    let mut first = Watched::spawn("word count, first run", app());
    let counted = |p: &Watched| {
        p.lines()
            .iter()
            .filter(|l| l.starts_with("counted "))
            .count() as u64
    };
    wait_until("400 words counted", LIMIT, &[&first], || {
        (counted(&first) >= 400).then_some(())
    });
    first.kill9();
    let before = counted(&first);
    assert!(before < words, "killed part way: {before} of {words}");
    let mut second = Watched::spawn("word count, second run", app());
    let status = second.wait_exit(LIMIT);
    assert!(
        status.is_some_and(|s| s.success()),
        "second run: {status:?}\n{}",
        second.transcript()
    );
    // The second run counted again what the first had not committed, and
    // not what it had (a checkpoint a second, 4 ms a word).
    let after = counted(&second);
    eprintln!("words {words}: counted {before} before the kill, {after} after");
    assert!(
        after < words && before + after >= words,
        "counted {before} before the kill and {after} after, of {words}"
    );
    let out = confluent(&server, "read-back", &["word-counts"]);
    let mut got: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for values in out["committed"].as_object().expect("partitions").values() {
        for v in values.as_array().expect("values") {
            let v: Value = serde_json::from_str(v.as_str().expect("value"))
                .unwrap_or_else(|e| panic!("{e}: {v}"));
            let word = v["word"].as_str().expect("word").to_string();
            got.entry(word)
                .or_default()
                .push(v["count"].as_u64().expect("count"));
        }
    }
    let want: BTreeMap<String, Vec<u64>> = expected
        .iter()
        .map(|(w, n)| (w.clone(), (1..=*n).collect()))
        .collect();
    assert_eq!(got, want, "counted before the kill: {before} of {words}");
}

/// The broker killed with SIGKILL while a transaction with written records
/// is open: after a restart on the same directory the transaction times
/// out (8 s from its start, not from the restart), is aborted, and
/// read_committed readers move past it.
#[test]
fn broker_kill_9_mid_transaction_aborts_it_after_restart() {
    let dir = TempDir::new("txn-open");
    let config = TempDir::new("txn-open-config");
    let server = start_in(&dir, &config);
    let mut holder = Watched::spawn(
        "hold-open",
        python_script("txn_confluent.py", &["hold-open", &server.addr, "t-open"]),
    );
    wait_until("an open transaction", LIMIT, &[&holder], || {
        holder.lines().iter().any(|l| l == "open").then_some(())
    });
    let opened = Instant::now();
    server.kill9();
    holder.kill9();
    let server = start_in(&dir, &config);
    // Still open after the restart (rebuilt from the log and
    // __transaction_state): the LSO holds at its first offset.
    let open = confluent(&server, "offsets", &["t-open"]);
    if opened.elapsed() < Duration::from_secs(6) {
        assert_eq!(open, json!({ "0": { "lso": 0, "hw": 5 } }), "after restart");
    } else {
        eprintln!("too slow to see the transaction open after the restart: {open}");
    }
    let out = confluent(&server, "read-back", &["t-open"]);
    let waited = opened.elapsed();
    eprintln!("aborted and read back {waited:?} after the transaction was written");
    assert_eq!(out["committed"], p0(vec![]), "{out}");
    assert_eq!(out["uncommitted"], p0(named("h", 0..5)), "{out}");
    // 5 records, the ABORT marker, the mark (in either order).
    assert_eq!(out["offsets"], json!({ "0": stable(7) }), "{out}");
}

/// The broker killed with SIGKILL right after it acknowledged a commit
/// (EndTxn answered, markers perhaps not yet written): after a restart the
/// committed records are visible to read_committed readers.
#[test]
fn broker_kill_9_after_commit_keeps_it_committed() {
    let dir = TempDir::new("txn-done");
    let config = TempDir::new("txn-done-config");
    let server = start_in(&dir, &config);
    let mut holder = Watched::spawn(
        "commit-and-wait",
        python_script(
            "txn_confluent.py",
            &["commit-and-wait", &server.addr, "t-done"],
        ),
    );
    wait_until("an acknowledged commit", LIMIT, &[&holder], || {
        holder
            .lines()
            .iter()
            .any(|l| l == "committed")
            .then_some(())
    });
    server.kill9();
    holder.kill9();
    let server = start_in(&dir, &config);
    let out = confluent(&server, "read-back", &["t-done"]);
    assert_eq!(out["committed"], p0(named("d", 0..5)), "{out}");
    assert_eq!(out["uncommitted"], p0(named("d", 0..5)), "{out}");
    // 5 records, the COMMIT marker, the mark.
    assert_eq!(out["offsets"], json!({ "0": stable(7) }), "{out}");
}
