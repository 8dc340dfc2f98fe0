//! [`Writer`]: the buffer messages are encoded into, with record chunks
//! spliced in by reference.

use bytes::{BufMut, Bytes, BytesMut};

/// Where messages are encoded: a growing buffer, plus record chunks that
/// are spliced in by reference instead of copied (so a Fetch response can
/// go to the socket as a list of chunks, written with vectored I/O). It
/// derefs to its [`BytesMut`], so every `put_*` writes through it.
#[derive(Debug, Default)]
pub struct Writer {
    buf: BytesMut,
    /// `(position in buf, chunk)`: the chunk goes right before `buf[position]`.
    spliced: Vec<(usize, Bytes)>,
    spliced_len: usize,
}

impl Writer {
    /// Chunks smaller than this are copied: a syscall vector entry costs more.
    pub const SPLICE_MIN: usize = 1024;

    /// An empty writer.
    pub fn new() -> Self {
        Writer::default()
    }

    /// An empty writer with room for `n` bytes.
    pub fn with_capacity(n: usize) -> Self {
        Writer {
            buf: BytesMut::with_capacity(n),
            ..Writer::default()
        }
    }

    /// Empties the writer, keeping its buffer's capacity.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.spliced.clear();
        self.spliced_len = 0;
    }

    /// Appends `chunk`, by reference when it is large.
    pub fn splice(&mut self, chunk: &Bytes) {
        if chunk.len() < Self::SPLICE_MIN {
            self.buf.put_slice(chunk);
        } else {
            self.spliced_len += chunk.len();
            self.spliced.push((self.buf.len(), chunk.clone()));
        }
    }

    /// Total bytes written, spliced chunks included.
    pub fn total_len(&self) -> usize {
        self.buf.len() + self.spliced_len
    }

    /// The bytes as chunks, in order, without copying spliced ones.
    pub fn into_chunks(self) -> Vec<Bytes> {
        let mut buf = self.buf;
        let mut out = Vec::with_capacity(self.spliced.len() * 2 + 1);
        let mut taken = 0;
        for (pos, chunk) in self.spliced {
            let head = buf.split_to(pos - taken);
            taken = pos;
            if !head.is_empty() {
                out.push(head.freeze());
            }
            out.push(chunk);
        }
        if !buf.is_empty() {
            out.push(buf.freeze());
        }
        out
    }

    /// The bytes in one buffer (copies spliced chunks, if any).
    pub fn freeze(self) -> Bytes {
        if self.spliced.is_empty() {
            return self.buf.freeze();
        }
        let total = self.total_len();
        let mut out = BytesMut::with_capacity(total);
        for c in self.into_chunks() {
            out.put_slice(&c);
        }
        out.freeze()
    }

    /// Overwrites `buf[at..at + bytes.len()]` (a size prefix written earlier).
    pub fn patch(&mut self, at: usize, bytes: &[u8]) {
        if let Some(dst) = self.buf.get_mut(at..at + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
    }
}

impl std::ops::Deref for Writer {
    type Target = BytesMut;
    fn deref(&self) -> &BytesMut {
        &self.buf
    }
}

impl std::ops::DerefMut for Writer {
    fn deref_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }
}
