//! Compression codecs for record payloads, in the framings Kafka uses.
//!
//! Every codec is a pure-Rust crate that builds for `wasm32-unknown-unknown`:
//!
//! | codec  | crate        | framing on the wire                                          |
//! |--------|--------------|--------------------------------------------------------------|
//! | gzip   | `flate2`     | a gzip stream (several members are read one after another)   |
//! | snappy | `snap`       | xerial framing: `\x82SNAPPY\0`, version 1, compatible 1, then blocks of int32 length + raw snappy block; a bare raw block is also accepted when the magic is absent |
//! | lz4    | `lz4_flex`   | the LZ4 frame format (Kafka's `KafkaLZ4BlockOutputStream`)    |
//! | zstd   | `ruzstd`     | one or more zstd frames                                      |
//!
//! # Format
//!
//! ```text
//! xerial snappy                     LZ4 frame
//!   0 magic    82 53 4e 41 50 50 59 00    0 magic  04 22 4d 18
//!   8 version  int32 (1)                  4 FLG, BD, [content size], HC
//!  12 compat   int32 (1)                    blocks: uint32 LE size (bit 31: stored), data
//!  16 blocks:  int32 length, raw snappy     end mark 00 00 00 00, [xxh32 checksum]
//! ```
//!
//! Kafka's magic-0 LZ4 messages carry a wrong header checksum (HC): old
//! Kafka computed it over the frame magic as well as the descriptor.
//! [`decompress`] accepts the correct checksum and that one, as Kafka's own
//! reader does for magic 0; [`compress`] always writes the correct one.
//!
//! [`decompress`] never produces more than `max_out` bytes: a decompression
//! bomb is an error, not an allocation the size of the bomb.

use std::fmt;
use std::io::Read;

use bytes::Bytes;

use super::Compression;

/// Why a payload could not be compressed or decompressed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodecError {
    /// The input is not valid data for the codec (bad magic, bad checksum,
    /// truncated, malformed block...).
    Corrupt {
        /// The codec.
        codec: Compression,
        /// What the decoder reported.
        detail: String,
    },
    /// Decompressing would produce more than the allowed number of bytes.
    TooLarge {
        /// The codec.
        codec: Compression,
        /// The limit that was passed (`max_out`).
        limit: usize,
    },
    /// The encoder failed.
    Compress {
        /// The codec.
        codec: Compression,
        /// What the encoder reported.
        detail: String,
    },
}

impl CodecError {
    /// The codec involved.
    pub fn codec(&self) -> Compression {
        match self {
            CodecError::Corrupt { codec, .. }
            | CodecError::TooLarge { codec, .. }
            | CodecError::Compress { codec, .. } => *codec,
        }
    }
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodecError::Corrupt { codec, detail } => {
                write!(f, "{codec} data is corrupt: {detail}")
            }
            CodecError::TooLarge { codec, limit } => {
                write!(f, "{codec} data decompresses to more than {limit} bytes")
            }
            CodecError::Compress { codec, detail } => {
                write!(f, "{codec} compression failed: {detail}")
            }
        }
    }
}

impl std::error::Error for CodecError {}

fn corrupt(codec: Compression, detail: impl fmt::Display) -> CodecError {
    CodecError::Corrupt {
        codec,
        detail: detail.to_string(),
    }
}

/// Decompresses `data` (one record batch's payload, or a legacy wrapper's
/// value) with `codec`, producing at most `max_out` bytes.
/// `Compression::None` returns the bytes as they are.
pub fn decompress(codec: Compression, data: &[u8], max_out: usize) -> Result<Bytes, CodecError> {
    if data.is_empty() && codec != Compression::None {
        // Every framing has a header: no bytes at all is not a payload.
        return Err(corrupt(codec, "no compressed bytes"));
    }
    let out = match codec {
        Compression::None => {
            if data.len() > max_out {
                return Err(CodecError::TooLarge {
                    codec,
                    limit: max_out,
                });
            }
            data.to_vec()
        }
        Compression::Gzip => read_bounded(codec, flate2::read::MultiGzDecoder::new(data), max_out)?,
        Compression::Snappy => snappy_decompress(data, max_out)?,
        Compression::Lz4 => lz4_decompress(data, max_out)?,
        Compression::Zstd => zstd_decompress(data, max_out)?,
    };
    Ok(Bytes::from(out))
}

