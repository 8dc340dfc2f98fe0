//! The coordinator's decisions, one transition at a time, without
//! storage: every plan's writes are reported done as they come.

use super::ops::exhausted;
use super::*;
use crate::protocol::ErrorCode;

fn coordinator() -> (TxnCoordinator, i64) {
    (TxnCoordinator::new(TxnConfig::default()), 0)
}

/// Carries out a plan's writes; returns its reply and its markers.
fn apply<T>(c: &mut TxnCoordinator, plan: Plan<T>) -> (T, Vec<Markers>) {
    let mut markers = Vec::new();
    for step in plan.steps {
        match step {
            Step::Write(m) => c.written(m),
            Step::Markers(m) => markers.push(m),
            Step::Remove(id) => c.removed(&id),
        }
    }
    (plan.reply, markers)
}

fn init(
    c: &mut TxnCoordinator,
    next: &mut i64,
    expected: Option<(i64, i16)>,
) -> Result<(i64, i16), ErrorCode> {
    let mut alloc = || {
        *next += 1;
        Some(*next - 1)
    };
    let plan = c.init_producer_id(&"t".into(), 60_000, expected, 0, &mut alloc)?;
    Ok(apply(c, plan).0)
}

#[test]
fn init_bumps_the_epoch_fences_and_rotates_when_exhausted() {
    let (mut c, mut next) = coordinator();
    assert_eq!(init(&mut c, &mut next, None), Ok((0, 0)));
    assert_eq!(init(&mut c, &mut next, None), Ok((0, 1)));
    // The producer that had epoch 0 was fenced.
    assert_eq!(
        init(&mut c, &mut next, Some((0, 0))),
        Err(ErrorCode::PRODUCER_FENCED)
    );
    // KIP-360: the current producer recovers with its id and epoch.
    assert_eq!(init(&mut c, &mut next, Some((0, 1))), Ok((0, 2)));
    let mut m = c.get("t").unwrap().clone();
    m.epoch = i16::MAX - 1;
    c.written(m);
    assert!(exhausted(i16::MAX - 1));
    assert_eq!(init(&mut c, &mut next, Some((0, i16::MAX - 1))), Ok((1, 0)));
    // The answer was lost: the retry with the old id and epoch gets the same.
    assert_eq!(init(&mut c, &mut next, Some((0, i16::MAX - 1))), Ok((1, 0)));
    assert_eq!(next, 2);
}

#[test]
fn a_timeout_outside_the_limit_is_refused() {
    let (c, _) = coordinator();
    let mut alloc = || Some(0);
    for bad in [0, -1, 900_001] {
        let r = c.init_producer_id(&"t".into(), bad, None, 0, &mut alloc);
        assert_eq!(r.err(), Some(ErrorCode::INVALID_TRANSACTION_TIMEOUT));
    }
}

#[test]
fn a_transaction_goes_ongoing_prepared_and_complete() {
    let (mut c, mut next) = coordinator();
    let (pid, epoch) = init(&mut c, &mut next, None).unwrap();
    let parts = [("a".into(), 0), ("b".into(), 1)];
    let plan = c.add_partitions("t", pid, epoch, &parts, 1, 10).unwrap();
    apply(&mut c, plan);
    let m = c.get("t").unwrap();
    assert_eq!(
        (m.state, m.start_ms, m.partitions.len()),
        (TxnState::Ongoing, 10, 2)
    );
    assert_eq!(c.next_deadline(), Some(10 + 60_000));
    // Adding what is there writes nothing.
    assert!(c
        .add_partitions("t", pid, epoch, &parts[..1], 1, 20)
        .unwrap()
        .steps
        .is_empty());
    assert_eq!(c.verify("t", pid, epoch, &parts[0]), Ok(()));
    assert_eq!(
        c.verify("t", pid, epoch, &("c".into(), 0)),
        Err(ErrorCode::TRANSACTION_ABORTABLE)
    );
    let mut none = || None;
    let plan = c
        .end_txn(&"t".into(), pid, epoch, true, false, 30, &mut none)
        .unwrap();
    let states: Vec<TxnState> = plan
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::Write(m) => Some(m.state),
            Step::Markers(_) | Step::Remove(_) => None,
        })
        .collect();
    assert_eq!(states, [TxnState::PrepareCommit, TxnState::CompleteCommit]);
    let (reply, markers) = apply(&mut c, plan);
    assert_eq!(reply, (pid, epoch));
    assert_eq!(markers.len(), 1);
    assert!(markers[0].commit);
    assert_eq!(markers[0].partitions, parts.to_vec());
    assert_eq!(c.get("t").unwrap().state, TxnState::CompleteCommit);
    assert_eq!(
        c.next_deadline(),
        Some(30 + TxnConfig::default().id_expiration_ms)
    );
    // A retried commit is NONE; an abort now is INVALID_TXN_STATE.
    let retry = c
        .end_txn(&"t".into(), pid, epoch, true, false, 31, &mut none)
        .unwrap();
    assert!(retry.steps.is_empty());
    assert_eq!(
        c.end_txn(&"t".into(), pid, epoch, false, false, 31, &mut none)
            .err(),
        Some(ErrorCode::INVALID_TXN_STATE)
    );
}

