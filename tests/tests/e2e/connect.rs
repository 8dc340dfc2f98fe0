//! `spate connect standalone` end to end: the built binary against a
//! `spate serve`, with Kafka's own quickstart property files, real files,
//! its REST API, SIGKILL and SIGTERM restarts, and the dead-letter topic.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use spate_e2e::cluster::wait;
use spate_e2e::{free_port, spate, Server, TempDir};

/// How long anything may take to arrive.
const PATIENCE: Duration = Duration::from_secs(60);

/// Kafka's `config/connect-standalone.properties` (3.7, comments left
/// out); `bootstrap.servers` and the offset file are set per test.
const WORKER: &str = "bootstrap.servers=localhost:9092
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=true
value.converter.schemas.enable=true
offset.storage.file.filename=/tmp/connect.offsets
offset.flush.interval.ms=10000
";

/// Kafka's `config/connect-file-source.properties`.
const FILE_SOURCE: &str = "name=local-file-source
connector.class=FileStreamSource
tasks.max=1
file=test.txt
topic=connect-test
";

/// Kafka's `config/connect-file-sink.properties`.
const FILE_SINK: &str = "name=local-file-sink
connector.class=FileStreamSink
tasks.max=1
file=test.sink.txt
topics=connect-test
";

/// A running `spate connect standalone`, killed when dropped.
struct Worker {
    child: Child,
    /// The REST API's port.
    port: u16,
    /// Its stderr.
    log: std::path::PathBuf,
}

impl Worker {
    /// Runs the worker in `dir` with the files there.
    fn start(dir: &Path, files: &[&str], port: u16) -> Worker {
        let log = dir.join(format!("worker-{port}-{}.log", std::process::id()));
        let err = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let child = Command::new(spate())
            .args(["connect", "standalone"])
            .args(files)
            .current_dir(dir)
            .env("SPATE_LOG", "info")
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .expect("starting spate connect");
        let w = Worker { child, port, log };
        wait("the REST API", PATIENCE, || w.get("/").ok());
        w
    }

    /// An HTTP request to the REST API: the status code and the body.
    fn call(&self, method: &str, path: &str) -> std::io::Result<(u16, String)> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port))?;
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )?;
        let mut text = String::new();
        s.read_to_string(&mut text)?;
        let code = text
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
        Ok((code, body.to_string()))
    }

    /// GET, as JSON.
    fn get(&self, path: &str) -> std::io::Result<Value> {
        let (code, body) = self.call("GET", path)?;
        if code != 200 {
            return Err(std::io::Error::other(format!("{code}: {body}")));
        }
        serde_json::from_str(&body).map_err(std::io::Error::other)
    }

    /// The state of task 0 of `name`.
    fn task_state(&self, name: &str) -> Option<String> {
        let s = self.get(&format!("/connectors/{name}/status")).ok()?;
        s["tasks"][0]["state"].as_str().map(str::to_string)
    }

    /// SIGTERM, then waits; true when it exited cleanly.
    fn terminate(mut self) -> bool {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        matches!(self.child.wait(), Ok(s) if s.success())
    }

    /// SIGKILL.
    fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            eprintln!("--- the worker's log:\n{log}");
        }
    }
}

/// The quickstart's three files in `dir`, pointed at `server`.
fn quickstart_files(dir: &Path, server: &Server, port: u16) {
    let worker = WORKER.replace("localhost:9092", &server.addr).replace(
        "/tmp/connect.offsets",
        &dir.join("connect.offsets").to_string_lossy(),
    ) + &format!("rest.host.name=127.0.0.1\nrest.port={port}\n");
    std::fs::write(dir.join("connect-standalone.properties"), worker).unwrap();
    std::fs::write(dir.join("connect-file-source.properties"), FILE_SOURCE).unwrap();
    std::fs::write(dir.join("connect-file-sink.properties"), FILE_SINK).unwrap();
}

const QUICKSTART: [&str; 3] = [
    "connect-standalone.properties",
    "connect-file-source.properties",
    "connect-file-sink.properties",
];

/// The lines of a file (none when it does not exist).
fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Appends lines to a file.
fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// Waits until `path` has exactly `want` lines, and returns them.
fn wait_lines(path: &Path, want: usize) -> Vec<String> {
    wait(
        &format!("{want} lines in {}", path.display()),
        PATIENCE,
        || {
            let l = lines(path);
            (l.len() >= want).then_some(l)
        },
    )
}

