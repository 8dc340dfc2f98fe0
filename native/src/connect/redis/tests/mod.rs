//! The Redis connectors' tasks driven through the task traits, as the
//! worker drives them, against a real `redis-server` (Debian's, started
//! on a free port for each test by `spate_e2e::redis::Redis`).

use redis::{Commands as _, Connection};
use spate_e2e::redis::Redis;

use crate::connect::task::{Props, TaskError};

mod sink;
mod source;

/// Properties from pairs, with `redis.uri` pointing at `redis`.
fn props(redis: &Redis, pairs: &[(&str, &str)]) -> Props {
    let mut p: Props = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    p.insert("redis.uri".into(), redis.uri());
    p
}

/// A connection of the test's own, to check what the tasks wrote.
fn check(redis: &Redis) -> Connection {
    redis::Client::open(redis.uri())
        .and_then(|c| c.get_connection())
        .expect("a connection to the test's Redis")
}

/// Calls `f` as the worker does: again after a retriable error. (Not
/// only for outages: a socket read with a timeout, as the tasks' are, is
/// not restarted after a signal handler runs, and other tests in this
/// process install some: such a read fails with EINTR, the task drops
/// the connection and says Retriable.)
fn retry<T>(what: &str, mut f: impl FnMut() -> Result<T, TaskError>) -> T {
    for _ in 0..10 {
        match f() {
            Ok(v) => return v,
            Err(TaskError::Retriable(e)) => {
                eprintln!("{what}: retrying after {e:#}");
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(TaskError::Fatal(e)) => panic!("{what}: {e:?}"),
        }
    }
    panic!("{what}: still failing after 10 tries")
}

/// A list's entries as text.
fn lrange(con: &mut Connection, key: &str) -> Vec<String> {
    con.lrange(key, 0, -1).expect("LRANGE")
}

#[test]
fn the_classes_and_their_aliases_name_the_connectors() {
    use crate::connect::redis::plugin;
    use crate::connect::task::Plugin;
    for class in [
        "io.spate.connect.redis.RedisSinkConnector",
        "RedisSinkConnector",
        "RedisSink",
    ] {
        assert!(
            matches!(plugin(class), Some(Plugin::Sink { .. })),
            "{class}"
        );
    }
    for class in [
        "io.spate.connect.redis.RedisSourceConnector",
        "RedisSourceConnector",
        "RedisSource",
    ] {
        assert!(
            matches!(plugin(class), Some(Plugin::Source { .. })),
            "{class}"
        );
    }
    assert!(plugin("FileStreamSink").is_none());
}

#[test]
fn task_configs_check_the_properties_and_split_the_source() {
    use crate::connect::redis::plugin;
    use crate::connect::task::Plugin;
    let p = |pairs: &[(&str, &str)]| -> Props {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let Some(Plugin::Source { task_configs, .. }) = plugin("RedisSource") else {
        panic!("no source")
    };
    let tasks = task_configs(
        &p(&[("name", "n"), ("topic", "t"), ("redis.stream", "s")]),
        3,
    )
    .expect("valid");
    let consumers: Vec<&str> = tasks.iter().map(|t| t["redis.consumer"].as_str()).collect();
    assert_eq!(consumers, ["n-0", "n-1", "n-2"]);
    assert!(task_configs(&p(&[("name", "n"), ("redis.stream", "s")]), 1).is_err());
    let Some(Plugin::Sink { task_configs, .. }) = plugin("RedisSink") else {
        panic!("no sink")
    };
    assert_eq!(
        task_configs(&p(&[("name", "n")]), 2).expect("valid").len(),
        2
    );
    let bad = task_configs(&p(&[("name", "n"), ("redis.command", "GET")]), 1);
    assert!(bad.is_err());
}
