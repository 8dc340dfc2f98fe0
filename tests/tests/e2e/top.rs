//! `spate top` against a broker after a known workload: kcat produces
//! records, a confluent-kafka client commits part of them for a group;
//! `--once` prints the exact end offsets and lag; and in a real terminal
//! (a detached tmux session of fixed size) the table refreshes in place
//! as more records arrive, and Ctrl-C or the `q` key alone leaves the
//! terminal as it was.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use spate_e2e::{require, spate, wait_until, Server};

/// Commits offset `sys.argv[4]` of partition 0 of topic `sys.argv[2]` for
/// group `sys.argv[3]`, without joining it (an assigned consumer).
const COMMIT: &str = r#"
import sys
from confluent_kafka import Consumer, TopicPartition
addr, topic, group, offset = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
c = Consumer({"bootstrap.servers": addr, "group.id": group, "enable.auto.commit": False})
c.assign([TopicPartition(topic, 0)])
c.commit(offsets=[TopicPartition(topic, 0, offset)], asynchronous=False)
c.close()
"#;

fn produce(server: &Server, topic: &str, n: usize) {
    use std::io::Write as _;
    let mut child = Command::new(require("kcat"))
        .args(["-b", &server.addr, "-P", "-t", topic, "-p", "0"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("kcat starts");
    let lines: String = (0..n).map(|i| format!("record {i}\n")).collect();
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(lines.as_bytes())
        .expect("feeding kcat");
    assert!(child.wait().expect("kcat runs").success());
}

fn commit(server: &Server, topic: &str, group: &str, offset: i64) {
    let out = Command::new(require("python3"))
        .args([
            "-c",
            COMMIT,
            &server.addr,
            topic,
            group,
            &offset.to_string(),
        ])
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "{out:?}");
}

/// The cells of the row that starts with `first`, split on spaces.
fn row(text: &str, first: &str) -> Option<Vec<String>> {
    text.lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .find(|cells| cells.first().map(String::as_str) == Some(first))
}

/// A broker with topic `watched` (5 records in partition 0 of 2) and
/// group `watchers` committed at 2.
fn workload() -> Server {
    let server = Server::start(&[]);
    let created = server.spate(&["topic", "create", "watched", "--partitions", "2"], b"");
    assert!(created.status.success(), "{created:?}");
    produce(&server, "watched", 5);
    commit(&server, "watched", "watchers", 2);
    server
}

#[test]
fn once_prints_end_offsets_and_exact_lag() {
    let server = workload();
    let out: Output = server.spate(&["top", "--once"], b"");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.lines().next(),
        Some("TOPIC    PARTITIONS  END-OFFSETS  MSG/S  BYTES/S  SIZE"),
        "{text}"
    );
    // One sample has no rates; the size is DescribeLogDirs' (the batches
    // of five small records: more than nothing, less than a kilobyte).
    let watched = row(&text, "watched").unwrap_or_default();
    assert_eq!(watched[..5], ["watched", "2", "5", "-", "-"], "{text}");
    let size: u64 = watched[5].parse().unwrap_or(0);
    assert!((60..1024).contains(&size), "size {}: {text}", watched[5]);
    assert_eq!(
        row(&text, "watchers").unwrap_or_default(),
        ["watchers", "Empty", "0", "3"],
        "lag 5 - 2: {text}"
    );
    assert!(
        row(&text, "__consumer_offsets").is_none(),
        "internal topics hidden"
    );
    assert!(!text.contains('\x1b'), "no escape codes off a terminal");
}

/// Runs `tmux -L SOCKET ARGS` and returns its stdout.
fn tmux(socket: &str, args: &[&str]) -> String {
    let out = Command::new(require("tmux"))
        .args(["-L", socket, "-f", "/dev/null"])
        .args(args)
        .output()
        .expect("tmux runs");
    assert!(out.status.success(), "tmux {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Kills the test's tmux server however the test ends.
struct Session(String);

impl Drop for Session {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.0, "kill-server"])
            .output();
    }
}

