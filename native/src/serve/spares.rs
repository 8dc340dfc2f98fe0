//! Buffers of large request frames, used again once the broker has let
//! go of the frame read into them.
//!
//! A file-backed broker copies a produce request's batches into the
//! segment file and drops the frame; the allocator then gives the
//! frame's pages back to the OS (glibc trims a thread arena's heap once
//! its free top passes the trim threshold), and the next frame of the
//! same size faults in and zeroes fresh pages. That churn was most of
//! what file-backed produce cost in CPU beyond `--memory` (which keeps
//! every frame, so has nothing to reuse): on 1 MB frames the fault and
//! zeroing work of an allocation per frame. [`Spares`] keeps the buffers
//! of frames of at least [`LARGE`] bytes; a later frame takes one that
//! nothing references any more ([`BytesMut::try_reclaim`]) instead of
//! allocating. At most [`SPARE_BYTES`] are kept for all connections
//! together; a buffer still referenced (a frame the broker keeps) is
//! never written to.

use std::collections::VecDeque;
use std::sync::Mutex;

use bytes::BytesMut;

/// Frames of at least this many bytes read into buffers that are kept.
pub(crate) const LARGE: usize = 64 << 10;

/// The most buffer capacity kept, for every connection together. Frames
/// waiting for the owner (up to [`super::IN_FLIGHT_BYTES`]) hold their
/// buffers: with 4 MB, 1 MB frames from one producer already found no
/// free buffer often enough to fault in 3,500-9,000 pages per 100 MB.
pub(crate) const SPARE_BYTES: usize = 8 << 20;

/// The kept buffers (oldest first) with their capacities.
#[derive(Default)]
pub(crate) struct Spares {
    free: Mutex<VecDeque<(BytesMut, usize)>>,
}

impl Spares {
    /// An empty buffer with room for `n` bytes from a kept one that no
    /// frame references any more and that is at most twice `n` (so a
    /// frame the broker keeps pins little more than its own size).
    pub(crate) fn take(&self, n: usize) -> Option<BytesMut> {
        let mut free = self.free.lock().ok()?;
        let i = free
            .iter_mut()
            .position(|(b, cap)| *cap >= n && *cap <= 2 * n.max(LARGE) && b.try_reclaim(n))?;
        free.remove(i).map(|(b, _)| b)
    }

    /// Keeps `rest`, the part of a buffer of `cap` bytes after the frame
    /// split off it, for when the frame is gone; the oldest kept buffers
    /// go while more than [`SPARE_BYTES`] are kept.
    pub(crate) fn keep(&self, rest: BytesMut, cap: usize) {
        let Ok(mut free) = self.free.lock() else {
            return;
        };
        free.push_back((rest, cap));
        let mut total: usize = free.iter().map(|(_, c)| c).sum();
        while total > SPARE_BYTES {
            match free.pop_front() {
                Some((_, c)) => total -= c,
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(spares: &Spares, n: usize, byte: u8) -> bytes::Bytes {
        let mut b = spares.take(n).unwrap_or_else(|| BytesMut::with_capacity(n));
        b.resize(n, byte);
        let cap = b.capacity();
        let f = b.split().freeze();
        spares.keep(b, cap);
        f
    }

    #[test]
    fn a_buffer_is_reused_only_once_its_frame_is_gone() {
        let s = Spares::default();
        let a = frame(&s, 1 << 20, 1);
        let at = a.as_ptr();
        // `a` is still held: the next frame gets other memory, and `a`
        // keeps its bytes.
        let b = frame(&s, 1 << 20, 2);
        assert_ne!(b.as_ptr(), at);
        assert!(a.iter().all(|&x| x == 1));
        drop(a);
        let c = frame(&s, 1 << 20, 3);
        assert_eq!(c.as_ptr(), at);
        assert!(b.iter().all(|&x| x == 2) && c.iter().all(|&x| x == 3));
    }

    #[test]
    fn small_frames_do_not_take_a_much_larger_buffer_and_the_total_is_bounded() {
        let s = Spares::default();
        drop(frame(&s, 4 << 20, 1));
        assert!(s.take(LARGE).is_none(), "a 4 MB buffer for a 64 KB frame");
        let held: Vec<_> = (0..8).map(|_| frame(&s, 2 << 20, 0)).collect();
        let kept: usize = s.free.lock().unwrap().iter().map(|(_, c)| c).sum();
        assert!(kept <= SPARE_BYTES, "{kept} bytes kept");
        assert_eq!(held.len(), 8);
    }
}
