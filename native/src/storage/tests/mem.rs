use spate_core::storage::{MemStorage, Storage, TopicPartition};

use super::*;

/// A small deterministic generator.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn compare(file: &FileStorage, mem: &MemStorage, tps: &[TopicPartition], rng: &mut Lcg) {
    assert_eq!(file.logs(), mem.logs());
    for tp in tps {
        let (start, end) = (mem.start_offset(tp), mem.end_offset(tp));
        assert_eq!((file.start_offset(tp), file.end_offset(tp)), (start, end));
        for _ in 0..30 {
            let offset = rng.next(end as u64 + 3) as i64 - 1;
            let max = [1, 100, 700, 5000, usize::MAX][rng.next(5) as usize];
            let f = concat(&file.read(tp, offset, max).unwrap());
            let m = concat(&mem.read(tp, offset, max).unwrap());
            assert_eq!(f, m, "{tp} read({offset}, {max})");
            let ts = rng.next(3000) as i64;
            assert_eq!(
                file.offset_for_timestamp(tp, ts).unwrap(),
                mem.offset_for_timestamp(tp, ts).unwrap(),
                "{tp} ts {ts}"
            );
        }
    }
}

#[test]
fn the_same_operations_read_the_same_as_mem_storage() {
    let dir = TempDir::new("vsmem");
    let o = Options {
        index_interval_bytes: 300,
        ..opts(2500)
    };
    let tps = [TopicPartition::new("a", 0), TopicPartition::new("b-1", 1)];
    let mut file = open(&dir, &o);
    let mut mem = MemStorage::new();
    let mut rng = Lcg(7);
    for tp in &tps {
        file.create_log(tp, TOPIC_ID).unwrap();
        mem.create_log(tp, TOPIC_ID).unwrap();
    }
    let mut ts = 0i64;
    for round in 0..12 {
        for _ in 0..40 {
            let tp = &tps[rng.next(2) as usize];
            ts += rng.next(20) as i64 - 5;
            let n = 1 + rng.next(4) as i32;
            let (b, m) = batch(mem.end_offset(tp), n, rng.next(120) as usize, ts.max(0));
            file.append(tp, b.clone(), m).unwrap();
            mem.append(tp, b, m).unwrap();
        }
        if round % 3 == 2 {
            let tp = &tps[rng.next(2) as usize];
            let cut = rng.next(mem.end_offset(tp) as u64 + 1) as i64;
            file.delete_before(tp, cut).unwrap();
            mem.delete_before(tp, cut).unwrap();
        }
        if round % 3 == 1 {
            // A follower's truncation: anywhere from below the start to
            // past the end, sometimes inside a batch.
            let tp = &tps[rng.next(2) as usize];
            let (start, end) = (mem.start_offset(tp), mem.end_offset(tp));
            let to = start - 2 + rng.next((end - start + 5) as u64) as i64;
            file.truncate_to(tp, to.max(0)).unwrap();
            mem.truncate_to(tp, to.max(0)).unwrap();
        }
        if round == 10 {
            let tp = &tps[rng.next(2) as usize];
            let at = mem.end_offset(tp) + 7;
            file.truncate_fully_and_start_at(tp, at).unwrap();
            mem.truncate_fully_and_start_at(tp, at).unwrap();
        }
        compare(&file, &mem, &tps, &mut rng);
        if round % 4 == 3 {
            file.close().unwrap();
            file = open(&dir, &o);
        } else if round % 4 == 1 {
            drop(file);
            file = open(&dir, &o);
        }
        compare(&file, &mem, &tps, &mut rng);
    }
}
