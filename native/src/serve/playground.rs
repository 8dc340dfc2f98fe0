//! `--playground HOST:PORT`: the playground page (`web/`) over plain HTTP,
//! beside the broker.
//!
//! An [axum] router: tower-http's [`ServeDir`] hands out the files, and
//! with `--inspect`, `/inspect` is the WebSocket of [`inspect`]. The rules,
//! kept here whatever the crates would do by default:
//!
//! - GET and HEAD only; any other method is `405 only GET and HEAD`.
//! - Files under the web directory only: a path that, percent-decoded,
//!   has a `..` component or a hidden one (a name starting with a dot,
//!   such as `.git`) is `404 not found`. `/` and any `DIR/` serve that
//!   directory's `index.html`; a directory named without its trailing
//!   slash is a 404, not a redirect.
//! - The content types a browser needs for ES modules and WebAssembly
//!   (`.js` is `text/javascript`, `.wasm` is `application/wasm`, ...) are
//!   set here, not guessed from the extension.
//! - Every answer carries `Cache-Control: no-cache` (a rebuilt wasm shows
//!   on reload; `ServeDir`'s `Last-Modified` and `ETag` keep the check
//!   cheap) and `X-Content-Type-Options: nosniff`.
//! - A missing file under `/pkg/` says the wasm is not built yet, when
//!   it is not (`pkg/spate_wasm_bg.wasm` is missing); otherwise it is a
//!   plain `404 not found` like any other.
//! - `/server.json` says what this server offers beside the files,
//!   `{"inspect":false,"console":true}`, so the page shows its Live
//!   traffic and Console sections only when they can work.
//!
//! The page itself runs the broker in the browser; this server only hands
//! out files (and, with `--inspect`, the native broker's frames; with
//! `--console`, a relay of the page's Kafka requests, [`console`]).

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context as _, Result};
use axum::body::Body;
use axum::extract::{FromRef, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse as _, Response};
use axum::routing::get;
use axum::Router;
use percent_encoding::percent_decode_str;
use tokio::net::TcpListener;
use tower_http::services::ServeDir;
use tracing::{debug, warn};

use super::console::{self, Relay};
use super::inspect::{self, plain, Tap};

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
/// With `tap`, `/inspect` streams the broker's frames over a WebSocket;
/// with `relay`, `/console` relays the page's Kafka requests (both local
/// only: the address must be a loopback one). Returns the bound address.
pub(crate) async fn start(
    addr: &str,
    dir: PathBuf,
    tap: Option<Tap>,
    relay: Option<Relay>,
) -> Result<SocketAddr> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("playground: listening on {addr}"))?;
    let local = listener.local_addr()?;
    if tap.is_some() && !local.ip().is_loopback() {
        anyhow::bail!("--inspect is local only: the playground must listen on a loopback address, not {local}");
    }
    if relay.is_some() && !local.ip().is_loopback() {
        anyhow::bail!("--console is local only: the playground must listen on a loopback address, not {local}");
    }
    let _ = writeln!(std::io::stdout(), "playground on http://{local}/");
    if tap.is_some() {
        let _ = writeln!(std::io::stdout(), "inspect on ws://{local}/inspect");
    }
    if let Some(r) = &relay {
        let to = r.bootstrap();
        let _ = writeln!(std::io::stdout(), "console on ws://{local}/console to {to}");
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
    serve(listener, dir, tap, relay);
    Ok(local)
}

/// Serves `dir` (and `/inspect`, with `tap`; `/console`, with `relay`) on
/// `listener` in a task of its own. The peer's address reaches the
/// handlers as `ConnectInfo`.
fn serve(listener: TcpListener, dir: PathBuf, tap: Option<Tap>, relay: Option<Relay>) {
    let app = router(dir, tap, relay).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            warn!(error = %e, "playground: the server stopped");
        }
    });
}

/// What the handlers share.
#[derive(Debug, Clone)]
struct Site {
    /// The web directory. It does not look into directories itself:
    /// [`file()`] names their `index.html`.
    files: ServeDir,
    /// The web directory, to tell a missing wasm from a missing file.
    dir: PathBuf,
    tap: Option<Tap>,
    relay: Option<Relay>,
}

impl FromRef<Site> for Option<Tap> {
    fn from_ref(site: &Site) -> Option<Tap> {
        site.tap.clone()
    }
}

