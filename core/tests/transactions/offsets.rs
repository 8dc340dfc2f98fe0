//! Offsets in transactions: AddOffsetsToTxn and TxnOffsetCommit checked
//! against a real classic group (KIP-447), OffsetFetch require_stable,
//! offsets visible after a commit and dropped after an abort, and
//! TxnOffsetCommit v5 adding the offsets partition itself.

use spate_core::protocol::ErrorCode;

use crate::gutil;
use crate::util::*;

const UNSTABLE: i16 = ErrorCode::UNSTABLE_OFFSET_COMMIT.0;

#[test]
fn offsets_count_once_the_transaction_commits() {
    let mut s = gutil::sim(0);
    let (a, _b) = gutil::stable_pair(&mut s, "g");
    let p = init(&mut s, "tx");
    // KIP-890 part 1: the offsets partition must be in the transaction.
    assert_eq!(
        txn_commit(&mut s, 3, "tx", p, "g", 1, &a, 10),
        ErrorCode::INVALID_TXN_STATE.0
    );
    assert_eq!(
        add_offsets(&mut s, "tx", p, ""),
        ErrorCode::INVALID_GROUP_ID.0
    );
    assert_eq!(
        add_offsets(&mut s, "tx", (p.0, p.1 + 1), "g"),
        ErrorCode::PRODUCER_FENCED.0
    );
    assert_eq!(add_offsets(&mut s, "tx", p, "g"), 0);
    let d = describe(&mut s, "tx");
    assert_eq!(d.topics[0].topic, "__consumer_offsets");
    assert_eq!(d.topics[0].partitions.to_vec(), [offsets_partition("g")]);
    // KIP-447: the group checks the member and generation.
    assert_eq!(
        txn_commit(&mut s, 3, "tx", p, "g", 2, &a, 10),
        ErrorCode::ILLEGAL_GENERATION.0
    );
    assert_eq!(
        txn_commit(&mut s, 3, "tx", p, "g", 1, "nobody", 10),
        ErrorCode::UNKNOWN_MEMBER_ID.0
    );
    assert_eq!(
        txn_commit(&mut s, 3, "tx", (p.0, p.1 + 1), "g", 1, &a, 10),
        ErrorCode::INVALID_PRODUCER_EPOCH.0
    );
    assert_eq!(txn_commit(&mut s, 3, "tx", p, "g", 1, &a, 10), 0);
    assert_eq!(fetch_offset(&mut s, "g", true), (-1, UNSTABLE));
    assert_eq!(
        fetch_offset(&mut s, "g", false),
        (-1, 0),
        "not yet committed"
    );
    // The LSO of the offsets partition waits for the marker too.
    let op = offsets_partition("g");
    let lso = latest(&mut s, "__consumer_offsets", op, 1);
    assert!(lso < latest(&mut s, "__consumer_offsets", op, 0));
    assert_eq!(end(&mut s, "tx", p, true), 0);
    assert_eq!(fetch_offset(&mut s, "g", true), (10, 0));
    assert_eq!(
        latest(&mut s, "__consumer_offsets", op, 1),
        latest(&mut s, "__consumer_offsets", op, 0)
    );

    // The next transaction's offsets are dropped by its abort.
    assert_eq!(add_offsets(&mut s, "tx", p, "g"), 0);
    assert_eq!(txn_commit(&mut s, 3, "tx", p, "g", 1, &a, 20), 0);
    assert_eq!(fetch_offset(&mut s, "g", true), (-1, UNSTABLE));
    assert_eq!(fetch_offset(&mut s, "g", false), (10, 0));
    assert_eq!(end(&mut s, "tx", p, false), 0);
    assert_eq!(fetch_offset(&mut s, "g", true), (10, 0));
    assert_eq!(gutil::fetch_offset(&mut s, "g", 8), (10, "txn".into()));
}

#[test]
fn txn_offset_commit_v5_adds_the_offsets_partition() {
    let mut s = gutil::sim(0);
    let (a, _b) = gutil::stable_pair(&mut s, "g");
    let p = init(&mut s, "tx");
    assert_eq!(txn_commit(&mut s, 5, "tx", p, "g", 1, &a, 7), 0);
    let d = describe(&mut s, "tx");
    assert_eq!(d.transaction_state, "Ongoing");
    assert_eq!(d.topics[0].partitions.to_vec(), [offsets_partition("g")]);
    assert_eq!(fetch_offset(&mut s, "g", true), (-1, UNSTABLE));
    let e = end_with(&mut s, 5, "tx", p, true);
    assert_eq!((e.error_code, e.producer_epoch), (0, p.1 + 1));
    assert_eq!(fetch_offset(&mut s, "g", true), (7, 0));
    // The old epoch is fenced.
    assert_eq!(
        txn_commit(&mut s, 5, "tx", p, "g", 1, &a, 8),
        ErrorCode::INVALID_PRODUCER_EPOCH.0
    );
    assert_eq!(fetch_offset(&mut s, "g", true), (7, 0));
}
