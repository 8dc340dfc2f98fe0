//! The classic group coordinator in virtual time: every transition of a
//! rebalance and session expiry to the millisecond here; static membership,
//! leaving and join errors in `groups/membership.rs`; commit checks, what a
//! restart keeps and offset expiry in `groups/offsets.rs`; the admin APIs
//! (DescribeGroups, ListGroups, DeleteGroups, OffsetDelete,
//! FindCoordinator) in `groups/admin.rs`.

#[path = "groups/admin.rs"]
mod admin;
#[path = "groups/membership.rs"]
mod membership;
#[path = "groups/offsets.rs"]
mod offsets;
mod sim;
#[path = "groups/util.rs"]
mod util;

use spate_core::protocol::ErrorCode;
use util::*;

#[test]
fn first_member_waits_out_the_initial_delay() {
    let mut s = sim(3000);
    let a = join_new(&mut s, 1, "g");
    assert_eq!(describe(&mut s, "g").group_state, "PreparingRebalance");
    s.advance(2999);
    assert!(s.take(1).is_empty(), "held during the initial delay");
    s.advance(1);
    let j = joins(&mut s, 1);
    assert_eq!(j.len(), 1);
    assert_eq!(j[0].error_code, 0);
    assert_eq!(j[0].generation_id, 1);
    assert_eq!(j[0].leader, a.as_str());
    assert_eq!(j[0].member_id, a.as_str());
    assert_eq!(j[0].protocol_name.as_deref(), Some("range"));
    assert_eq!(j[0].members.len(), 1);
    assert_eq!(describe(&mut s, "g").group_state, "CompletingRebalance");
    s.send(1, 5, sync_req("g", 1, &a, &[(&a, "all")]));
    let r = syncs(&mut s, 1);
    assert_eq!(r[0].error_code, 0);
    assert_eq!(&r[0].assignment[..], b"all");
}

#[test]
fn a_member_arriving_during_the_initial_delay_extends_it() {
    let mut s = sim(3000);
    join_new(&mut s, 1, "g");
    s.advance(2000);
    join_new(&mut s, 2, "g");
    s.advance(1000);
    // The delay is extended by another 3000 (the rebalance timeout allows it).
    assert!(s.take(1).is_empty() && s.take(2).is_empty());
    s.advance(3000);
    let (ja, jb) = (joins(&mut s, 1), joins(&mut s, 2));
    assert_eq!((ja.len(), jb.len()), (1, 1));
    assert_eq!(ja[0].members.len(), 2);
}

#[test]
fn second_member_triggers_a_rebalance_and_both_get_assignments() {
    let mut s = sim(0);
    let a = join_new(&mut s, 1, "g");
    s.step(0);
    joins(&mut s, 1);
    s.send(1, 5, sync_req("g", 1, &a, &[(&a, "p0-3")]));
    syncs(&mut s, 1);
    // B arrives: the stable group prepares a rebalance.
    let b = join_new(&mut s, 2, "g");
    assert_eq!(describe(&mut s, "g").group_state, "PreparingRebalance");
    assert_eq!(
        heartbeat(&mut s, 1, "g", 1, &a),
        ErrorCode::REBALANCE_IN_PROGRESS.code()
    );
    // A rejoins: everyone is in, the join completes at once.
    s.send(1, 5, join_req("g", &a, None));
    let (ja, jb) = (joins(&mut s, 1), joins(&mut s, 2));
    assert_eq!(ja[0].generation_id, 2);
    assert_eq!(jb[0].generation_id, 2);
    assert_eq!(ja[0].members.len(), 2);
    s.send(2, 5, sync_req("g", 2, &b, &[]));
    s.send(1, 5, sync_req("g", 2, &a, &[(&a, "p0-1"), (&b, "p2-3")]));
    assert_eq!(&syncs(&mut s, 1)[0].assignment[..], b"p0-1");
    assert_eq!(&syncs(&mut s, 2)[0].assignment[..], b"p2-3");
    assert_eq!(heartbeat(&mut s, 1, "g", 2, &a), 0);
    assert_eq!(heartbeat(&mut s, 2, "g", 2, &b), 0);
    assert_eq!(
        heartbeat(&mut s, 2, "g", 1, &b),
        ErrorCode::ILLEGAL_GENERATION.code()
    );
}

