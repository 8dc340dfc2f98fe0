//! Produce load that costs the client next to nothing: one record batch is
//! encoded once (Kafka's v2 format, CRC-32C), put in one Produce v7
//! request, and that request is sent again and again on one connection
//! with only its correlation id changed, `inflight` requests at a time.
//!
//! librdkafka spends more CPU per message than a broker does, so on a
//! 2-core machine its rows measure the client as much as the broker; this
//! load leaves the broker as the bottleneck. Every answer is read and its
//! error code checked: a rate is reported only if every request was
//! acknowledged without error.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::{rate_json, Result};

/// The Produce version sent: the last before flexible encodings, which
/// every broker from Kafka 2.1 on takes.
const VERSION: i16 = 7;

/// Produces `count` messages of `size` bytes to partition 0 of `topic`, in
/// requests of one batch of `batch` messages, with `acks` ("1" or "all").
pub(crate) fn produce(
    brokers: &str,
    topic: &str,
    (count, size, acks): (u64, usize, &str),
    (batch, inflight): (u32, usize),
) -> Result<String> {
    let acks: i16 = match acks {
        "1" => 1,
        "all" | "-1" => -1,
        other => {
            return Err(format!(
                "acks {other}: 1 or all (acks=0 has no answers to wait for)"
            ))
        }
    };
    if batch == 0 || inflight == 0 {
        return Err("--batch and --inflight must be at least 1".into());
    }
    let addr = brokers.split(',').next().unwrap_or(brokers);
    let mut conn = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    conn.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut frame = request(topic, acks, &record_batch(batch, size));
    let requests = count.div_ceil(u64::from(batch));
    let mut reader = conn.try_clone().map_err(|e| e.to_string())?;
    // One token per request allowed in flight; the reader gives each back.
    let (give, take) = mpsc::sync_channel::<()>(inflight);
    for _ in 0..inflight {
        give.send(()).map_err(|e| e.to_string())?;
    }
    let started = Instant::now();
    let answers = std::thread::spawn(move || -> Result<()> {
        for i in 0..requests {
            let body = read_frame(&mut reader)?;
            check(&body, i as i32)?;
            // The writer is gone once it has sent the last request.
            let _ = give.send(());
        }
        Ok(())
    });
    // A failed send, or a reader that stopped, is reported with the
    // reader's reason when it has one (the broker's error, a closed
    // connection).
    let failed = |answers: std::thread::JoinHandle<Result<()>>, what: String| match answers.join() {
        Ok(Err(why)) => why,
        _ => what,
    };
    for i in 0..requests {
        if take.recv().is_err() {
            return Err(failed(answers, "the reader stopped".into()));
        }
        frame[8..12].copy_from_slice(&(i as i32).to_be_bytes());
        if let Err(e) = conn.write_all(&frame) {
            return Err(failed(answers, format!("send: {e}")));
        }
    }
    answers
        .join()
        .map_err(|_| "the reader panicked".to_string())??;
    let secs = started.elapsed().as_secs_f64();
    let msgs = requests * u64::from(batch);
    Ok(rate_json(msgs, msgs * size as u64, secs))
}

/// One v2 record batch of `n` records, each a `size`-byte value with no key.
fn record_batch(n: u32, size: usize) -> Vec<u8> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let mut records = Vec::new();
    for i in 0..n {
        let mut r = Vec::with_capacity(size + 16);
        r.push(0); // attributes
        varint(&mut r, 0); // timestamp delta
        varint(&mut r, i64::from(i)); // offset delta
        varint(&mut r, -1); // no key
        varint(&mut r, size as i64);
        r.resize(r.len() + size, b'x');
        varint(&mut r, 0); // no headers
        varint(&mut records, r.len() as i64);
        records.extend_from_slice(&r);
    }
    // From attributes to the end: what the CRC covers.
    let mut tail = Vec::with_capacity(records.len() + 40);
    tail.extend_from_slice(&0i16.to_be_bytes()); // attributes: no compression
    tail.extend_from_slice(&(n as i32 - 1).to_be_bytes()); // last offset delta
    tail.extend_from_slice(&now.to_be_bytes()); // base timestamp
    tail.extend_from_slice(&now.to_be_bytes()); // max timestamp
    tail.extend_from_slice(&(-1i64).to_be_bytes()); // producer id
    tail.extend_from_slice(&(-1i16).to_be_bytes()); // producer epoch
    tail.extend_from_slice(&(-1i32).to_be_bytes()); // base sequence
    tail.extend_from_slice(&(n as i32).to_be_bytes());
    tail.extend_from_slice(&records);
    let mut b = Vec::with_capacity(tail.len() + 21);
    b.extend_from_slice(&0i64.to_be_bytes()); // base offset
                                              // Batch length: from the partition leader epoch to the end.
    b.extend_from_slice(&((tail.len() + 9) as i32).to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes()); // partition leader epoch
    b.push(2); // magic
    b.extend_from_slice(&crc32c(&tail).to_be_bytes());
    b.extend_from_slice(&tail);
    b
}

