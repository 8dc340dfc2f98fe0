//! `core/examples/driver.rs`, the smallest driver of spate-core's broker
//! (std::net and threads, logs in memory), with a real Kafka client: what
//! kcat produces comes back, read plainly and through a consumer group.

use std::process::Command;
use std::time::Duration;

use spate_e2e::{core_driver, require, Server, Watched};

/// The example driver on a free loopback port.
fn driver() -> Server {
    let mut cmd = Command::new(core_driver());
    cmd.arg("127.0.0.1:0");
    Server::spawn(cmd)
}

/// Runs `kcat -b ADDR ARGS` with `input` on stdin, one line each; fails the
/// test unless it exits successfully within a minute. Its stdout lines.
fn kcat(server: &Server, args: &[&str], input: &[String]) -> Vec<String> {
    let mut cmd = Command::new(require("kcat"));
    cmd.args(["-b", &server.addr]).args(args);
    let mut kcat = Watched::spawn("kcat", cmd);
    for line in input {
        kcat.send_line(line);
    }
    kcat.close_stdin();
    let ended = match kcat.wait_exit(Duration::from_secs(60)) {
        Some(status) if status.success() => None,
        Some(status) => Some(format!("failed ({status})")),
        None => Some("did not finish within a minute".to_string()),
    };
    if let Some(how) = ended {
        panic!("kcat {args:?} {how}\n{}", kcat.transcript());
    }
    kcat.lines()
}

fn messages(prefix: &str, range: std::ops::Range<u32>) -> Vec<String> {
    range.map(|i| format!("{prefix}-{i}")).collect()
}

#[test]
fn kcat_produces_to_an_auto_created_topic_and_consumes_it_back() {
    let server = driver();
    // Clients reconnect to the advertised address: it must be the bound one.
    let metadata = kcat(&server, &["-L"], &[]).join("\n");
    assert!(
        metadata.contains(&format!("broker 1 at {}", server.addr)),
        "{metadata}"
    );
    let sent = messages("hello", 0..20);
    kcat(&server, &["-P", "-t", "greetings"], &sent);
    let got = kcat(
        &server,
        &["-C", "-t", "greetings", "-o", "beginning", "-e", "-q"],
        &[],
    );
    assert_eq!(got, sent, "kcat read back other messages than it produced");
}

#[test]
fn a_kcat_consumer_group_reads_many_batches_then_resumes_from_its_commit() {
    let server = driver();
    // Three producers of 100 messages, at most 25 a batch: 12 batches or more.
    let sent = messages("m", 0..300);
    for part in sent.chunks(100) {
        kcat(
            &server,
            &["-P", "-t", "many", "-X", "batch.num.messages=25"],
            part,
        );
    }
    let group = ["-G", "readers", "-X", "auto.offset.reset=earliest"];
    let consume = [&group[..], &["-e", "-q", "many"]].concat();
    let got = kcat(&server, &consume, &[]);
    assert_eq!(
        got, sent,
        "the group read other messages than were produced"
    );
    // kcat commits its offsets as it leaves: the group's next member starts
    // where it stopped and reads only what came since.
    let more = messages("m", 300..310);
    kcat(&server, &["-P", "-t", "many"], &more);
    let got = kcat(&server, &consume, &[]);
    assert_eq!(
        got, more,
        "the group did not resume from its committed offset"
    );
}