/// Compresses `data` with `codec` in Kafka's framing (see the module docs).
/// `Compression::None` returns the bytes as they are.
pub fn compress(codec: Compression, data: &[u8]) -> Result<Bytes, CodecError> {
    let fail = |e: std::io::Error| CodecError::Compress {
        codec,
        detail: e.to_string(),
    };
    let out = match codec {
        Compression::None => data.to_vec(),
        Compression::Gzip => {
            use std::io::Write;
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(data).map_err(fail)?;
            enc.finish().map_err(fail)?
        }
        Compression::Snappy => snappy_compress(data)?,
        Compression::Lz4 => {
            use std::io::Write;
            let info = lz4_flex::frame::FrameInfo::new()
                .block_size(lz4_flex::frame::BlockSize::Max64KB)
                .block_mode(lz4_flex::frame::BlockMode::Independent);
            let mut enc = lz4_flex::frame::FrameEncoder::with_frame_info(info, Vec::new());
            enc.write_all(data).map_err(fail)?;
            enc.finish().map_err(|e| CodecError::Compress {
                codec,
                detail: e.to_string(),
            })?
        }
        Compression::Zstd => {
            ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
        }
    };
    Ok(Bytes::from(out))
}

/// Reads `r` to the end, failing once it yields more than `max_out` bytes.
fn read_bounded(codec: Compression, r: impl Read, max_out: usize) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    let limit = u64::try_from(max_out).unwrap_or(u64::MAX).saturating_add(1);
    r.take(limit)
        .read_to_end(&mut out)
        .map_err(|e| corrupt(codec, e))?;
    if out.len() > max_out {
        return Err(CodecError::TooLarge {
            codec,
            limit: max_out,
        });
    }
    Ok(out)
}

/// The xerial header: magic, version 1, compatible version 1.
const XERIAL_HEADER: &[u8; 16] = b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01";
/// snappy-java's default block size.
const XERIAL_BLOCK: usize = 32 * 1024;

fn snappy_compress(data: &[u8]) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(XERIAL_HEADER.len() + data.len() / 2);
    out.extend_from_slice(XERIAL_HEADER);
    let mut enc = snap::raw::Encoder::new();
    for chunk in data.chunks(XERIAL_BLOCK) {
        let block = enc.compress_vec(chunk).map_err(|e| CodecError::Compress {
            codec: Compression::Snappy,
            detail: e.to_string(),
        })?;
        // A block of at most 32 KiB compresses to well under 2 GiB.
        let len = u32::try_from(block.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&block);
    }
    Ok(out)
}

fn snappy_decompress(data: &[u8], max_out: usize) -> Result<Vec<u8>, CodecError> {
    let codec = Compression::Snappy;
    let too_large = CodecError::TooLarge {
        codec,
        limit: max_out,
    };
    let mut dec = snap::raw::Decoder::new();
    let Some(mut rest) = data.strip_prefix(&XERIAL_HEADER[..8]) else {
        // No xerial magic: a bare snappy block, as snappy-java also accepts.
        let len = snap::raw::decompress_len(data).map_err(|e| corrupt(codec, e))?;
        if len > max_out {
            return Err(too_large);
        }
        return dec.decompress_vec(data).map_err(|e| corrupt(codec, e));
    };
    // Version and minimum compatible version: not checked, like snappy-java.
    rest = rest
        .get(8..)
        .ok_or_else(|| corrupt(codec, "xerial header is cut short"))?;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (len, tail) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| corrupt(codec, "xerial block length is cut short"))?;
        let len = usize::try_from(i32::from_be_bytes(*len))
            .map_err(|_| corrupt(codec, "negative xerial block length"))?;
        let block = tail
            .get(..len)
            .ok_or_else(|| corrupt(codec, "xerial block runs past the end"))?;
        rest = tail.get(len..).unwrap_or_default();
        let n = snap::raw::decompress_len(block).map_err(|e| corrupt(codec, e))?;
        if n > max_out.saturating_sub(out.len()) {
            return Err(too_large);
        }
        let start = out.len();
        out.resize(start + n, 0);
        let written = dec
            .decompress(block, out.get_mut(start..).unwrap_or_default())
            .map_err(|e| corrupt(codec, e))?;
        out.truncate(start + written);
    }
    Ok(out)
}

const LZ4_MAGIC: [u8; 4] = [0x04, 0x22, 0x4d, 0x18];

