//! The Redis connectors' tasks driven through the task traits, as the
//! worker drives them, against a real `redis-server` (Debian's, started
//! on a free port for each test by `spate_e2e::redis::Redis`).

use redis::{Commands as _, Connection};
use spate_e2e::redis::Redis;

use crate::connect::task::Props;

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

/// A list's entries as text.
fn lrange(con: &mut Connection, key: &str) -> Vec<String> {
    con.lrange(key, 0, -1).expect("LRANGE")
}
