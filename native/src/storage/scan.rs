//! Reading segment files: positioned reads (they never move the file
//! cursor, so the append handle is not disturbed) through a block buffer,
//! and batch headers read without touching the records.

use std::fs::File;
use std::io;

use bytes::Bytes;
use spate_core::records::{BatchInfo, BatchView, RawBatch, LOG_OVERHEAD, V2_HEADER_LEN};

/// Fills `buf` from the file at `pos`.
pub(crate) fn read_exact_at(file: &File, buf: &mut [u8], pos: u64) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        file.read_exact_at(buf, pos)
    }
    #[cfg(not(unix))]
    {
        use std::io::{Read, Seek, SeekFrom};
        let mut f = file;
        f.seek(SeekFrom::Start(pos))?;
        f.read_exact(buf)
    }
}

/// `len` bytes of `file` from `pos`, read into a fresh buffer without
/// zero-filling it first (fetches read megabytes at a time). The file's
/// cursor moves, which appends (`O_APPEND`) and positioned reads ignore.
pub(crate) fn read_vec_at(file: &File, len: usize, pos: u64) -> io::Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = file;
    f.seek(SeekFrom::Start(pos))?;
    let mut buf = Vec::with_capacity(len);
    f.take(len as u64).read_to_end(&mut buf)?;
    if buf.len() < len {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(buf)
}

/// What a batch header says, for the index and the offset map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hdr {
    /// First offset.
    pub base: i64,
    /// Last offset.
    pub last: i64,
    /// Largest timestamp (-1 when the format has none).
    pub max_ts: i64,
    /// Whole size in bytes.
    pub size: u64,
}

/// Reads the header at the start of `b` (at least [`V2_HEADER_LEN`] bytes
/// for a v2 batch; a legacy message may be shorter).
pub(crate) fn parse_header(b: &[u8]) -> Option<Hdr> {
    let info = BatchInfo::peek(b).ok()?;
    let be8 = |at: usize| Some(i64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?));
    let max_ts = match info.magic {
        2 => be8(35)?,
        1 => be8(18)?,
        _ => -1,
    };
    if info.last_offset < info.base_offset {
        return None;
    }
    Some(Hdr {
        base: info.base_offset,
        last: info.last_offset,
        max_ts,
        size: info.size as u64,
    })
}

/// Checks a whole batch: lengths, magic and CRC (CRC-32C for v2, CRC-32
/// for a legacy message).
pub(crate) fn batch_is_valid(b: &[u8]) -> bool {
    match b.get(16) {
        Some(2) => BatchView::parse(b, 0).is_ok_and(|v| v.size == b.len()),
        Some(_) => {
            let bytes = Bytes::copy_from_slice(b);
            BatchInfo::peek(b).is_ok_and(|info| {
                info.size == b.len()
                    && RawBatch {
                        start: 0,
                        bytes,
                        info,
                    }
                    .decode()
                    .is_ok()
            })
        }
        None => false,
    }
}

/// Positioned reads of one file through a buffer of whole blocks.
pub(crate) struct BlockReader<'a> {
    file: &'a File,
    len: u64,
    block: Vec<u8>,
    at: u64,
    block_size: usize,
}

impl<'a> BlockReader<'a> {
    /// Reads `file`, whose first `len` bytes count, `block_size` bytes at a time.
    pub fn new(file: &'a File, len: u64, block_size: usize) -> Self {
        BlockReader {
            file,
            len,
            block: Vec::new(),
            at: 0,
            block_size,
        }
    }

    /// Up to `n` bytes at `pos`; fewer only where the file ends.
    pub fn get(&mut self, pos: u64, n: usize) -> io::Result<&[u8]> {
        let end = pos.saturating_add(n as u64).min(self.len);
        let n = end.saturating_sub(pos) as usize;
        let have = self.at + self.block.len() as u64;
        if pos < self.at || end > have {
            let want = n
                .max(self.block_size)
                .min((self.len - pos.min(self.len)) as usize);
            self.block.resize(want, 0);
            read_exact_at(self.file, &mut self.block, pos)?;
            self.at = pos;
        }
        let from = (pos - self.at) as usize;
        Ok(&self.block[from..from + n])
    }
}

/// One step of a walk over a segment's batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// A whole batch (checked, if asked) at the position given.
    Batch(Hdr),
    /// The file ends here, between batches.
    End,
    /// The bytes here are not a whole batch (torn write, garbage, bad CRC).
    Bad,
}

/// Reads the batch at `pos`; with `validate`, its CRC is checked too.
pub(crate) fn step(r: &mut BlockReader<'_>, pos: u64, validate: bool) -> io::Result<Step> {
    if pos >= r.len {
        return Ok(Step::End);
    }
    let head = r.get(pos, V2_HEADER_LEN)?;
    if head.len() < LOG_OVERHEAD {
        return Ok(Step::Bad);
    }
    let Some(h) = parse_header(head) else {
        return Ok(Step::Bad);
    };
    if pos.saturating_add(h.size) > r.len {
        return Ok(Step::Bad);
    }
    if validate && !batch_is_valid(r.get(pos, h.size as usize)?) {
        return Ok(Step::Bad);
    }
    Ok(Step::Batch(h))
}