/// The header checksum byte of an LZ4 frame descriptor.
fn lz4_hc(bytes: &[u8]) -> u8 {
    (twox_hash::XxHash32::oneshot(0, bytes) >> 8) as u8
}

fn lz4_decompress(data: &[u8], max_out: usize) -> Result<Vec<u8>, CodecError> {
    let codec = Compression::Lz4;
    let fixed = fix_kafka_lz4_checksum(data);
    let input = fixed.as_deref().unwrap_or(data);
    read_bounded(codec, lz4_flex::frame::FrameDecoder::new(input), max_out)
}

/// When the frame at the start of `data` carries the header checksum that
/// Kafka's magic-0 writer computed (over the magic too), a copy of the
/// frame with the correct checksum; otherwise `None`.
fn fix_kafka_lz4_checksum(data: &[u8]) -> Option<Vec<u8>> {
    if data.get(..4)? != LZ4_MAGIC {
        return None;
    }
    let flg = *data.get(4)?;
    let mut hc_at = 6;
    if flg & 0x08 != 0 {
        hc_at += 8; // content size
    }
    if flg & 0x01 != 0 {
        hc_at += 4; // dictionary id
    }
    let hc = *data.get(hc_at)?;
    let descriptor = data.get(4..hc_at)?;
    let correct = lz4_hc(descriptor);
    if hc == correct || hc != lz4_hc(data.get(..hc_at)?) {
        return None;
    }
    let mut fixed = data.to_vec();
    *fixed.get_mut(hc_at)? = correct;
    Some(fixed)
}

const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// Window sizes up to this are accepted whatever `max_out` is (zstd level
/// 19 streams use 8 MiB).
const ZSTD_MIN_WINDOW_LIMIT: u64 = 8 << 20;

fn zstd_decompress(data: &[u8], max_out: usize) -> Result<Vec<u8>, CodecError> {
    let codec = Compression::Zstd;
    let mut out = Vec::new();
    let mut rest = data;
    // Kafka's zstd reader decodes concatenated frames; so does this loop.
    loop {
        let left = max_out.saturating_sub(out.len());
        check_zstd_window(rest, left)?;
        let mut dec =
            ruzstd::decoding::StreamingDecoder::new(&mut rest).map_err(|e| corrupt(codec, e))?;
        let frame = read_bounded(codec, &mut dec, left).map_err(|e| match e {
            CodecError::TooLarge { codec, .. } => CodecError::TooLarge {
                codec,
                limit: max_out,
            },
            e => e,
        })?;
        out.extend_from_slice(&frame);
        if rest.is_empty() {
            return Ok(out);
        }
    }
}

/// Refuses a zstd frame whose window (the buffer a decoder allocates up
/// front) is far larger than the output allowed, before anything is
/// allocated for it.
fn check_zstd_window(frame: &[u8], max_out: usize) -> Result<(), CodecError> {
    let codec = Compression::Zstd;
    if frame.get(..4) != Some(&ZSTD_MAGIC[..]) {
        return Err(corrupt(codec, "not a zstd frame (bad magic number)"));
    }
    let Some(&fhd) = frame.get(4) else {
        return Err(corrupt(codec, "zstd frame header is cut short"));
    };
    let single_segment = fhd & 0x20 != 0;
    let window = if single_segment {
        // The window is the content size, stored after the dictionary id.
        let dict_len = [0usize, 1, 2, 4][usize::from(fhd & 3)];
        let fcs_len = [1usize, 2, 4, 8][usize::from(fhd >> 6)];
        let at = 5 + dict_len;
        let Some(fcs) = frame.get(at..at + fcs_len) else {
            return Err(corrupt(codec, "zstd frame header is cut short"));
        };
        let mut le = [0u8; 8];
        le.get_mut(..fcs_len)
            .unwrap_or_default()
            .copy_from_slice(fcs);
        let size = u64::from_le_bytes(le);
        if fcs_len == 2 {
            size + 256
        } else {
            size
        }
    } else {
        let Some(&wd) = frame.get(5) else {
            return Err(corrupt(codec, "zstd frame header is cut short"));
        };
        let log = 10 + u32::from(wd >> 3);
        let base = 1u64 << log;
        base + (base / 8) * u64::from(wd & 7)
    };
    let limit = u64::try_from(max_out)
        .unwrap_or(u64::MAX)
        .max(ZSTD_MIN_WINDOW_LIMIT);
    if window > limit {
        return Err(CodecError::TooLarge {
            codec,
            limit: max_out,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