/// A Produce v7 request (size prefix included) of `batch` to partition 0.
fn request(topic: &str, acks: i16, batch: &[u8]) -> Vec<u8> {
    let mut f = vec![0; 4];
    f.extend_from_slice(&0i16.to_be_bytes()); // Produce
    f.extend_from_slice(&VERSION.to_be_bytes());
    f.extend_from_slice(&0i32.to_be_bytes()); // correlation id, set per send
    string(&mut f, "spate-bench-raw");
    f.extend_from_slice(&(-1i16).to_be_bytes()); // no transactional id
    f.extend_from_slice(&acks.to_be_bytes());
    f.extend_from_slice(&30_000i32.to_be_bytes());
    f.extend_from_slice(&1i32.to_be_bytes()); // one topic
    string(&mut f, topic);
    f.extend_from_slice(&1i32.to_be_bytes()); // one partition
    f.extend_from_slice(&0i32.to_be_bytes());
    f.extend_from_slice(&(batch.len() as i32).to_be_bytes());
    f.extend_from_slice(batch);
    let n = (f.len() - 4) as i32;
    f[..4].copy_from_slice(&n.to_be_bytes());
    f
}

fn string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as i16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// A zigzag varint, as record fields are written.
fn varint(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

/// CRC-32C (Castagnoli), bit by bit: it runs once per run.
fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// One response frame, its size prefix removed.
fn read_frame(r: &mut impl Read) -> Result<Vec<u8>> {
    let mut size = [0u8; 4];
    r.read_exact(&mut size)
        .map_err(|e| format!("reading an answer: {e}"))?;
    let n = i32::from_be_bytes(size);
    if !(4..=64 << 20).contains(&n) {
        return Err(format!("an answer of {n} bytes"));
    }
    let mut body = vec![0; n as usize];
    r.read_exact(&mut body)
        .map_err(|e| format!("reading an answer: {e}"))?;
    Ok(body)
}

/// Checks a Produce v7 answer: correlation id `want`, one topic, one
/// partition, error code 0.
fn check(body: &[u8], want: i32) -> Result<()> {
    let mut at = 0;
    let mut take = |n: usize| -> Result<&[u8]> {
        let s = body
            .get(at..at + n)
            .ok_or_else(|| format!("a short answer ({} bytes)", body.len()))?;
        at += n;
        Ok(s)
    };
    let corr = i32::from_be_bytes(take(4)?.try_into().unwrap_or_default());
    if corr != want {
        return Err(format!("answer {corr} where {want} was due"));
    }
    let topics = i32::from_be_bytes(take(4)?.try_into().unwrap_or_default());
    let name = i16::from_be_bytes(take(2)?.try_into().unwrap_or_default());
    take(name.max(0) as usize)?;
    let partitions = i32::from_be_bytes(take(4)?.try_into().unwrap_or_default());
    take(4)?; // partition index
    let error = i16::from_be_bytes(take(2)?.try_into().unwrap_or_default());
    if topics != 1 || partitions != 1 {
        return Err(format!("{topics} topics, {partitions} partitions answered"));
    }
    if error != 0 {
        return Err(format!("request {want}: error code {error}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_matches_the_published_check_value() {
        // CRC-32C of "123456789", RFC 3720's check value.
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn varints_are_zigzag() {
        let mut out = Vec::new();
        for v in [0, -1, 1, 300, -1000] {
            varint(&mut out, v);
        }
        assert_eq!(out, [0, 1, 2, 0xd8, 0x04, 0xcf, 0x0f]);
    }
}
