//! Ids the broker makes up (topic ids, producer and fetch session ids,
//! member ids, client instance ids): a deterministic generator seeded from
//! [`Config::seed`](super::Config::seed), since the core has no randomness
//! of its own.

use crate::protocol::Uuid;

/// A deterministic generator for ids (splitmix64).
#[derive(Debug, Clone)]
pub(crate) struct Ids(u64);

impl Ids {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Ids {
        Ids(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A fresh uuid that is neither zero nor Kafka's reserved "metadata topic" id.
    pub fn uuid(&mut self) -> Uuid {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.next_u64().to_be_bytes());
        b[8..].copy_from_slice(&self.next_u64().to_be_bytes());
        if b == [0; 16] || b == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1] {
            b[0] = 1;
        }
        Uuid(b)
    }

    /// A fresh id in Java's UUID text form (member ids).
    pub fn uuid_text(&mut self) -> String {
        let b = [self.next_u64().to_be_bytes(), self.next_u64().to_be_bytes()].concat();
        let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }
}
