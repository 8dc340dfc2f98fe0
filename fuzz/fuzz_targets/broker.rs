//! The sans-I/O broker (`Broker::handle_request` and friends) fed a session
//! read from the input (`spate_fuzz::Step`): request frames, spate-core's
//! example requests, connects and disconnects on four connections, and
//! time jumps (by an amount, or to the broker's next deadline). After each
//! step every output is drained, as a driver does. Never a panic, and the
//! broker's deadline never lies in the past once its timers ran.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spate_core::broker::{Broker, Config, PeerInfo};
use spate_core::example::{example_request, Variant};
use spate_core::protocol::ApiKey;
use spate_core::storage::MemStorage;
use spate_fuzz::Step;

const T0: i64 = 1_700_000_000_000;

fuzz_target!(|data: &[u8]| {
    let mut now = T0;
    let mut b = Broker::new(Config::default(), MemStorage::new(), now).expect("starts");
    for step in Step::parse_all(data) {
        match step {
            Step::Frame(conn, frame) => b.handle_request(u64::from(conn), frame, now),
            Step::Connect(conn) => b.handle_connect(u64::from(conn), PeerInfo::default(), now),
            Step::Disconnect(conn) => b.handle_disconnect(u64::from(conn), now),
            Step::Advance(ms) => {
                now += i64::from(ms);
                b.handle_timeout(now);
            }
            Step::Timeout => {
                if let Some(t) = b.poll_timeout() {
                    now = now.max(t);
                    b.handle_timeout(now);
                }
            }
            Step::Example {
                conn,
                key,
                version,
                variant,
                seed,
            } => {
                let key = ApiKey::ALL[usize::from(key) % ApiKey::ALL.len()];
                let range = key.versions();
                let span = i32::from(range.max.min(64)) - i32::from(range.min) + 1;
                let version = range.max.min(64) - (i32::from(version) % span) as i16;
                let variant =
                    [Variant::Full, Variant::Sparse, Variant::Mixed][usize::from(variant % 3)];
                let frame = example_request(key, version, u64::from(seed), variant);
                b.handle_request(u64::from(conn), frame.slice(4..), now);
            }
        }
        while b.poll_output().is_some() {}
    }
    b.handle_timeout(now);
    while b.poll_output().is_some() {}
    if let Some(t) = b.poll_timeout() {
        assert!(
            t > now,
            "after handle_timeout({now}) the next deadline is {t}"
        );
    }
});