#[test]
fn misuse_gets_kafkas_errors() {
    let (mut c, mut next) = coordinator();
    let mut none = || None;
    assert_eq!(
        c.end_txn(&"t".into(), 0, 0, true, false, 0, &mut none)
            .err(),
        Some(ErrorCode::INVALID_PRODUCER_ID_MAPPING)
    );
    let (pid, epoch) = init(&mut c, &mut next, None).unwrap();
    // Nothing open: EndTxn is INVALID_TXN_STATE (version 1).
    assert_eq!(
        c.end_txn(&"t".into(), pid, epoch, true, false, 0, &mut none)
            .err(),
        Some(ErrorCode::INVALID_TXN_STATE)
    );
    assert_eq!(
        c.add_partitions("t", pid + 1, epoch, &[("a".into(), 0)], 1, 0)
            .err(),
        Some(ErrorCode::INVALID_PRODUCER_ID_MAPPING)
    );
    assert_eq!(
        c.add_partitions("t", pid, epoch + 1, &[("a".into(), 0)], 1, 0)
            .err(),
        Some(ErrorCode::PRODUCER_FENCED)
    );
}

#[test]
fn a_transaction_past_its_timeout_is_aborted_with_its_producer_fenced() {
    let (mut c, mut next) = coordinator();
    let (pid, epoch) = init(&mut c, &mut next, None).unwrap();
    let plan = c
        .add_partitions("t", pid, epoch, &[("a".into(), 0)], 1, 100)
        .unwrap();
    apply(&mut c, plan);
    assert!(c.handle_timeout(100 + 59_999).is_empty());
    let plans = c.handle_timeout(100 + 60_000);
    assert_eq!(plans.len(), 1);
    let (_, markers) = apply(&mut c, plans.into_iter().next().unwrap());
    assert_eq!(markers.len(), 1);
    assert!(!markers[0].commit);
    assert_eq!(
        markers[0].epoch,
        epoch + 1,
        "markers carry the fenced epoch"
    );
    let m = c.get("t").unwrap();
    assert_eq!((m.state, m.epoch), (TxnState::CompleteAbort, epoch + 1));
    let mut none = || None;
    assert_eq!(
        c.end_txn(&"t".into(), pid, epoch, true, false, 0, &mut none)
            .err(),
        Some(ErrorCode::PRODUCER_FENCED)
    );
}

#[test]
fn init_with_an_open_transaction_aborts_it_first() {
    let (mut c, mut next) = coordinator();
    let (pid, epoch) = init(&mut c, &mut next, None).unwrap();
    let plan = c
        .add_partitions("t", pid, epoch, &[("a".into(), 0)], 1, 0)
        .unwrap();
    apply(&mut c, plan);
    let mut alloc = || None;
    let plan = c
        .init_producer_id(&"t".into(), 60_000, None, 5, &mut alloc)
        .unwrap();
    let (reply, markers) = apply(&mut c, plan);
    assert_eq!(markers.len(), 1);
    assert!(!markers[0].commit);
    assert_eq!(markers[0].epoch, epoch + 1);
    assert_eq!(reply, (pid, epoch + 2));
    assert_eq!(c.get("t").unwrap().state, TxnState::Empty);
}