#[test]
fn quickstart_step_8() {
    let server = Server::start(&[]);
    let dir = TempDir::new("connect-quickstart");
    let port = free_port();
    quickstart_files(&dir.0, &server, port);
    // "echo -e "foo\nbar" > test.txt"
    std::fs::write(dir.0.join("test.txt"), "foo\nbar\n").unwrap();
    let worker = Worker::start(&dir.0, &QUICKSTART, port);
    let sink = dir.0.join("test.sink.txt");
    assert_eq!(wait_lines(&sink, 2), ["foo", "bar"]);

    // "echo Another line>> test.txt"
    append(&dir.0.join("test.txt"), "Another line\n");
    assert_eq!(wait_lines(&sink, 3), ["foo", "bar", "Another line"]);

    // The console consumer shows the JsonConverter's envelope.
    let out = server.spate(&["consume", "connect-test", "--from-beginning", "-e"], b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        shown.lines().collect::<Vec<_>>(),
        [
            r#"{"schema":{"type":"string","optional":false},"payload":"foo"}"#,
            r#"{"schema":{"type":"string","optional":false},"payload":"bar"}"#,
            r#"{"schema":{"type":"string","optional":false},"payload":"Another line"}"#,
        ]
    );

    // The REST API.
    let names = worker.get("/connectors").unwrap();
    assert_eq!(
        names,
        serde_json::json!(["local-file-sink", "local-file-source"])
    );
    let info = worker.get("/connectors/local-file-source").unwrap();
    assert_eq!(info["type"], "source");
    assert_eq!(info["config"]["topic"], "connect-test");
    assert_eq!(info["tasks"][0]["task"], 0);
    let status = worker.get("/connectors/local-file-sink/status").unwrap();
    assert_eq!(status["connector"]["state"], "RUNNING");
    assert_eq!(status["tasks"][0]["state"], "RUNNING");
    assert_eq!(status["type"], "sink");
    assert_eq!(status["tasks"][0]["worker_id"], format!("127.0.0.1:{port}"));
    let (code, body) = worker.call("GET", "/connectors/nope/status").unwrap();
    assert_eq!(code, 404, "{body}");
    assert!(body.contains("Connector nope not found"), "{body}");

    // Pause the source: its task says PAUSED, and resumes on request.
    let (code, _) = worker
        .call("PUT", "/connectors/local-file-source/pause")
        .unwrap();
    assert_eq!(code, 202);
    wait("the source paused", PATIENCE, || {
        (worker.task_state("local-file-source")? == "PAUSED").then_some(())
    });
    append(&dir.0.join("test.txt"), "while paused\n");
    // Paused, the line stays in the file: the sink has the three lines
    // while the task still reports PAUSED.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(lines(&sink).len(), 3);
    let (code, _) = worker
        .call("PUT", "/connectors/local-file-source/resume")
        .unwrap();
    assert_eq!(code, 202);
    assert_eq!(wait_lines(&sink, 4)[3], "while paused");
    assert_eq!(
        worker.task_state("local-file-source").as_deref(),
        Some("RUNNING")
    );
    let (code, _) = worker
        .call("POST", "/connectors/local-file-sink/restart")
        .unwrap();
    assert_eq!(code, 204);

    // SIGTERM flushes the offsets and commits: a restart adds nothing twice.
    assert!(worker.terminate(), "the worker did not exit cleanly");
    append(&dir.0.join("test.txt"), "after restart\n");
    let worker = Worker::start(&dir.0, &QUICKSTART, port);
    assert_eq!(
        wait_lines(&sink, 5),
        [
            "foo",
            "bar",
            "Another line",
            "while paused",
            "after restart"
        ]
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(lines(&sink).len(), 5, "a clean restart duplicated lines");
    drop(worker);
}

#[test]
fn sigkill_mid_stream_loses_nothing() {
    let server = Server::start(&[]);
    let dir = TempDir::new("connect-kill");
    let port = free_port();
    quickstart_files(&dir.0, &server, port);
    let source = dir.0.join("test.txt");
    let sink = dir.0.join("test.sink.txt");
    const N: usize = 3000;
    std::fs::write(&source, "").unwrap();
    let worker = Worker::start(&dir.0, &QUICKSTART, port);
    let writer = {
        let source = source.clone();
        std::thread::spawn(move || {
            for i in 0..N {
                append(&source, &format!("line {i}\n"));
                if i % 20 == 0 {
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        })
    };
    wait("some lines in the sink", PATIENCE, || {
        (lines(&sink).len() >= 300).then_some(())
    });
    worker.kill9();
    let worker = Worker::start(&dir.0, &QUICKSTART, port);
    writer.join().unwrap();
    let want: Vec<String> = (0..N).map(|i| format!("line {i}")).collect();
    let got = wait("every line in the sink", PATIENCE, || {
        let l = lines(&sink);
        want.iter().all(|w| l.contains(w)).then_some(l)
    });
    // At least once, in order: after SIGKILL the lines since the last
    // offset flush and commit come again (as with Kafka's standalone
    // worker), each replay a run of lines already there, never a gap.
    let mut first: Vec<Option<usize>> = vec![None; N];
    for (at, line) in got.iter().enumerate() {
        let i: usize = line.strip_prefix("line ").unwrap().parse().unwrap();
        if first[i].is_none() {
            first[i] = Some(at);
        }
    }
    let firsts: Vec<usize> = first.into_iter().map(Option::unwrap).collect();
    assert!(firsts.windows(2).all(|w| w[0] < w[1]), "lines out of order");

    // A clean stop and restart from here adds every new line exactly once.
    assert!(worker.terminate());
    let before = lines(&sink).len();
    append(&source, "tail 1\ntail 2\n");
    let worker = Worker::start(&dir.0, &QUICKSTART, port);
    let after = wait_lines(&sink, before + 2);
    assert_eq!(&after[before..], ["tail 1", "tail 2"]);
    drop(worker);
}

/// `spate serve` on the loopback `port` over the data directory `data`,
/// so that a test can stop the broker and start it again where the worker
/// looks for it.
fn broker_at(port: u16, data: &Path) -> Server {
    let mut cmd = Command::new(spate());
    cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data);
    Server::spawn(cmd)
}

#[test]
fn a_broker_outage_is_retried_reported_and_loses_nothing() {
    let data = TempDir::new("connect-outage-data");
    let broker_port = free_port();
    let server = broker_at(broker_port, &data.0);
    let dir = TempDir::new("connect-outage");
    let port = free_port();
    quickstart_files(&dir.0, &server, port);
    let source = dir.0.join("test.txt");
    let sink = dir.0.join("test.sink.txt");
    let text = |range: std::ops::Range<usize>| -> String {
        range.map(|i| format!("line {i}\n")).collect()
    };
    std::fs::write(&source, text(0..20)).unwrap();
    let worker = Worker::start(&dir.0, &QUICKSTART, port);
    wait_lines(&sink, 20);

    // The broker goes away; lines keep coming.
    assert!(server.terminate(), "the broker stops cleanly");
    append(&source, &text(20..40));
    // The source cannot produce them: its task stays RUNNING and the
    // status says what it is retrying, rather than failing or dropping.
    let retrying = wait("the source to report the outage", PATIENCE, || {
        let s = worker.get("/connectors/local-file-source/status").ok()?;
        let task = &s["tasks"][0];
        (task["state"] == "RUNNING")
            .then(|| task["retrying"].as_str().map(str::to_string))
            .flatten()
    });
    assert!(!retrying.is_empty());
    assert_eq!(lines(&sink).len(), 20, "nothing moved without a broker");

    // The broker is back on the same port: every line arrives, in order,
    // each at least once, and the status no longer reports a retry.
    let _server = broker_at(broker_port, &data.0);
    let want: Vec<String> = (0..40).map(|i| format!("line {i}")).collect();
    let got = wait("every line after the outage", PATIENCE, || {
        let l = lines(&sink);
        want.iter().all(|w| l.contains(w)).then_some(l)
    });
    let mut seen = std::collections::HashSet::new();
    let firsts: Vec<&String> = got.iter().filter(|l| seen.insert(*l)).collect();
    assert_eq!(firsts, want.iter().collect::<Vec<_>>(), "in order, no gap");
    wait("the retry to clear", PATIENCE, || {
        let s = worker.get("/connectors/local-file-source/status").ok()?;
        s["tasks"][0]["retrying"].is_null().then_some(())
    });
    drop(worker);
}

#[test]
fn malformed_json_goes_to_the_dead_letter_topic_or_fails_the_task() {
    let server = Server::start(&[]);
    let dir = TempDir::new("connect-dlq");
    let port = free_port();
    let out = server.spate(&["topic", "create", "raw"], b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = server.spate(&["produce", "raw"], b"{\"a\":1}\nnot json\n{\"b\":2}\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let worker = format!(
        "bootstrap.servers={}\n\
         key.converter=org.apache.kafka.connect.storage.StringConverter\n\
         value.converter=org.apache.kafka.connect.json.JsonConverter\n\
         value.converter.schemas.enable=false\n\
         offset.storage.file.filename={}\n\
         offset.flush.interval.ms=1000\n\
         rest.host.name=127.0.0.1\nrest.port={port}\n",
        server.addr,
        dir.0.join("connect.offsets").display()
    );
    std::fs::write(dir.0.join("worker.properties"), worker).unwrap();
    std::fs::write(
        dir.0.join("tolerant.properties"),
        "name=tolerant\nconnector.class=org.apache.kafka.connect.file.FileStreamSinkConnector\n\
         topics=raw\nfile=tolerant.txt\nerrors.tolerance=all\n\
         errors.deadletterqueue.topic.name=raw-dlq\n\
         errors.deadletterqueue.topic.replication.factor=1\n\
         errors.deadletterqueue.context.headers.enable=true\n",
    )
    .unwrap();
    std::fs::write(
        dir.0.join("strict.properties"),
        "name=strict\nconnector.class=FileStreamSink\ntopics=raw\nfile=strict.txt\n",
    )
    .unwrap();
    let worker = Worker::start(
        &dir.0,
        &[
            "worker.properties",
            "tolerant.properties",
            "strict.properties",
        ],
        port,
    );

    // errors.tolerance=all: the good records reach the file, the bad one
    // the dead-letter topic with Kafka Connect's error headers.
    assert_eq!(
        wait_lines(&dir.0.join("tolerant.txt"), 2),
        ["{a=1}", "{b=2}"]
    );
    let dlq = wait("the dead letter record", PATIENCE, || {
        let out = server.spate(
            &["consume", "raw-dlq", "--from-beginning", "-e", "--json"],
            b"",
        );
        let text = String::from_utf8(out.stdout).ok()?;
        let line = text.lines().next()?;
        serde_json::from_str::<Value>(line).ok()
    });
    assert_eq!(dlq["value"], "not json");
    let header = |k: &str| {
        dlq["headers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["key"] == format!("__connect.errors.{k}"))
            .map(|h| h["value"].as_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("no header {k}: {dlq}"))
    };
    assert_eq!(header("topic"), "raw");
    assert_eq!(header("partition"), "0");
    assert_eq!(header("offset"), "1");
    assert_eq!(header("connector.name"), "tolerant");
    assert_eq!(header("task.id"), "0");
    assert_eq!(header("stage"), "VALUE_CONVERTER");
    assert_eq!(
        header("class.name"),
        "org.apache.kafka.connect.json.JsonConverter"
    );
    assert_eq!(
        header("exception.class.name"),
        "org.apache.kafka.connect.errors.DataException"
    );
    assert!(header("exception.message").contains("serialization error"));

    // errors.tolerance=none: the task fails on the record, and says why.
    let status = wait("the strict task failed", PATIENCE, || {
        let s = worker.get("/connectors/strict/status").ok()?;
        (s["tasks"][0]["state"] == "FAILED").then_some(s)
    });
    let trace = status["tasks"][0]["trace"].as_str().unwrap();
    assert!(
        trace.contains("Tolerance exceeded in error handler"),
        "{trace}"
    );
    assert!(trace.contains("VALUE_CONVERTER"), "{trace}");
    assert!(trace.contains("serialization error"), "{trace}");
    // As Kafka's worker, the batch is converted before it is put: the
    // record after the bad one is not written.
    assert!(!lines(&dir.0.join("strict.txt")).contains(&"{b=2}".to_string()));
    assert_eq!(worker.task_state("tolerant").as_deref(), Some("RUNNING"));

    // Restarting the failed task runs it again: it meets the same record
    // (nothing was committed past it) and fails again.
    let (code, body) = worker
        .call(
            "POST",
            "/connectors/strict/restart?includeTasks=true&onlyFailed=true",
        )
        .unwrap();
    assert_eq!(code, 202, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["tasks"][0]["state"], "RESTARTING");
    wait("the restarted task failed again", PATIENCE, || {
        let log = std::fs::read_to_string(&worker.log).ok()?;
        (log.matches("strict-0 failed").count() >= 2).then_some(())
    });
    assert_eq!(worker.task_state("strict").as_deref(), Some("FAILED"));
}
