//! `spate top`: a live table of the cluster's topics and consumer groups,
//! refreshed in place as `htop` or kafka-top do.
//!
//! Everything comes over the Kafka protocol, so it works against any
//! Kafka-compatible broker: Metadata for the topics and partitions,
//! ListOffsets (latest) for each partition's log end offset at its leader,
//! DescribeLogDirs for partition sizes where a broker answers it (the
//! leader's copy counts; a broker without it leaves sizes `-`),
//! ListGroups and DescribeGroups at every broker for the groups, their
//! states and members, and OffsetFetch at each group's coordinator for its
//! committed offsets. A group's lag is computed as Burrow and
//! kafka-lag-exporter compute it: per partition, the log end offset
//! (high watermark) minus the committed offset, summed over the
//! partitions it committed.
//!
//! Rates need two samples: messages/s is the change of a topic's summed
//! log end offsets over the time between two samples, bytes/s the change
//! of its size; the first frame shows `-`. `--once` prints one frame and
//! exits (for scripts). On a terminal each frame replaces the last (the
//! terminal's alternate screen, cursor hidden, restored on exit: the `q`
//! key, or Ctrl-C); when stdout is not a terminal the frames follow one
//! another. On a terminal stdin is read key by key (no echo, no Enter
//! needed, as `htop`); Ctrl-C stays a signal. From a pipe a line `q` stops.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use bytestring::ByteString;
use clap::Args;
use spate_core::protocol::messages::describe_groups_request::DescribeGroupsRequest;
use spate_core::protocol::messages::describe_log_dirs_request::DescribeLogDirsRequest;
use spate_core::protocol::messages::list_groups_request::ListGroupsRequest;
use spate_core::protocol::{ApiKey, RequestBody, ResponseBody};

use super::table;
use crate::client::assignor::Partitions;
use crate::client::offsets;
use crate::client::{check, Client, ConnArgs};

/// Show topics' throughput and groups' lag, refreshed in place.
#[derive(Debug, Args)]
pub(crate) struct TopArgs {
    #[command(flatten)]
    conn: ConnArgs,
    /// Seconds between refreshes (fractions allowed: `0.5`).
    #[arg(long, value_name = "SECONDS", default_value = "1", value_parser = seconds)]
    interval: Duration,
    /// Print one table and exit (rates are then `-`).
    #[arg(long)]
    once: bool,
    /// Show internal topics (`__consumer_offsets`, ...) too.
    #[arg(long)]
    internal: bool,
}

fn seconds(s: &str) -> Result<Duration, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 && x <= 86_400.0 => Ok(Duration::from_secs_f64(x)),
        _ => Err(format!("`{s}` is not a number of seconds above 0")),
    }
}

/// One topic in one sample.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct TopicStat {
    partitions: usize,
    /// The partitions' log end offsets, summed.
    end: i64,
    /// The partitions' sizes at their leaders, summed; `None` when no
    /// leader answered DescribeLogDirs for some partition.
    size: Option<i64>,
}

/// One consumer group in one sample.
#[derive(Debug, Clone, PartialEq, Eq)]
struct GroupStat {
    state: String,
    members: usize,
    /// Summed over the partitions it committed; `None` when its offsets
    /// could not be read.
    lag: Option<i64>,
}

/// What one refresh saw.
#[derive(Debug)]
struct Sample {
    at: Instant,
    topics: BTreeMap<String, TopicStat>,
    groups: BTreeMap<String, GroupStat>,
}