#[test]
fn version_2_bumps_the_epoch_at_every_end_and_answers_retries() {
    let (mut c, mut next) = coordinator();
    let (pid, epoch) = init(&mut c, &mut next, None).unwrap();
    let plan = c
        .add_partitions("t", pid, epoch, &[("a".into(), 0)], 2, 0)
        .unwrap();
    apply(&mut c, plan);
    let mut none = || None;
    let plan = c
        .end_txn(&"t".into(), pid, epoch, true, true, 1, &mut none)
        .unwrap();
    let (reply, markers) = apply(&mut c, plan);
    assert_eq!(reply, (pid, epoch + 1));
    assert_eq!(markers[0].epoch, epoch + 1);
    // The retry with the old epoch gets the same answer.
    let retry = c
        .end_txn(&"t".into(), pid, epoch, true, true, 2, &mut none)
        .unwrap();
    assert_eq!(retry.reply, (pid, epoch + 1));
    assert!(retry.steps.is_empty());
    // Version 2 may abort with nothing open: the epoch moves on.
    let plan = c
        .end_txn(&"t".into(), pid, epoch + 1, false, true, 3, &mut none)
        .unwrap();
    let (reply, markers) = apply(&mut c, plan);
    assert_eq!(reply, (pid, epoch + 2));
    assert!(markers[0].partitions.is_empty());
    // An exhausted epoch moves to the next producer id.
    let mut m = c.get("t").unwrap().clone();
    m.epoch = i16::MAX - 1;
    c.written(m);
    let mut alloc = || Some(77);
    let plan = c
        .end_txn(&"t".into(), pid, i16::MAX - 1, false, true, 4, &mut alloc)
        .unwrap();
    let (reply, markers) = apply(&mut c, plan);
    assert_eq!(reply, (77, 0));
    assert_eq!((markers[0].producer_id, markers[0].epoch), (pid, i16::MAX));
}

#[test]
fn a_prepared_transaction_is_finished_on_recovery() {
    let (mut c, mut next) = coordinator();
    let (pid, epoch) = init(&mut c, &mut next, None).unwrap();
    let plan = c
        .add_partitions("t", pid, epoch, &[("a".into(), 0)], 1, 0)
        .unwrap();
    apply(&mut c, plan);
    let mut none = || None;
    let plan = c
        .end_txn(&"t".into(), pid, epoch, true, false, 1, &mut none)
        .unwrap();
    // Only PrepareCommit was written before the stop.
    if let Some(Step::Write(m)) = plan.steps.into_iter().next() {
        c.written(m);
    }
    assert_eq!(
        c.end_txn(&"t".into(), pid, epoch, true, false, 2, &mut none)
            .err(),
        Some(ErrorCode::CONCURRENT_TRANSACTIONS)
    );
    let plans = c.recover(5);
    assert_eq!(plans.len(), 1);
    let (_, markers) = apply(&mut c, plans.into_iter().next().unwrap());
    assert!(markers[0].commit);
    assert_eq!(c.get("t").unwrap().state, TxnState::CompleteCommit);
}

#[test]
fn an_idle_id_expires_after_transactional_id_expiration_ms() {
    let (mut c, mut next) = coordinator();
    let (pid, epoch) = init(&mut c, &mut next, None).unwrap();
    let week = TxnConfig::default().id_expiration_ms;
    // An open transaction never expires: its timeout aborts it first.
    let plan = c
        .add_partitions("t", pid, epoch, &[("a".into(), 0)], 1, 10)
        .unwrap();
    apply(&mut c, plan);
    let mut none = || None;
    let plan = c
        .end_txn(&"t".into(), pid, epoch, true, false, 20, &mut none)
        .unwrap();
    apply(&mut c, plan);
    assert_eq!(c.next_deadline(), Some(20 + week));
    assert!(c.handle_timeout(20 + week - 1).is_empty());
    let plans = c.handle_timeout(20 + week);
    assert_eq!(plans.len(), 1);
    assert_eq!(plans[0].steps, [Step::Remove("t".into())]);
    for p in plans {
        for s in p.steps {
            if let Step::Remove(id) = s {
                c.removed(&id);
            }
        }
    }
    assert!(c.get("t").is_none());
    assert_eq!(c.next_deadline(), None);
}

