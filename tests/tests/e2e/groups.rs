//! Consumer groups end to end: `spate serve` coordinating real clients,
//! each member a process of its own (confluent-kafka and kafka-python
//! through `tests/py/group_member.py`, kafkajs through
//! `tests/js/group_member.js`, and `spate consume --group`), plus `spate
//! group` and a quixstreams word count.
//!
//! Every broker here starts with `group.initial.rebalance.delay.ms=0`, and
//! members use 6 s sessions with 1 s heartbeats, so a killed member's
//! partitions move within seconds.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use spate_e2e::{require, spate, wait_until, workspace, Server, TempDir, Watched};

/// The broker configuration of these tests.
const PROPERTIES: &str = "\
group.initial.rebalance.delay.ms=0
offsets.topic.num.partitions=5
group.consumer.session.timeout.ms=6000
group.consumer.heartbeat.interval.ms=1000
";

/// How long any one wait may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(90);

/// Runs `spate ARGS` and requires success; returns stdout.
fn spate_ok(server: &Server, args: &[&str]) -> String {
    let out = server.spate(args, b"");
    assert!(
        out.status.success(),
        "spate {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `spate ARGS --json`, parsed.
fn spate_json(server: &Server, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let out = spate_ok(server, &all);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// Produces `values` to `partition` of `topic` with `spate produce`.
fn produce(server: &Server, topic: &str, partition: i32, values: &[String]) {
    let mut input = values.join("\n");
    input.push('\n');
    let p = partition.to_string();
    let out = server.spate(&["produce", topic, "--partition", &p], input.as_bytes());
    assert!(
        out.status.success(),
        "produce: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Produces the numbers `from..to` to a topic of `partitions` partitions,
/// number `n` to partition `n % partitions`.
fn produce_numbers(server: &Server, topic: &str, partitions: i32, from: u32, to: u32) {
    for p in 0..partitions {
        let values: Vec<String> = (from..to)
            .filter(|n| (*n as i32) % partitions == p)
            .map(|n| n.to_string())
            .collect();
        produce(server, topic, p, &values);
    }
}

/// A member process of `lib` (`confluent`, `kafka-python`, `kafkajs`)
/// that takes `process_ms` per record.
fn member(
    lib: &str,
    server: &Server,
    group: &str,
    topic: &str,
    process_ms: u32,
    n: usize,
) -> Watched {
    let root = workspace();
    let delay = process_ms.to_string();
    let cmd = if lib == "kafkajs" {
        let mut c = Command::new(require("node"));
        c.arg(root.join("tests/js/group_member.js")).args([
            server.addr.as_str(),
            group,
            topic,
            delay.as_str(),
        ]);
        c
    } else {
        let mut c = Command::new(require("python3"));
        c.arg(root.join("tests/py/group_member.py")).args([
            lib,
            server.addr.as_str(),
            group,
            topic,
            delay.as_str(),
        ]);
        c
    };
    Watched::spawn(&format!("{lib} member {n}"), cmd)
}

/// One processed record in a member's log.
#[derive(Debug, Clone)]
struct Processed {
    /// Which member process.
    member: usize,
    partition: i32,
    offset: i64,
    value: String,
    /// Wall-clock milliseconds when it was processed.
    at: u64,
    /// Whether the member logged that the commit of `offset + 1` returned.
    committed: bool,
}

/// What a member's lines say: its assignments in order and its records.
#[derive(Debug, Default)]
struct MemberLog {
    assignments: Vec<BTreeSet<i32>>,
    processed: Vec<Processed>,
    closed: bool,
}

fn parse(member: usize, lines: &[String]) -> MemberLog {
    let mut log = MemberLog::default();
    let mut commits: BTreeSet<(i32, i64)> = BTreeSet::new();
    for line in lines {
        let words: Vec<&str> = line.split(' ').collect();
        match words.as_slice() {
            ["assigned", parts, _at] => log.assignments.push(
                parts
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(|p| p.parse().expect("partition"))
                    .collect(),
            ),
            ["got", p, o, v, at] => log.processed.push(Processed {
                member,
                partition: p.parse().expect("partition"),
                offset: o.parse().expect("offset"),
                value: v.to_string(),
                at: at.parse().expect("time"),
                committed: false,
            }),
            ["committed", p, next, _at] => {
                commits.insert((p.parse().expect("partition"), next.parse().expect("offset")));
            }
            ["closed", _at] => log.closed = true,
            _ => {}
        }
    }
    for r in &mut log.processed {
        r.committed = commits.contains(&(r.partition, r.offset + 1));
    }
    log
}

/// The latest assignment of each member, once every member has one with
/// `each` partitions and together they cover `0..partitions`.
fn settled(members: &[&Watched], partitions: i32, each: usize) -> Option<Vec<BTreeSet<i32>>> {
    let latest: Vec<BTreeSet<i32>> = members
        .iter()
        .enumerate()
        .map(|(i, m)| parse(i, &m.lines()).assignments.last().cloned())
        .collect::<Option<_>>()?;
    let all: BTreeSet<i32> = latest.iter().flatten().copied().collect();
    (latest.iter().all(|a| a.len() == each) && all == (0..partitions).collect()).then_some(latest)
}

/// Checks at-least-once with synchronous commits: every value in
/// `from..to` was processed, and a record processed more than once was,
/// every time but the last, processed without its commit returning (a
/// record whose commit returned is never processed again).
fn check_delivery(logs: &[MemberLog], from: u32, to: u32) -> usize {
    let mut by_record: BTreeMap<(i32, i64), Vec<&Processed>> = BTreeMap::new();
    for r in logs.iter().flat_map(|l| &l.processed) {
        by_record
            .entry((r.partition, r.offset))
            .or_default()
            .push(r);
    }
    let values: BTreeSet<u32> = by_record
        .values()
        .map(|rs| rs[0].value.parse().expect("number"))
        .collect();
    let missing: Vec<u32> = (from..to).filter(|n| !values.contains(n)).collect();
    assert!(missing.is_empty(), "never processed: {missing:?}");
    let mut duplicates = 0;
    for ((p, o), mut rs) in by_record {
        if rs.len() < 2 {
            continue;
        }
        duplicates += rs.len() - 1;
        rs.sort_by_key(|r| r.at);
        for r in &rs[..rs.len() - 1] {
            assert!(
                !r.committed,
                "record {p}/{o} was processed again after member {} committed it: {rs:?}",
                r.member
            );
        }
    }
    duplicates
}

/// The shared scenario, for one client library:
/// (a) three members in one group on a 6-partition topic get 2 partitions
/// each; (b) `kill -9` of one hands its partitions to the other two after
/// the session timeout, nothing lost, nothing committed processed twice;
/// (c) a member started later resumes at the committed offsets.
fn group_scenario(lib: &str, inspect: impl Fn(&Server, &str, &[&Watched])) -> Server {
    let server = Server::start_with_properties(PROPERTIES, &[]);
    let topic = "numbers";
    let group = format!("g-{lib}");
    spate_ok(&server, &["topic", "create", topic, "--partitions", "6"]);
    let mut members: Vec<Watched> = (0..3)
        .map(|i| member(lib, &server, &group, topic, 5, i))
        .collect();
    let refs: Vec<&Watched> = members.iter().collect();
    let split = wait_until(
        "three members with 2 partitions each",
        PATIENCE,
        &refs,
        || settled(&refs, 6, 2),
    );
    eprintln!("{lib}: three members split the partitions {split:?}");
    inspect(&server, &group, &refs);

    // (b) 600 numbered records; member 0 dies in the middle.
    produce_numbers(&server, topic, 6, 0, 600);
    wait_until("member 0 to process 20 records", PATIENCE, &refs, || {
        (parse(0, &members[0].lines()).processed.len() >= 20).then_some(())
    });
    members[0].kill9();
    let refs: Vec<&Watched> = members.iter().collect();
    let survivors = [refs[1], refs[2]];
    let after = wait_until(
        "the two survivors to take 3 partitions each",
        PATIENCE,
        &refs,
        || settled(&survivors, 6, 3),
    );
    eprintln!("{lib}: after kill -9 of member 0 the others own {after:?}");
    wait_until("every record to be processed", PATIENCE, &refs, || {
        let seen: BTreeSet<String> = (0..3)
            .flat_map(|i| parse(i, &members[i].lines()).processed)
            .map(|r| r.value)
            .collect();
        (seen.len() >= 600).then_some(())
    });
    for m in &mut members[1..] {
        m.close_stdin();
        assert!(
            m.wait_exit(PATIENCE).is_some(),
            "member did not exit\n{}",
            m.transcript()
        );
    }
    let logs: Vec<MemberLog> = (0..3).map(|i| parse(i, &members[i].lines())).collect();
    assert!(logs[1].closed && logs[2].closed, "survivors closed");
    let dups = check_delivery(&logs, 0, 600);
    eprintln!("{lib}: 600 records, {dups} processed twice (never past a committed offset)");

    // (c) a new member resumes where the group committed.
    produce_numbers(&server, topic, 6, 600, 660);
    let mut late = member(lib, &server, &group, topic, 0, 3);
    let processed = wait_until(
        "the new member to process 60 records",
        PATIENCE,
        &[&late],
        || {
            let log = parse(3, &late.lines());
            (log.processed.len() >= 60).then_some(log.processed)
        },
    );
    let values: BTreeSet<u32> = processed
        .iter()
        .map(|r| r.value.parse().expect("n"))
        .collect();
    assert_eq!(values, (600..660).collect(), "{}", late.transcript());
    for p in 0..6 {
        let first = processed
            .iter()
            .find(|r| r.partition == p)
            .map(|r| r.offset);
        assert_eq!(
            first,
            Some(100),
            "partition {p} resumes at its committed offset"
        );
    }
    late.close_stdin();
    assert!(late.wait_exit(PATIENCE).is_some(), "{}", late.transcript());
    server
}

#[test]
fn confluent_kafka_members_split_fail_over_and_resume() {
    let server = group_scenario("confluent", |server, group, members| {
        // (e) while three librdkafka members are in: describe decodes their
        // subscriptions and assignments.
        let d = spate_json(server, &["group", "describe", group]);
        let g = &d[0];
        assert_eq!(g["state"], "Stable", "{d}");
        assert_eq!(g["protocol_type"], "consumer", "{d}");
        assert_eq!(g["protocol"], "range", "{d}");
        let ms = g["members"].as_array().expect("members");
        assert_eq!(ms.len(), 3, "{d}\n{}", members[0].transcript());
        for m in ms {
            assert_eq!(m["subscription"], serde_json::json!(["numbers"]), "{d}");
            assert_eq!(
                m["assignment"]["numbers"].as_array().map(Vec::len),
                Some(2),
                "{d}"
            );
            assert_eq!(m["client_id"], "member-confluent", "{d}");
        }
    });
    let group = "g-confluent";
    // (e) after they left: listed as Empty, offsets at the end, no lag.
    let list = spate_json(&server, &["group", "list"]);
    let entry = list
        .as_array()
        .and_then(|l| l.iter().find(|g| g["group"] == group))
        .unwrap_or_else(|| panic!("{group} not listed: {list}"));
    assert_eq!(entry["state"], "Empty", "{list}");
    assert_eq!(entry["protocol_type"], "consumer", "{list}");
    let d = spate_json(&server, &["group", "describe", group]);
    let offsets = d[0]["offsets"].as_array().expect("offsets").clone();
    assert_eq!(offsets.len(), 6, "{d}");
    for o in &offsets {
        assert_eq!(o["committed"], 110, "{d}");
        assert_eq!(o["log_end_offset"], 110, "{d}");
        assert_eq!(o["lag"], 0, "{d}");
    }
    let text = spate_ok(&server, &["group", "describe", group]);
    eprintln!("{text}");
    assert!(text.contains("CURRENT-OFFSET"), "{text}");
    // delete-offsets drops one partition's offset.
    let out = spate_json(
        &server,
        &[
            "group",
            "delete-offsets",
            group,
            "numbers",
            "--partition",
            "0",
        ],
    );
    assert_eq!(out[0]["error"], Value::Null, "{out}");
    let d = spate_json(&server, &["group", "describe", group]);
    let p0 = d[0]["offsets"]
        .as_array()
        .and_then(|o| o.iter().find(|o| o["partition"] == 0).cloned());
    assert!(p0.is_none(), "partition 0's offset is gone: {d}");
    // delete removes the group.
    let out = spate_json(&server, &["group", "delete", group]);
    assert_eq!(out[0]["error"], Value::Null, "{out}");
    let list = spate_json(&server, &["group", "list"]);
    assert!(
        !list.to_string().contains(group),
        "{group} still listed: {list}"
    );
    let d = spate_json(&server, &["group", "describe", group]);
    assert_eq!(d[0]["state"], "Dead", "{d}");
    assert_eq!(d[0]["offsets"], serde_json::json!([]), "{d}");
}

#[test]
fn kafka_python_members_split_fail_over_and_resume() {
    group_scenario("kafka-python", |_, _, _| {});
}

#[test]
fn kafkajs_members_split_fail_over_and_resume() {
    group_scenario("kafkajs", |_, _, _| {});
}

/// A group with members cannot be deleted (NON_EMPTY_GROUP); deleting an
/// unknown group says GROUP_ID_NOT_FOUND; `spate group delete` exits
/// non-zero for both.
#[test]
fn group_delete_refuses_live_and_unknown_groups() {
    let server = Server::start_with_properties(PROPERTIES, &[]);
    spate_ok(&server, &["topic", "create", "t", "--partitions", "2"]);
    let m = member("confluent", &server, "busy", "t", 0, 0);
    wait_until("the member to be assigned", PATIENCE, &[&m], || {
        settled(&[&m], 2, 2)
    });
    let out = server.spate(&["group", "delete", "busy", "nobody", "--json"], b"");
    assert!(!out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v[0]["error"], "NON_EMPTY_GROUP", "{v}");
    assert_eq!(v[1]["error"], "GROUP_ID_NOT_FOUND", "{v}");
}

/// (f) two `spate consume --group` processes split a 4-partition topic,
/// print disjoint halves, commit, and leave.
#[test]
fn spate_consume_members_split_partitions() {
    let server = Server::start_with_properties(PROPERTIES, &[]);
    spate_ok(&server, &["topic", "create", "lines", "--partitions", "4"]);
    let consumer = |n: usize| {
        let mut c = Command::new(spate());
        c.args([
            "consume",
            "lines",
            "--group",
            "cli",
            "--from-beginning",
            "--format",
            "%p %o %v",
            "--session-timeout-ms",
            "6000",
            "--heartbeat-interval-ms",
            "1000",
            "-n",
            "200",
            "-b",
            &server.addr,
        ]);
        Watched::spawn(&format!("spate consume {n}"), c)
    };
    // "group cli: generation G, member M, assigned partitions [0,1] of lines"
    let assigned = |w: &Watched| -> Option<BTreeSet<i32>> {
        let line = w
            .err_lines()
            .into_iter()
            .rev()
            .find(|l| l.contains("assigned partitions"))?;
        let inside = line.split('[').nth(1)?.split(']').next()?;
        Some(inside.split(',').filter_map(|p| p.parse().ok()).collect())
    };
    let a = consumer(0);
    let b = consumer(1);
    let split = wait_until(
        "two spate members with 2 partitions each",
        PATIENCE,
        &[&a, &b],
        || {
            let (x, y) = (assigned(&a)?, assigned(&b)?);
            (x.len() == 2 && y.len() == 2 && x.is_disjoint(&y)).then_some((x, y))
        },
    );
    eprintln!("spate consume --group split: {split:?}");
    let d = spate_json(&server, &["group", "describe", "cli"]);
    let ms = d[0]["members"].as_array().expect("members");
    assert_eq!(ms.len(), 2, "{d}");
    for m in ms {
        assert_eq!(
            m["assignment"]["lines"].as_array().map(Vec::len),
            Some(2),
            "{d}"
        );
        assert_eq!(m["client_id"], "spate-cli", "{d}");
    }
    produce_numbers(&server, "lines", 4, 0, 400);
    let mut procs = [a, b];
    let mut printed: Vec<(i32, u32)> = Vec::new();
    for (p, mine) in procs.iter_mut().zip([&split.0, &split.1]) {
        let status = p.wait_exit(PATIENCE);
        assert!(status.is_some_and(|s| s.success()), "{}", p.transcript());
        let lines = p.lines();
        assert_eq!(lines.len(), 200, "{}", p.transcript());
        for l in lines {
            let w: Vec<&str> = l.split(' ').collect();
            let part: i32 = w[0].parse().expect("partition");
            assert!(mine.contains(&part), "{} printed partition {part}", p.name);
            printed.push((part, w[2].parse().expect("value")));
        }
    }
    let values: BTreeSet<u32> = printed.iter().map(|(_, v)| *v).collect();
    assert_eq!(values, (0..400).collect(), "every record printed once");
    assert_eq!(printed.len(), 400);
    // Both committed what they printed and left.
    let d = spate_json(&server, &["group", "describe", "cli"]);
    assert_eq!(d[0]["state"], "Empty", "{d}");
    for o in d[0]["offsets"].as_array().expect("offsets") {
        assert_eq!(o["committed"], 100, "{d}");
        assert_eq!(o["lag"], 0, "{d}");
    }
    // A third member resumes at the committed offsets: nothing new to print.
    let out = server.spate(
        &[
            "consume",
            "lines",
            "--group",
            "cli",
            "--from-beginning",
            "-e",
        ],
        b"",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "",
        "resumed at the end"
    );
    // SIGTERM (as Ctrl-C) makes a member commit and leave at once: the
    // group is Empty without waiting out the 45 s default session.
    let mut c = Command::new(spate());
    c.args(["consume", "lines", "--group", "cli", "-b", &server.addr]);
    let mut member = Watched::spawn("spate consume (SIGTERM)", c);
    wait_until("the member to join", PATIENCE, &[&member], || {
        assigned(&member).filter(|a| a.len() == 4)
    });
    let d = spate_json(&server, &["group", "describe", "cli"]);
    assert_eq!(d[0]["members"].as_array().map(Vec::len), Some(1), "{d}");
    let status = Command::new("kill")
        .args(["-TERM", &member.pid().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let exit = member.wait_exit(Duration::from_secs(20));
    assert!(exit.is_some_and(|s| s.success()), "{}", member.transcript());
    let d = spate_json(&server, &["group", "describe", "cli"]);
    assert_eq!(d[0]["state"], "Empty", "left the group: {d}");
}

/// (g) quixstreams' word count, with its default at-least-once guarantee:
/// lines in, a `group_by` word repartition, a count kept in a state store
/// backed by a compacted changelog topic, counts out.
#[test]
fn quixstreams_word_count() {
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
    let mut input = String::new();
    for _ in 0..4 {
        for line in text {
            input.push_str(line);
            input.push('\n');
        }
    }
    spate_ok(&server, &["topic", "create", "lines", "--partitions", "2"]);
    let out = server.spate(&["produce", "lines"], input.as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for w in input.split_whitespace() {
        *expected.entry(w.to_string()).or_default() += 1;
    }
    let state = TempDir::new("quix-state");
    let out = Command::new(&python)
        .arg(workspace().join("tests/py/word_count.py"))
        .arg(&server.addr)
        .arg(&state.0)
        .output()
        .expect("quixstreams runs");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "word count failed:\n{log}");
    // The counts topic, read back: the last count per word.
    let counts = spate_ok(
        &server,
        &[
            "consume",
            "word-counts",
            "--from-beginning",
            "-e",
            "--format",
            "%k %v",
        ],
    );
    let mut got: BTreeMap<String, u64> = BTreeMap::new();
    for line in counts.lines() {
        let (word, value) = line.split_once(' ').expect("key value");
        let v: Value = serde_json::from_str(value).expect("json count");
        got.insert(word.to_string(), v["count"].as_u64().expect("count"));
    }
    println!("quixstreams word count over {} lines:", text.len() * 4);
    for (w, n) in &got {
        println!("  {w:<10} {n}");
    }
    assert_eq!(got, expected);
    // The state went through a compacted changelog topic.
    let topics = spate_json(&server, &["topic", "list"]);
    let changelog = topics
        .as_array()
        .and_then(|ts| {
            ts.iter()
                .filter_map(|t| t["name"].as_str().or_else(|| t.as_str()))
                .find(|n| n.starts_with("changelog__"))
                .map(str::to_string)
        })
        .unwrap_or_else(|| panic!("no changelog topic in {topics}"));
    let d = spate_ok(&server, &["topic", "describe", &changelog]);
    assert!(d.contains("compact"), "{changelog} is compacted: {d}");
    println!("state changelog topic: {changelog} (cleanup.policy=compact)");
}

/// (h) librdkafka with `group.protocol=consumer` (KIP-848): the broker
/// assigns partitions through ConsumerGroupHeartbeat; two members split a
/// 4-partition topic, `spate group` shows them, and together they process
/// every record, none again once committed.
#[test]
fn librdkafka_kip848_consumer_protocol_members_split() {
    let server = Server::start_with_properties(PROPERTIES, &[]);
    spate_ok(&server, &["topic", "create", "kip848", "--partitions", "4"]);
    let mut members: Vec<Watched> = (0..2)
        .map(|i| member("confluent-848", &server, "g-848", "kip848", 0, i))
        .collect();
    let refs: Vec<&Watched> = members.iter().collect();
    let split = wait_until(
        "two members with 2 partitions each",
        PATIENCE,
        &refs,
        || settled(&refs, 4, 2),
    );
    eprintln!("KIP-848 members split the partitions {split:?}");
    // (e) for a KIP-848 group: describe goes through ConsumerGroupDescribe.
    let d = spate_json(&server, &["group", "describe", "g-848"]);
    assert_eq!(d[0]["type"], "consumer", "{d}");
    let ms = d[0]["members"].as_array().expect("members");
    assert_eq!(ms.len(), 2, "{d}");
    for m in ms {
        assert_eq!(m["subscription"], serde_json::json!(["kip848"]), "{d}");
        assert_eq!(
            m["assignment"]["kip848"].as_array().map(Vec::len),
            Some(2),
            "{d}"
        );
    }
    let list = spate_json(&server, &["group", "list"]);
    let entry = list
        .as_array()
        .and_then(|l| l.iter().find(|g| g["group"] == "g-848"))
        .unwrap_or_else(|| panic!("g-848 not listed: {list}"));
    assert_eq!(entry["type"], "consumer", "{list}");
    produce_numbers(&server, "kip848", 4, 0, 400);
    wait_until("every record to be processed", PATIENCE, &refs, || {
        let n: BTreeSet<String> = (0..2)
            .flat_map(|i| parse(i, &members[i].lines()).processed)
            .map(|r| r.value)
            .collect();
        (n.len() >= 400).then_some(())
    });
    for m in &mut members {
        m.close_stdin();
        assert!(m.wait_exit(PATIENCE).is_some(), "{}", m.transcript());
    }
    let logs: Vec<MemberLog> = (0..2).map(|i| parse(i, &members[i].lines())).collect();
    check_delivery(&logs, 0, 400);
}