/// `spate top`.
pub(crate) fn run(args: TopArgs) -> anyhow::Result<ExitCode> {
    let mut client = Client::connect(&args.conn)?;
    if args.once {
        let now = sample(&mut client, args.internal)?;
        out!("{}", render(None, &now))?;
        return Ok(ExitCode::SUCCESS);
    }
    let stop = super::stop_on_signal();
    let keys = quit_on_q(Arc::clone(&stop));
    let screen = Screen::enter(std::io::stdout().is_terminal())?;
    let mut last: Option<Sample> = None;
    while !stop.load(Ordering::Relaxed) {
        let now = sample(&mut client, args.internal)?;
        screen.show(&render(last.as_ref(), &now))?;
        let next = now.at + args.interval;
        last = Some(now);
        while !stop.load(Ordering::Relaxed) && Instant::now() < next {
            std::thread::sleep(Duration::from_millis(50).min(args.interval));
        }
    }
    drop(screen);
    drop(keys);
    Ok(ExitCode::SUCCESS)
}

/// The `q` key stops the loop. On a terminal the key alone does it: stdin
/// is switched to non-canonical mode without echo (keeping Ctrl-C a
/// signal) for as long as the returned guard lives. From a pipe or file, a
/// line `q` does.
fn quit_on_q(stop: Arc<AtomicBool>) -> KeyMode {
    let mode = KeyMode::enter();
    let by_key = mode.saved.is_some();
    std::thread::spawn(move || {
        use std::io::Read as _;
        let stdin = std::io::stdin();
        if by_key {
            let mut byte = [0u8; 1];
            while stdin.lock().read(&mut byte).is_ok_and(|n| n == 1) {
                if byte[0].eq_ignore_ascii_case(&b'q') {
                    stop.store(true, Ordering::Relaxed);
                    return;
                }
            }
        } else {
            let mut line = String::new();
            while stdin.read_line(&mut line).is_ok_and(|n| n > 0) {
                if line.trim() == "q" {
                    stop.store(true, Ordering::Relaxed);
                    return;
                }
                line.clear();
            }
        }
    });
    mode
}

/// stdin's terminal settings while keys are read one by one; put back when
/// dropped (also on an error).
struct KeyMode {
    saved: Option<rustix::termios::Termios>,
}

impl KeyMode {
    fn enter() -> KeyMode {
        use rustix::termios::{self, LocalModes, OptionalActions, SpecialCodeIndex};
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return KeyMode { saved: None };
        }
        let Ok(saved) = termios::tcgetattr(&stdin) else {
            return KeyMode { saved: None };
        };
        let mut keys = saved.clone();
        keys.local_modes -= LocalModes::ICANON | LocalModes::ECHO;
        keys.special_codes[SpecialCodeIndex::VMIN] = 1;
        keys.special_codes[SpecialCodeIndex::VTIME] = 0;
        match termios::tcsetattr(&stdin, OptionalActions::Now, &keys) {
            Ok(()) => KeyMode { saved: Some(saved) },
            Err(_) => KeyMode { saved: None },
        }
    }
}

impl Drop for KeyMode {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            let stdin = std::io::stdin();
            let _ =
                rustix::termios::tcsetattr(&stdin, rustix::termios::OptionalActions::Now, saved);
        }
    }
}

/// The terminal while frames are drawn in place: the alternate screen,
/// cursor hidden; left as it was when dropped (also on an error).
struct Screen {
    in_place: bool,
}

impl Screen {
    fn enter(in_place: bool) -> std::io::Result<Screen> {
        if in_place {
            // Alternate screen, cursor hidden.
            out!("\x1b[?1049h\x1b[?25l")?;
        }
        Ok(Screen { in_place })
    }

    fn show(&self, frame: &str) -> std::io::Result<()> {
        use std::io::Write as _;
        if self.in_place {
            // Home, the frame, then clear whatever the last one left below.
            out!("\x1b[H{}\x1b[J", frame.replace('\n', "\x1b[K\n"))?;
        } else {
            outln!("{frame}")?;
        }
        std::io::stdout().flush()
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        if self.in_place {
            use std::io::Write as _;
            let _ = out!("\x1b[?25h\x1b[?1049l");
            let _ = std::io::stdout().flush();
        }
    }
}

