//! What the owner and a connection's two tasks share: the responses
//! waiting to be written, when the connection last moved a byte, and
//! whether it has been killed.
//!
//! Three rules keep one client from hurting the others:
//!
//! - **Slow readers pause.** While more than [`PAUSE_READING_AT`] bytes of
//!   responses wait to be written, the reader reads no further request (as
//!   Kafka mutes a channel whose response is not yet sent): TCP pushes
//!   back on a client that stops reading its responses.
//! - **Stuck readers are closed.** Requests already read still get
//!   answered; once the answers waiting exceed [`CLOSE_AT`] (one response
//!   of any size is always allowed), the connection is closed and its
//!   buffers freed. The owner hands answers over at least every 16 MB
//!   of them, so requests read before the pause cannot pile up there.
//! - **Idle connections are closed** after `connections.max.idle.ms`
//!   (Kafka's default 10 minutes) without a byte read or written, as Kafka's
//!   selector does; a client that trickles one byte a second is not idle.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{mpsc, Notify};

use super::ConnOut;

/// While more response bytes than this wait to be written, the reader
/// stops reading requests.
pub(crate) const PAUSE_READING_AT: usize = 1 << 20;

/// A response that would take the bytes waiting to be written past this
/// closes the connection (unless nothing else is waiting).
pub(crate) const CLOSE_AT: usize = 64 << 20;

/// One connection's shared state.
pub(crate) struct Link {
    /// Response bytes handed to the writer and not yet written.
    pending: AtomicUsize,
    /// Milliseconds from `born` to the last byte read or written.
    active: AtomicU64,
    born: Instant,
    killed: AtomicBool,
    /// Why it was killed.
    reason: Mutex<String>,
    /// Woken on a kill and whenever the writer drains.
    wake: Notify,
}

impl Link {
    pub(crate) fn new() -> Arc<Link> {
        Arc::new(Link {
            pending: AtomicUsize::new(0),
            active: AtomicU64::new(0),
            born: Instant::now(),
            killed: AtomicBool::new(false),
            reason: Mutex::new(String::new()),
            wake: Notify::new(),
        })
    }

    /// Closes the connection: both tasks stop at their next await.
    pub(crate) fn kill(&self, reason: impl Into<String>) {
        if !self.killed.swap(true, Ordering::SeqCst) {
            if let Ok(mut r) = self.reason.lock() {
                *r = reason.into();
            }
        }
        self.wake.notify_waiters();
    }

    /// Resolves, with the reason, once the connection is killed.
    pub(crate) async fn killed(&self) -> String {
        loop {
            let woken = self.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if self.killed.load(Ordering::SeqCst) {
                return self.reason.lock().map(|r| r.clone()).unwrap_or_default();
            }
            woken.await;
        }
    }

    /// Resolves once at most [`PAUSE_READING_AT`] bytes wait to be written.
    pub(crate) async fn drained(&self) {
        loop {
            let woken = self.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if self.pending.load(Ordering::SeqCst) <= PAUSE_READING_AT {
                return;
            }
            woken.await;
        }
    }

    /// The writer wrote a response of `n` bytes.
    pub(crate) fn written(&self, n: usize) {
        let before = self.pending.fetch_sub(n, Ordering::SeqCst);
        if before > PAUSE_READING_AT && before - n <= PAUSE_READING_AT {
            self.wake.notify_waiters();
        }
    }

    /// Response bytes waiting to be written.
    #[cfg(test)]
    pub(crate) fn pending(&self) -> usize {
        self.pending.load(Ordering::SeqCst)
    }

    fn touch(&self) {
        let ms = self.born.elapsed().as_millis() as u64;
        self.active.fetch_max(ms, Ordering::Relaxed);
    }

    /// Resolves once no byte has moved for `idle`.
    pub(crate) async fn idle(&self, idle: Duration) {
        loop {
            let last = self.born + Duration::from_millis(self.active.load(Ordering::Relaxed));
            let deadline = last + idle;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline.into()).await;
        }
    }
}

/// The owner's handle on a connection: its writer's queue and its [`Link`].
#[derive(Clone)]
pub(crate) struct ConnTx {
    tx: mpsc::UnboundedSender<ConnOut>,
    link: Arc<Link>,
}

impl ConnTx {
    pub(crate) fn new(tx: mpsc::UnboundedSender<ConnOut>, link: Arc<Link>) -> ConnTx {
        ConnTx { tx, link }
    }

    /// Queues a response for the writer, or closes the connection when
    /// too much already waits ([`CLOSE_AT`]).
    pub(crate) fn frame(&self, conn: u64, chunks: Vec<Bytes>) {
        if self.link.killed.load(Ordering::SeqCst) {
            return;
        }
        let n: usize = chunks.iter().map(Bytes::len).sum();
        let before = self.link.pending.fetch_add(n, Ordering::SeqCst);
        if before > 0 && before + n > CLOSE_AT {
            self.link.pending.fetch_sub(n, Ordering::SeqCst);
            tracing::info!(
                conn,
                waiting = before,
                "the client does not read its responses: closing the connection"
            );
            self.link.kill(format!(
                "{before} bytes of responses not read by the client (more than {CLOSE_AT})"
            ));
            return;
        }
        if self.tx.send(ConnOut::Frame(chunks)).is_err() {
            self.link.pending.fetch_sub(n, Ordering::SeqCst);
        }
    }

    /// Closes the connection once the responses queued before are written.
    pub(crate) fn close(&self) {
        let _ = self.tx.send(ConnOut::Close);
    }
}

/// A stream half that records activity on its [`Link`].
pub(crate) struct Active<S> {
    pub inner: S,
    pub link: Arc<Link>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Active<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.link.touch();
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Active<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.link.touch();
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.link.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_response_past_the_bound_kills_the_connection() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let link = Link::new();
        let conn = ConnTx::new(tx, link.clone());
        // One response of any size is allowed.
        conn.frame(1, vec![Bytes::from(vec![0u8; CLOSE_AT + 1])]);
        assert!(!link.killed.load(Ordering::SeqCst));
        link.written(CLOSE_AT + 1);
        conn.frame(1, vec![Bytes::from(vec![0u8; CLOSE_AT / 2])]);
        conn.frame(1, vec![Bytes::from(vec![0u8; CLOSE_AT / 2 + 1])]);
        assert!(link.killed.load(Ordering::SeqCst));
        assert_eq!(link.pending(), CLOSE_AT / 2);
        let mut queued = 0;
        while rx.try_recv().is_ok() {
            queued += 1;
        }
        assert_eq!(queued, 2);
    }
}