#[test]
fn refreshes_in_place_in_a_terminal_and_restores_it_on_ctrl_c() {
    let server = workload();
    let socket = format!("spate-top-{}", std::process::id());
    let session = Session(socket.clone());
    let command = format!(
        "{} top -b {} --interval 0.2; echo exited $?; sleep 60",
        spate().display(),
        server.addr
    );
    tmux(
        &session.0,
        &[
            "new-session",
            "-d",
            "-s",
            "top",
            "-x",
            "100",
            "-y",
            "30",
            &command,
        ],
    );
    let capture = || tmux(&socket, &["capture-pane", "-p", "-t", "top"]);
    let shown = |end: &str, msgs: Option<&str>, lag: &str| {
        let text = capture();
        let t = row(&text, "watched")?;
        let g = row(&text, "watchers")?;
        let rate_ok = msgs.is_none_or(|m| t.get(3).map(String::as_str) == Some(m))
            || msgs == Some("any") && t.get(3).is_some_and(|r| r != "-");
        (t.get(2).map(String::as_str) == Some(end)
            && g.get(3).map(String::as_str) == Some(lag)
            && rate_ok)
            .then_some(text)
    };
    wait_until("the first table", Duration::from_secs(10), &[], || {
        shown("5", None, "3")
    });
    let alt = tmux(&socket, &["display", "-p", "-t", "top", "#{alternate_on}"]);
    assert_eq!(alt.trim(), "1", "drawn on the alternate screen");
    // Two samples later the rate is a number.
    wait_until("a rate", Duration::from_secs(10), &[], || {
        shown("5", Some("0.0"), "3")
    });
    produce(&server, "watched", 4);
    let text = wait_until(
        "the new offsets and lag",
        Duration::from_secs(10),
        &[],
        || shown("9", None, "7"),
    );
    assert_eq!(
        text.lines().filter(|l| l.starts_with("TOPIC")).count(),
        1,
        "one table, redrawn in place: {text}"
    );
    tmux(&socket, &["send-keys", "-t", "top", "C-c"]);
    let text = wait_until("the exit", Duration::from_secs(10), &[], || {
        let text = capture();
        text.contains("exited 0").then_some(text)
    });
    assert!(
        !text.contains("TOPIC"),
        "the table went with the alternate screen: {text}"
    );
    let alt = tmux(
        &socket,
        &[
            "display",
            "-p",
            "-t",
            "top",
            "#{alternate_on} #{cursor_flag}",
        ],
    );
    assert_eq!(alt.trim(), "0 1", "primary screen, cursor shown again");
}

/// On a terminal the `q` key alone quits (no Enter), and the terminal's
/// line mode and echo come back afterwards.
#[test]
fn quits_on_the_q_key_alone_and_restores_line_mode() {
    let server = workload();
    let socket = format!("spate-top-q-{}", std::process::id());
    let session = Session(socket.clone());
    let command = format!(
        "{} top -b {} --interval 0.2; echo exited $?; stty -a; sleep 60",
        spate().display(),
        server.addr
    );
    tmux(
        &session.0,
        &[
            "new-session",
            "-d",
            "-s",
            "top",
            "-x",
            "200",
            "-y",
            "40",
            &command,
        ],
    );
    let capture = || tmux(&socket, &["capture-pane", "-p", "-t", "top"]);
    wait_until("the first table", Duration::from_secs(10), &[], || {
        let text = capture();
        row(&text, "watched").map(|_| text)
    });
    // `q` without Enter: in line mode the key would wait for a newline.
    tmux(&socket, &["send-keys", "-t", "top", "q"]);
    // Until `stty -a` has printed too: it runs after the `echo`, and a
    // capture between the two has no settings to check.
    let text = wait_until("the exit on q", Duration::from_secs(10), &[], || {
        let text = capture();
        (text.contains("exited 0") && text.contains("icanon")).then_some(text)
    });
    let words: Vec<&str> = text.split_whitespace().collect();
    assert!(
        words.contains(&"icanon") && words.contains(&"echo"),
        "line mode and echo restored: {text}"
    );
}