/// Reads the cluster once.
fn sample(client: &mut Client, internal: bool) -> anyhow::Result<Sample> {
    let meta = client.metadata(None)?;
    let mut all = Partitions::new();
    let mut leaders: BTreeMap<(String, i32), i32> = BTreeMap::new();
    let mut topics = BTreeMap::new();
    for t in &meta.topics {
        let Some(name) = t.name.as_deref() else {
            continue;
        };
        if t.error_code != 0 || (t.is_internal && !internal) {
            continue;
        }
        let ps: Vec<i32> = t.partitions.iter().map(|p| p.partition_index).collect();
        for p in &t.partitions {
            leaders.insert((name.to_string(), p.partition_index), p.leader_id);
        }
        topics.insert(
            name.to_string(),
            TopicStat {
                partitions: ps.len(),
                ..TopicStat::default()
            },
        );
        all.insert(name.to_string(), ps);
    }
    let mut nodes: Vec<i32> = meta.brokers.iter().map(|b| b.node_id).collect();
    nodes.sort_unstable();
    let ends = offsets::list(client, &all, offsets::LATEST)?;
    let sizes = sizes(client, &nodes, &leaders)?;
    for (name, stat) in &mut topics {
        let ps = &all[name];
        stat.end = ps
            .iter()
            .filter_map(|p| ends.get(&(name.clone(), *p)))
            .sum();
        stat.size = ps
            .iter()
            .map(|p| sizes.get(&(name.clone(), *p)).copied())
            .sum();
    }
    let groups = groups(client, &nodes, &ends)?;
    Ok(Sample {
        at: Instant::now(),
        topics,
        groups,
    })
}

