//! Unit tests of the producer state table.

use super::*;

fn batch(id: i64, epoch: i16, seq: i32, n: i32, offset: i64) -> AppendedBatch {
    AppendedBatch {
        bytes: Bytes::new(),
        base_offset: offset,
        last_offset: offset + i64::from(n) - 1,
        max_timestamp: 7,
        offset_of_max_timestamp: offset,
        record_count: n,
        producer_id: id,
        producer_epoch: epoch,
        base_sequence: seq,
        last_sequence: last_sequence(seq, n - 1),
        is_transactional: false,
    }
}

fn run(p: &mut Producers, b: AppendedBatch) -> Result<(), Verdict> {
    let key = (Uuid::default(), 0);
    match p.check(key, &[b]) {
        Verdict::Append(u) => {
            p.commit(key, u);
            Ok(())
        }
        v => Err(v),
    }
}

#[test]
fn sequences_wrap_and_only_five_batches_are_kept() {
    let mut p = Producers::default();
    assert!(run(&mut p, batch(1, 0, i32::MAX - 1, 2, 0)).is_ok());
    assert!(
        run(&mut p, batch(1, 0, 0, 1, 2)).is_ok(),
        "i32::MAX is followed by 0"
    );
    for i in 1..6 {
        assert!(run(&mut p, batch(1, 0, i, 1, 2 + i64::from(i))).is_ok());
    }
    // The first two batches fell out of the window: out of order, not duplicates.
    assert!(matches!(
        run(&mut p, batch(1, 0, 0, 1, 9)),
        Err(Verdict::Reject(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER))
    ));
    assert!(
        matches!(run(&mut p, batch(1, 0, 1, 1, 9)), Err(Verdict::Duplicate(m)) if m.first_offset == 3)
    );
}
