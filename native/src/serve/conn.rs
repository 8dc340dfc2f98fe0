//! One connection: a reader task that frames requests, a writer task
//! that writes responses with vectored I/O. The stream is a TCP stream or
//! a TLS one over it ([`accept`] runs the handshake in the connection's
//! own task, so a slow or hostile handshake never holds up the accept
//! loop). Slow, stuck and idle clients are handled as [`super::link`]
//! says.

use std::io::IoSlice;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use spate_core::broker::{ConnId, PeerInfo};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Semaphore};
use tracing::{debug, info, warn};

use super::faults::{DriverFaults, Verdict};
use super::link::{Active, ConnTx, Link};
use super::quota::Slot;
use super::spares::{Spares, LARGE};
use super::tls::Tls;
use super::Input;

/// How long a TLS client has to finish its handshake before the
/// connection is closed.
const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// What a connection shares with the others of its listener.
#[derive(Clone)]
pub(crate) struct Shared {
    /// The owner's inputs.
    pub owner: mpsc::UnboundedSender<Input>,
    /// `socket.request.max.bytes`.
    pub max_request: usize,
    /// The frames-in-flight budget ([`super::IN_FLIGHT_BYTES`]).
    pub budget: Arc<Semaphore>,
    /// Delays and dropped connections a test armed ([`super::faults`]).
    pub faults: Arc<DriverFaults>,
    /// `connections.max.idle.ms`.
    pub idle: std::time::Duration,
    /// Buffers of large frames, for the next ones ([`super::spares`]).
    pub spares: Arc<Spares>,
}

/// Takes a new TCP connection on listener `listener`: draws its entropy
/// (a connection is refused when the OS cannot give it), runs the TLS
/// handshake when the listener has TLS, and starts its tasks. Called in a
/// task of its own.
pub(crate) async fn accept(
    id: ConnId,
    (stream, slot): (TcpStream, Slot),
    peer: SocketAddr,
    listener: String,
    tls: Option<Tls>,
    shared: Shared,
) {
    let _ = stream.set_nodelay(true);
    let Some(entropy) = entropy() else {
        warn!(conn = id, %peer, "no secure random bytes for the connection: refused");
        return;
    };
    let mut info = PeerInfo {
        addr: peer.to_string(),
        listener,
        entropy,
        ..PeerInfo::default()
    };
    let Some(tls) = tls else {
        let (rd, wr) = stream.into_split();
        return spawn(id, rd, wr, (info, slot), shared);
    };
    let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.acceptor.accept(stream)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            info!(conn = id, %peer, listener = %info.listener, error = %e, "TLS handshake failed, closing");
            return;
        }
        Err(_) => {
            info!(conn = id, %peer, listener = %info.listener, "TLS handshake timed out, closing");
            return;
        }
    };
    match tls.principal(stream.get_ref().1.peer_certificates()) {
        Ok(p) => info.tls_principal = p,
        Err(e) => {
            // Kafka fails the authentication when no mapping rule applies.
            info!(conn = id, %peer, error = %format!("{e:#}"), "client certificate refused, closing");
            return;
        }
    }
    debug!(conn = id, %peer, principal = ?info.tls_principal, "TLS connection");
    let (rd, wr) = tokio::io::split(stream);
    spawn(id, rd, wr, (info, slot), shared);
}

/// What the owner sends a connection.
pub(crate) enum ConnOut {
    /// A response frame in chunks.
    Frame(Vec<Bytes>),
    /// Close the connection.
    Close,
}