impl FromRef<Site> for Option<Relay> {
    fn from_ref(site: &Site) -> Option<Relay> {
        site.relay.clone()
    }
}

fn router(dir: PathBuf, tap: Option<Tap>, relay: Option<Relay>) -> Router {
    let files = ServeDir::new(&dir).append_index_html_on_directories(false);
    Router::new()
        .route("/inspect", get(inspect::route))
        .route("/console", get(console::route))
        .route("/server.json", get(offers))
        .fallback(file)
        .with_state(Site {
            files,
            dir,
            tap,
            relay,
        })
        .layer(middleware::from_fn(rules))
}

/// `GET /server.json`: which of `/inspect` and `/console` are on.
async fn offers(State(site): State<Site>) -> Response {
    let body = serde_json::json!({
        "inspect": site.tap.is_some(),
        "console": site.relay.is_some(),
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// For every request: GET and HEAD only, and the headers every answer
/// carries.
async fn rules(req: Request, next: Next) -> Response {
    let mut res = if req.method() == Method::GET || req.method() == Method::HEAD {
        next.run(req).await
    } else {
        let mut res = plain(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD");
        res.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        res
    };
    let headers = res.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

/// A file of the web directory, with its content type.
async fn file(State(site): State<Site>, mut req: Request) -> Response {
    let path = req.uri().path();
    // Under /pkg/, a 404 says why only when the wasm itself is missing.
    let pkg = path.starts_with("/pkg/") && !site.dir.join(BUILT).is_file();
    let Some(rel) = resolve(path) else {
        return not_found(false);
    };
    if path.ends_with('/') {
        let index = match req.uri().query() {
            Some(q) => format!("{path}index.html?{q}"),
            None => format!("{path}index.html"),
        };
        match Uri::try_from(index) {
            Ok(uri) => *req.uri_mut() = uri,
            Err(_) => return not_found(pkg),
        }
    }
    match site.files.clone().try_call(req).await {
        Ok(res) if res.status() == StatusCode::NOT_FOUND => not_found(pkg),
        Ok(res) => {
            let mut res = res.map(Body::new);
            if res.status().is_success() {
                res.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(content_type(&rel)),
                );
            }
            res
        }
        Err(e) => {
            debug!(error = %e, file = %rel.display(), "playground: no such file");
            not_found(pkg)
        }
    }
}

/// 404: "not built yet" when `unbuilt`, else "not found".
fn not_found(unbuilt: bool) -> Response {
    if unbuilt {
        let msg = "the playground's wasm is not built yet: run scripts/build-web";
        plain(StatusCode::NOT_FOUND, msg)
    } else {
        plain(StatusCode::NOT_FOUND, "not found")
    }
}

/// The file a request path names, relative to the web directory, if it
/// stays inside it: percent-decoded, every component a plain name that
/// does not start with a dot; `index.html` for a directory (`/`, `DIR/`).
fn resolve(path: &str) -> Option<PathBuf> {
    let path = percent_decode_str(path).decode_utf8().ok()?;
    let path = path.strip_prefix('/')?;
    let path = if path.is_empty() || path.ends_with('/') {
        format!("{path}index.html")
    } else {
        path.to_string()
    };
    let rel = PathBuf::from(path);
    rel.components()
        .all(|c| matches!(c, Component::Normal(s) if !s.to_string_lossy().starts_with('.')))
        .then_some(rel)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_only_inside_the_directory() {
        let p = |s: &str| Some(PathBuf::from(s));
        assert_eq!(resolve("/"), p("index.html"));
        assert_eq!(resolve("/docs/"), p("docs/index.html"));
        assert_eq!(resolve("/pkg/a.js"), p("pkg/a.js"));
        assert_eq!(resolve("/a%20b.js"), p("a b.js"));
        assert_eq!(resolve("/../etc/passwd"), None);
        assert_eq!(resolve("/a/../../b"), None);
        assert_eq!(resolve("/%2e%2e/b"), None);
        assert_eq!(resolve("/..%2Fb"), None);
        assert_eq!(resolve("/.git/config"), None);
        assert_eq!(resolve("/%2Egit/config"), None);
        assert_eq!(resolve("//etc/passwd"), None);
        assert_eq!(resolve("/%2Fetc/passwd"), None);
        assert_eq!(resolve("/%ff"), None);
        assert_eq!(resolve("http://x/"), None);
    }
}

#[cfg(test)]
mod over_tcp;