/// Each partition's size at its leader, from DescribeLogDirs at every
/// broker that answers it.
fn sizes(
    client: &mut Client,
    nodes: &[i32],
    leaders: &BTreeMap<(String, i32), i32>,
) -> anyhow::Result<BTreeMap<(String, i32), i64>> {
    let mut out = BTreeMap::new();
    for &node in nodes {
        let conn = client.leader(node)?;
        if !conn.supports(ApiKey::DescribeLogDirs) {
            continue;
        }
        let req = DescribeLogDirsRequest {
            topics: None,
            ..Default::default()
        };
        let ResponseBody::DescribeLogDirs(resp) = conn.send(RequestBody::DescribeLogDirs(req))?
        else {
            bail!("DescribeLogDirs answered with another API");
        };
        for dir in resp.results.iter().filter(|d| d.error_code == 0) {
            for t in &dir.topics {
                for p in t.partitions.iter().filter(|p| !p.is_future_key) {
                    let key = (t.name.to_string(), p.partition_index);
                    if leaders.get(&key) == Some(&node) {
                        out.insert(key, p.partition_size);
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Every consumer group (each broker lists those it coordinates), with
/// its state, members and lag against `ends`.
fn groups(
    client: &mut Client,
    nodes: &[i32],
    ends: &BTreeMap<(String, i32), i64>,
) -> anyhow::Result<BTreeMap<String, GroupStat>> {
    let mut out = BTreeMap::new();
    for &node in nodes {
        let conn = client.leader(node)?;
        let ResponseBody::ListGroups(listed) =
            conn.send(RequestBody::ListGroups(ListGroupsRequest::default()))?
        else {
            bail!("ListGroups answered with another API");
        };
        check("listing groups", listed.error_code, None)?;
        if listed.groups.is_empty() {
            continue;
        }
        let req = DescribeGroupsRequest {
            groups: listed.groups.iter().map(|g| g.group_id.clone()).collect(),
            ..Default::default()
        };
        let ResponseBody::DescribeGroups(described) =
            conn.send(RequestBody::DescribeGroups(req))?
        else {
            bail!("DescribeGroups answered with another API");
        };
        for g in described.groups {
            // A KIP-848 group is unknown to DescribeGroups: its listed
            // state stands.
            let listed_state = listed
                .groups
                .iter()
                .find(|l| l.group_id == g.group_id)
                .map(|l| l.group_state.clone())
                .filter(|s| !s.is_empty());
            let state = match (g.error_code, listed_state) {
                (0, _) => g.group_state.clone(),
                (_, Some(s)) => s,
                (_, None) => ByteString::from_static("-"),
            };
            let lag = match offsets::committed(conn, &g.group_id, None, false)? {
                Ok(committed) => Some(
                    committed
                        .iter()
                        .filter_map(|(tp, c)| ends.get(tp).map(|e| (e - c.offset).max(0)))
                        .sum(),
                ),
                Err(_) => None,
            };
            out.insert(
                g.group_id.to_string(),
                GroupStat {
                    state: state.to_string(),
                    members: g.members.len(),
                    lag,
                },
            );
        }
    }
    Ok(out)
}

/// A frame: the topics, then the groups.
fn render(last: Option<&Sample>, now: &Sample) -> String {
    let dt = last.map(|l| now.at.saturating_duration_since(l.at).as_secs_f64());
    let rate = |then: Option<i64>, now: Option<i64>| match (dt, then, now) {
        (Some(dt), Some(a), Some(b)) if dt > 0.0 => format!("{:.1}", (b - a).max(0) as f64 / dt),
        _ => "-".to_string(),
    };
    let opt = |v: Option<i64>| v.map_or("-".to_string(), |v| v.to_string());
    let rows: Vec<Vec<String>> = now
        .topics
        .iter()
        .map(|(name, t)| {
            let before = last.and_then(|l| l.topics.get(name));
            vec![
                name.clone(),
                t.partitions.to_string(),
                t.end.to_string(),
                rate(before.map(|b| b.end), Some(t.end)),
                rate(before.and_then(|b| b.size), t.size),
                opt(t.size),
            ]
        })
        .collect();
    let mut s = table::render(
        &[
            "TOPIC",
            "PARTITIONS",
            "END-OFFSETS",
            "MSG/S",
            "BYTES/S",
            "SIZE",
        ],
        &rows,
    );
    s.push('\n');
    let rows: Vec<Vec<String>> = now
        .groups
        .iter()
        .map(|(name, g)| {
            vec![
                name.clone(),
                g.state.clone(),
                g.members.to_string(),
                opt(g.lag),
            ]
        })
        .collect();
    s.push_str(&table::render(&["GROUP", "STATE", "MEMBERS", "LAG"], &rows));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at: Instant, end: i64, size: Option<i64>, lag: i64) -> Sample {
        Sample {
            at,
            topics: BTreeMap::from([(
                "t".to_string(),
                TopicStat {
                    partitions: 2,
                    end,
                    size,
                },
            )]),
            groups: BTreeMap::from([(
                "g".to_string(),
                GroupStat {
                    state: "Stable".into(),
                    members: 1,
                    lag: Some(lag),
                },
            )]),
        }
    }

    #[test]
    fn the_first_frame_has_no_rates() {
        let s = render(None, &sample(Instant::now(), 10, Some(700), 4));
        assert_eq!(
            s,
            "TOPIC  PARTITIONS  END-OFFSETS  MSG/S  BYTES/S  SIZE\n\
             t      2           10           -      -        700\n\
             \n\
             GROUP  STATE   MEMBERS  LAG\n\
             g      Stable  1        4\n"
        );
    }

    #[test]
    fn rates_are_deltas_over_the_time_between_samples() {
        let t0 = Instant::now();
        let a = sample(t0, 10, Some(700), 4);
        let b = sample(t0 + Duration::from_secs(2), 30, Some(1700), 0);
        let s = render(Some(&a), &b);
        assert!(
            s.contains("t      2           30           10.0   500.0    1700"),
            "{s}"
        );
        let no_size = sample(t0 + Duration::from_secs(2), 30, None, 0);
        assert!(render(Some(&a), &no_size).contains("10.0   -        -"));
    }

    #[test]
    fn intervals_must_be_positive_seconds() {
        assert_eq!(seconds("0.5"), Ok(Duration::from_millis(500)));
        assert!(seconds("0").is_err());
        assert!(seconds("soon").is_err());
    }
}
