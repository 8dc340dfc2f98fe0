//! `--playground HOST:PORT`: the playground page (`web/`) over plain HTTP,
//! beside the broker.
//!
//! A small static file server: GET and HEAD only, one request per
//! connection, files under the web directory only (no `..`, no hidden
//! files), with the content types a browser needs for ES modules and
//! WebAssembly. The page itself runs the broker in the browser; this server
//! only hands out files.

use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context as _, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracing::{debug, warn};

use super::inspect::{self, Tap};

/// The built wasm the page loads; without it the page cannot run.
pub(crate) const BUILT: &str = "pkg/spate_wasm_bg.wasm";

/// Where `web/` is: `--web-dir`, else `./web`, else the repository's.
pub(crate) fn web_dir(arg: Option<PathBuf>) -> PathBuf {
    if let Some(d) = arg {
        return d;
    }
    let here = PathBuf::from("web");
    if here.join("index.html").is_file() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("web")
}

/// Binds `addr` and serves `dir` until the runtime stops. Prints
/// `playground on http://ADDR/` on stdout, and says so plainly when the
/// wasm has not been built.
/// With `tap`, `/inspect` streams the broker's frames over a WebSocket
/// (local only: the address must be a loopback one). Returns the bound
/// address.
pub(crate) async fn start(addr: &str, dir: PathBuf, tap: Option<Tap>) -> Result<SocketAddr> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("playground: listening on {addr}"))?;
    let local = listener.local_addr()?;
    if tap.is_some() && !local.ip().is_loopback() {
        anyhow::bail!("--inspect is local only: the playground must listen on a loopback address, not {local}");
    }
    println!("playground on http://{local}/");
    if tap.is_some() {
        println!("inspect on ws://{local}/inspect");
    }
    if !dir.join("index.html").is_file() {
        warn!(dir = %dir.display(), "playground: no index.html here (use --web-dir)");
    } else if !dir.join(BUILT).is_file() {
        warn!(
            "playground: {} is missing: the page is served but cannot run until \
             scripts/build-web has built the wasm",
            dir.join(BUILT).display()
        );
        eprintln!(
            "playground NOT BUILT: {} is missing; run scripts/build-web",
            dir.join(BUILT).display()
        );
    }
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => {
                    let dir = dir.clone();
                    let tap = tap.clone();
                    tokio::spawn(async move {
                        if let Err(e) = one(stream, peer, &dir, tap).await {
                            debug!(error = %e, "playground request failed");
                        }
                    });
                }
                Err(e) => warn!(error = %e, "playground: accept failed"),
            }
        }
    });
    Ok(local)
}

/// Reads one request head and answers it.
async fn one(
    mut stream: TcpStream,
    peer: SocketAddr,
    dir: &Path,
    tap: Option<Tap>,
) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
        if head.len() > 16 * 1024 {
            return reply(
                &mut stream,
                431,
                "text/plain",
                b"request head too large",
                true,
            )
            .await;
        }
    }
    let text = String::from_utf8_lossy(&head);
    let mut parts = text.lines().next().unwrap_or("").split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let with_body = match method {
        "GET" => true,
        "HEAD" => false,
        _ => return reply(&mut stream, 405, "text/plain", b"only GET and HEAD", true).await,
    };
    if target.split('?').next() == Some("/inspect") {
        return match tap {
            Some(_) if !peer.ip().is_loopback() => {
                reply(
                    &mut stream,
                    403,
                    "text/plain",
                    b"inspect is local only",
                    with_body,
                )
                .await
            }
            Some(tap)
                if inspect::header(&text, "Upgrade")
                    .is_some_and(|v| v.eq_ignore_ascii_case("websocket")) =>
            {
                inspect::serve(stream, &text, tap).await
            }
            Some(_) => {
                reply(
                    &mut stream,
                    400,
                    "text/plain",
                    b"a WebSocket upgrade is expected",
                    with_body,
                )
                .await
            }
            None => {
                let msg = b"inspect is off: start spate serve with --inspect";
                reply(&mut stream, 404, "text/plain", msg, with_body).await
            }
        };
    }
    let Some(path) = resolve(dir, target) else {
        return reply(&mut stream, 404, "text/plain", b"not found", with_body).await;
    };
    let read = tokio::task::spawn_blocking({
        let path = path.clone();
        move || std::fs::read(path)
    });
    match read.await.unwrap_or_else(|e| Err(std::io::Error::other(e))) {
        Ok(bytes) => reply(&mut stream, 200, content_type(&path), &bytes, with_body).await,
        Err(_) if target.starts_with("/pkg/") => {
            let msg = b"the playground's wasm is not built yet: run scripts/build-web";
            reply(&mut stream, 404, "text/plain", msg, with_body).await
        }
        Err(_) => reply(&mut stream, 404, "text/plain", b"not found", with_body).await,
    }
}

/// The file a request target names, if it is inside `dir`.
fn resolve(dir: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next()?;
    let path = path.strip_prefix('/')?;
    let path = if path.is_empty() || path.ends_with('/') {
        format!("{path}index.html")
    } else {
        path.to_string()
    };
    let rel = Path::new(&path);
    for c in rel.components() {
        match c {
            Component::Normal(s) if !s.to_string_lossy().starts_with('.') => {}
            _ => return None,
        }
    }
    Some(dir.join(rel))
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("bin") => "application/octet-stream",
        _ => "text/plain; charset=utf-8",
    }
}

async fn reply(
    stream: &mut TcpStream,
    status: u16,
    ctype: &str,
    body: &[u8],
    with_body: bool,
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Request Header Fields Too Large",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\
         Cache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    if with_body {
        stream.write_all(body).await?;
    }
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_only_inside_the_directory() {
        let d = Path::new("/w");
        assert_eq!(resolve(d, "/"), Some(PathBuf::from("/w/index.html")));
        assert_eq!(
            resolve(d, "/pkg/a.js?x=1"),
            Some(PathBuf::from("/w/pkg/a.js"))
        );
        assert_eq!(resolve(d, "/../etc/passwd"), None);
        assert_eq!(resolve(d, "/a/../../b"), None);
        assert_eq!(resolve(d, "/.git/config"), None);
        assert_eq!(resolve(d, "http://x/"), None);
    }
}

#[cfg(test)]
mod over_tcp;