/// Starts the reader and writer tasks of a new connection.
///
/// The reader reads a frame's body as it arrives and only then waits for
/// its share of the in-flight budget, so a client that announces a large
/// frame and trickles it holds no budget the other connections need. It
/// reads no next frame while the connection's responses wait to be
/// written ([`Link`]), and stops when the connection is idle for
/// `connections.max.idle.ms` or killed; either task's end kills the other.
fn spawn<R, W>(id: ConnId, rd: R, wr: W, (info, slot): (PeerInfo, Slot), shared: Shared)
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let Shared {
        owner,
        max_request,
        budget,
        faults,
        idle,
        spares,
    } = shared;
    let link = Link::new();
    let mut rd = Active {
        inner: rd,
        link: link.clone(),
    };
    let mut wr = Active {
        inner: wr,
        link: link.clone(),
    };
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<ConnOut>();
    let _ = owner.send(Input::Connect(id, info, ConnTx::new(out_tx, link.clone())));
    let owner_r = owner.clone();
    // The connection counts against the limits until both halves are done.
    let slot = Arc::new(slot);
    let slot_w = slot.clone();
    let link_w = link.clone();
    tokio::spawn(async move {
        let _slot = slot;
        let frames = async {
            loop {
                link.drained().await;
                let mut size = [0u8; 4];
                if let Err(e) = rd.read_exact(&mut size).await {
                    break format!("read: {e}");
                }
                let n = i32::from_be_bytes(size);
                if n < 0 || n as usize > max_request {
                    // Kafka closes a connection whose frame exceeds socket.request.max.bytes.
                    info!(
                        conn = id,
                        size = n,
                        max = max_request,
                        "frame too large, closing"
                    );
                    break "frame larger than socket.request.max.bytes".to_string();
                }
                let n = n as usize;
                let buf = match read_body(&mut rd, n, &spares).await {
                    Ok(buf) => buf,
                    Err(reason) => break reason,
                };
                // Backpressure: the frame goes to the owner only once the
                // frames waiting there leave room for it (the permit goes
                // back when it has been handled); until then this
                // connection reads nothing more.
                let want = n.clamp(1, super::IN_FLIGHT_BYTES) as u32;
                let Ok(permit) = budget.clone().acquire_many_owned(want).await else {
                    break "broker stopped".into();
                };
                match faults.verdict(&buf) {
                    Verdict::Pass => {}
                    Verdict::Delay(d) => tokio::time::sleep(d).await,
                    Verdict::Drop => break "dropped by a fault a test armed".into(),
                }
                if owner_r.send(Input::Frame(id, buf, permit)).is_err() {
                    break "broker stopped".into();
                }
            }
        };
        // The writer still writes what is queued when the client only
        // stopped sending; the owner drops its queue on Disconnect.
        let reason = tokio::select! {
            r = frames => r,
            r = link.killed() => r,
            _ = link.idle(idle) => {
                info!(conn = id, idle_ms = idle.as_millis() as u64, "connection idle for connections.max.idle.ms, closing");
                let reason = "idle for longer than connections.max.idle.ms";
                link.kill(reason);
                reason.to_string()
            }
        };
        debug!(conn = id, reason = %reason, "reader done");
        let _ = owner_r.send(Input::Disconnect(id));
    });
    tokio::spawn(async move {
        let _slot = slot_w;
        let link = link_w;
        let writes = async {
            while let Some(out) = out_rx.recv().await {
                match out {
                    ConnOut::Frame(chunks) => {
                        let n = chunks.iter().map(Bytes::len).sum();
                        // A TLS stream holds written records until flushed.
                        if write_all_vectored(&mut wr, &chunks).await.is_err()
                            || wr.flush().await.is_err()
                        {
                            return "write failed";
                        }
                        link.written(n);
                    }
                    ConnOut::Close => return "closed by the broker",
                }
            }
            "broker stopped"
        };
        let reason = tokio::select! {
            r = writes => r.to_string(),
            r = link.killed() => r,
            _ = link.idle(idle) => "idle for longer than connections.max.idle.ms".to_string(),
        };
        link.kill(reason);
        // A client that reads nothing cannot hold up the goodbye.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), wr.shutdown()).await;
    });
}

/// Reads a frame body of `n` bytes, growing the buffer as the bytes come
/// (a client that announces a large frame and sends little costs only
/// what it sent), into spare capacity with no zero-fill. A large frame
/// goes into the kept buffer of an earlier one when the broker has let
/// go of that ([`Spares`]), and leaves its own buffer there.
async fn read_body<R: AsyncRead + Unpin>(
    rd: &mut R,
    n: usize,
    spares: &Spares,
) -> Result<Bytes, String> {
    const FIRST: usize = 64 << 10;
    let large = n >= LARGE;
    let mut buf = match large.then(|| spares.take(n)).flatten() {
        Some(buf) => buf,
        None => BytesMut::with_capacity(n.min(FIRST)),
    };
    let mut body = rd.take(n as u64);
    while buf.len() < n {
        if buf.len() == buf.capacity() {
            let more = buf.len().max(FIRST).min(n - buf.len());
            buf.reserve(more);
        }
        match body.read_buf(&mut buf).await {
            Ok(0) => return Err("read: early eof".to_string()),
            Ok(_) => {}
            Err(e) => return Err(format!("read: {e}")),
        }
    }
    if !large {
        return Ok(buf.freeze());
    }
    let cap = buf.capacity();
    let frame = buf.split().freeze();
    spares.keep(buf, cap);
    Ok(frame)
}

/// Writes every chunk, in order, with as few vectored writes as the kernel allows.
async fn write_all_vectored<W: AsyncWrite + Unpin>(
    wr: &mut W,
    chunks: &[Bytes],
) -> std::io::Result<()> {
    let mut idx = 0;
    let mut off = 0;
    while idx < chunks.len() {
        let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity(chunks.len() - idx);
        slices.push(IoSlice::new(&chunks[idx][off..]));
        for c in &chunks[idx + 1..] {
            slices.push(IoSlice::new(c));
        }
        let mut n = wr.write_vectored(&slices).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        while idx < chunks.len() && n > 0 {
            let left = chunks[idx].len() - off;
            if n >= left {
                n -= left;
                idx += 1;
                off = 0;
            } else {
                off += n;
                n = 0;
            }
        }
    }
    Ok(())
}

/// 32 bytes from the operating system's secure random source: the seed of
/// a connection's SASL nonces. `None` when the source fails (on Linux it
/// does not once booted): the connection is then refused rather than
/// given predictable nonces.
fn entropy() -> Option<[u8; 32]> {
    let mut bytes = [0u8; 32];
    match getrandom::getrandom(&mut bytes) {
        Ok(()) => Some(bytes),
        Err(e) => {
            tracing::error!("no secure random bytes for a connection: {e}");
            None
        }
    }
}
