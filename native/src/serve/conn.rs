//! One TCP connection: a reader task that frames requests, a writer task
//! that writes responses with vectored I/O.

use std::io::IoSlice;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use spate_core::broker::{ConnId, PeerInfo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Semaphore};
use tracing::{debug, info};

use super::Input;

/// What the owner sends a connection.
pub(crate) enum ConnOut {
    /// A response frame in chunks.
    Frame(Vec<Bytes>),
    /// Close the connection.
    Close,
}

/// Starts the reader and writer tasks of a new connection.
pub(crate) fn spawn(
    id: ConnId,
    stream: TcpStream,
    peer: SocketAddr,
    owner: mpsc::UnboundedSender<Input>,
    max_request: usize,
    budget: Arc<Semaphore>,
) {
    let _ = stream.set_nodelay(true);
    let (mut rd, mut wr) = stream.into_split();
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<ConnOut>();
    let _ = owner.send(Input::Connect(
        id,
        PeerInfo {
            addr: peer.to_string(),
            entropy: entropy(),
            ..PeerInfo::default()
        },
        out_tx,
    ));
    let owner_r = owner.clone();
    tokio::spawn(async move {
        let reason = loop {
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
            // Backpressure: the frame is read only once the owner has room
            // for its bytes (the permit goes back when it has been handled).
            let want = n.clamp(1, super::IN_FLIGHT_BYTES) as u32;
            let Ok(permit) = budget.clone().acquire_many_owned(want).await else {
                break "broker stopped".into();
            };
            // Read into spare capacity: no zero-fill of what the socket
            // overwrites anyway.
            let mut buf = BytesMut::with_capacity(n);
            let mut body = (&mut rd).take(n as u64);
            let mut failed = None;
            while buf.len() < n {
                match body.read_buf(&mut buf).await {
                    Ok(0) => {
                        failed = Some("read: early eof".to_string());
                        break;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        failed = Some(format!("read: {e}"));
                        break;
                    }
                }
            }
            if let Some(reason) = failed {
                break reason;
            }
            if owner_r
                .send(Input::Frame(id, buf.freeze(), permit))
                .is_err()
            {
                break "broker stopped".into();
            }
        };
        debug!(conn = id, reason = %reason, "reader done");
        let _ = owner_r.send(Input::Disconnect(id));
    });
    tokio::spawn(async move {
        while let Some(out) = out_rx.recv().await {
            match out {
                ConnOut::Frame(chunks) => {
                    if write_all_vectored(&mut wr, &chunks).await.is_err() {
                        break;
                    }
                }
                ConnOut::Close => break,
            }
        }
        let _ = wr.shutdown().await;
    });
}

/// Writes every chunk, in order, with as few vectored writes as the kernel allows.
async fn write_all_vectored(
    wr: &mut tokio::net::tcp::OwnedWriteHalf,
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
/// a connection's SASL nonces. Zeros only if the source fails, which on
/// Linux it does not once booted; SCRAM then still checks proofs, its
/// nonces are merely predictable.
fn entropy() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    if let Err(e) = getrandom::getrandom(&mut bytes) {
        tracing::error!("no secure random bytes for a connection: {e}");
    }
    bytes
}