#[test]
fn a_silent_member_expires_exactly_at_its_session_timeout() {
    let mut s = sim(0);
    let (a, b) = stable_pair(&mut s, "g");
    let start = s.now;
    // B keeps heartbeating; A says nothing, and closes its connection: that
    // alone removes nobody.
    s.disconnect(1);
    let mut t = 0;
    while t + 3000 < SESSION as i64 {
        s.advance(3000);
        t += 3000;
        assert_eq!(heartbeat(&mut s, 2, "g", 1, &b), 0);
    }
    s.advance(start + SESSION as i64 - 1 - s.now);
    assert_eq!(
        describe(&mut s, "g").members.len(),
        2,
        "A is alive 1 ms before"
    );
    s.advance(1);
    let d = describe(&mut s, "g");
    assert_eq!(d.members.len(), 1, "A expired at its session timeout");
    assert_eq!(d.members[0].member_id, b.as_str());
    assert_eq!(
        heartbeat(&mut s, 2, "g", 1, &b),
        ErrorCode::REBALANCE_IN_PROGRESS.code()
    );
    s.send(2, 5, join_req("g", &b, None));
    let jb = joins(&mut s, 2);
    assert_eq!(jb[0].generation_id, 2);
    assert_eq!(jb[0].leader, b.as_str(), "B leads once A is gone");
    assert_eq!(
        heartbeat(&mut s, 3, "g", 2, &a),
        ErrorCode::UNKNOWN_MEMBER_ID.code(),
        "A is no longer a member"
    );
}

#[test]
fn members_that_do_not_rejoin_in_time_are_removed() {
    let mut s = sim(0);
    let (a, b) = stable_pair(&mut s, "g");
    // A rejoins (say its subscription changed); B keeps heartbeating (and
    // hears REBALANCE_IN_PROGRESS) but never rejoins.
    let start = s.now;
    s.send(1, 5, join_req("g", &a, None));
    assert!(s.take(1).is_empty());
    while s.now + 3000 < start + REBALANCE as i64 {
        s.advance(3000);
        assert_eq!(
            heartbeat(&mut s, 2, "g", 1, &b),
            ErrorCode::REBALANCE_IN_PROGRESS.code()
        );
    }
    s.advance(start + REBALANCE as i64 - 1 - s.now);
    assert!(s.take(1).is_empty());
    s.advance(1);
    let ja = joins(&mut s, 1);
    assert_eq!(ja[0].generation_id, 2);
    assert_eq!(
        ja[0].members.len(),
        1,
        "B was dropped at the rebalance timeout"
    );
    assert_eq!(
        heartbeat(&mut s, 2, "g", 1, &b),
        ErrorCode::UNKNOWN_MEMBER_ID.code()
    );
}

#[test]
fn a_held_join_on_a_closed_connection_does_not_stall_others() {
    let mut s = sim(0);
    let (a, b) = stable_pair(&mut s, "g");
    // Both rejoin, but A's connection closes while its join is held.
    s.send(1, 5, join_req("g", &a, None));
    s.disconnect(1);
    s.send(2, 5, join_req("g", &b, None));
    let jb = joins(&mut s, 2);
    assert_eq!(jb[0].generation_id, 2);
    // A is still a member (Kafka keeps it until its session times out).
    assert_eq!(describe(&mut s, "g").members.len(), 2);
    // A never heartbeats or syncs: at its session timeout the group moves on
    // without it.
    s.send(2, 5, sync_req("g", 2, &b, &[]));
    s.advance(SESSION as i64);
    let r = syncs(&mut s, 2);
    assert_eq!(r[0].error_code, ErrorCode::REBALANCE_IN_PROGRESS.code());
    s.send(2, 5, join_req("g", &b, None));
    let jb = joins(&mut s, 2);
    assert_eq!(jb[0].generation_id, 3);
    assert_eq!(jb[0].members.len(), 1);
}