#[test]
fn markers_left_to_other_brokers_complete_once_all_are_written() {
    let (mut c, mut next) = coordinator();
    let (pid, epoch) = init(&mut c, &mut next, None).unwrap();
    let parts = [("a".into(), 0), ("a".into(), 1)];
    let plan = c.add_partitions("t", pid, epoch, &parts, 1, 0).unwrap();
    apply(&mut c, plan);
    let mut alloc = || None;
    let plan = c
        .end_txn(&"t".into(), pid, epoch, true, false, 10, &mut alloc)
        .unwrap();
    let [Step::Write(prepared), Step::Markers(m), Step::Write(complete)] = &plan.steps[..] else {
        panic!("{:?}", plan.steps);
    };
    c.written(prepared.clone());
    c.defer(m.clone(), parts.to_vec(), complete.clone(), 10, None);
    assert!(c.waits_on_markers("t"));
    // The transaction timer leaves it alone meanwhile.
    assert!(c.handle_timeout(10_000).is_empty());
    let due = c.due_markers(10, |_, _| Some(ErrorCode::NONE));
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].1, parts.to_vec());
    assert!(
        c.due_markers(10, |_, _| Some(ErrorCode::NONE)).is_empty(),
        "in flight"
    );
    c.settle("t", &parts[0], remote::Outcome::Done, 20);
    c.settle("t", &parts[1], remote::Outcome::Retry, 20);
    assert!(c.completed().is_empty());
    // Sent again after the backoff only.
    assert_eq!(c.next_deadline(), Some(20 + RETRY_BACKOFF_MS));
    assert!(c
        .due_markers(20 + RETRY_BACKOFF_MS - 1, |_, _| Some(ErrorCode::NONE))
        .is_empty());
    let due = c.due_markers(20 + RETRY_BACKOFF_MS, |_, _| Some(ErrorCode::NONE));
    assert_eq!(due[0].1, vec![parts[1].clone()]);
    // An answer that came twice changes nothing.
    c.settle("t", &parts[0], remote::Outcome::Retry, 30);
    c.settle("t", &parts[1], remote::Outcome::Done, 30);
    assert_eq!(c.completed(), vec![complete.clone()]);
    assert!(!c.waits_on_markers("t"));
}

#[test]
fn markers_written_here_count_once_replicated_and_are_retried_when_the_wait_fails() {
    let (mut c, mut next) = coordinator();
    let (pid, epoch) = init(&mut c, &mut next, None).unwrap();
    let parts = [("a".into(), 0), ("a".into(), 1)];
    let plan = c.add_partitions("t", pid, epoch, &parts, 1, 0).unwrap();
    apply(&mut c, plan);
    let mut alloc = || None;
    let plan = c
        .end_txn(&"t".into(), pid, epoch, true, false, 10, &mut alloc)
        .unwrap();
    let [Step::Write(prepared), Step::Markers(m), Step::Write(complete)] = &plan.steps[..] else {
        panic!("{:?}", plan.steps);
    };
    c.written(prepared.clone());
    c.defer(m.clone(), parts.to_vec(), complete.clone(), 10, None);
    let ok = |_: &TopicPartition, _: i64| Some(ErrorCode::NONE);
    let behind = |_: &TopicPartition, _: i64| None;
    assert_eq!(c.due_markers(10, ok)[0].1, parts.to_vec());
    // Both written here; the followers have neither yet.
    c.settle("t", &parts[0], remote::Outcome::Replicating(5), 20);
    c.settle("t", &parts[1], remote::Outcome::Replicating(7), 20);
    assert!(
        c.completed().is_empty(),
        "not before the followers have them"
    );
    assert!(c.waits_on_markers("t"));
    let poll = c.next_deadline().expect("looked at again");
    assert!(poll > 20);
    assert!(c.due_markers(poll, behind).is_empty());
    assert!(c.completed().is_empty());
    // a-0 is replicated; a-1's leader moved: it is sent again.
    let moved = |tp: &TopicPartition, _: i64| match tp.partition {
        0 => Some(ErrorCode::NONE),
        _ => Some(ErrorCode::NOT_LEADER_OR_FOLLOWER),
    };
    assert!(c.due_markers(poll, moved).is_empty(), "after a backoff");
    assert_eq!(c.next_deadline(), Some(poll + RETRY_BACKOFF_MS));
    let due = c.due_markers(poll + RETRY_BACKOFF_MS, behind);
    assert_eq!(due[0].1, vec![parts[1].clone()]);
    // Written here again, and never replicated: retried at the timeout.
    let at = poll + RETRY_BACKOFF_MS;
    c.settle("t", &parts[1], remote::Outcome::Replicating(9), at);
    let timeout = c.config().request_timeout_ms;
    assert!(c.due_markers(at + timeout - 1, behind).is_empty());
    assert!(c.due_markers(at + timeout, behind).is_empty(), "backoff");
    let due = c.due_markers(at + timeout + RETRY_BACKOFF_MS, behind);
    assert_eq!(due[0].1, vec![parts[1].clone()]);
    c.settle("t", &parts[1], remote::Outcome::Done, at + timeout);
    assert_eq!(c.completed(), vec![complete.clone()]);
}
