//! A Produce's record set through validation and offset assignment
//! (`records::validate_and_assign`), under a context read from the input's
//! first bytes (`spate_fuzz::AppendInput`); each batch decoded and each
//! compressed payload decompressed (with a bound), and the set annotated.
//! Never a panic; what validation accepts re-reads as valid batches with
//! the offsets it assigned.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spate_core::annotate::annotate_record_set;
use spate_core::records::{
    batches, decompress, validate_and_assign, AnyBatch, BatchRecords, BatchView, SetEntry,
};
use spate_fuzz::AppendInput;

fuzz_target!(|data: &[u8]| {
    let (ctx, set) = AppendInput::parse(data);
    if let Ok(appended) = validate_and_assign(&set, &ctx) {
        let mut next = ctx.next_offset;
        for b in &appended.batches {
            assert_eq!(b.base_offset, next, "offsets are dense");
            assert!(b.last_offset >= b.base_offset);
            next = b.last_offset + 1;
            let view = BatchView::parse(&b.bytes, 0).expect("a stored batch parses");
            for r in view.records() {
                r.expect("a stored batch's records parse");
            }
        }
    }
    for entry in batches(&set) {
        let Ok(SetEntry::Batch(raw)) = entry else {
            break;
        };
        if let Ok(AnyBatch::V2(b)) = raw.decode() {
            if let BatchRecords::Compressed {
                compression,
                payload,
            } = &b.records
            {
                let _ = decompress(*compression, payload, ctx.max_decompressed_bytes);
            }
        }
        if let Ok(view) = BatchView::parse(&raw.bytes, 0) {
            for r in view.records() {
                if r.is_err() {
                    break;
                }
            }
        }
    }
    let _ = annotate_record_set(&set, 0, set.len());
});
