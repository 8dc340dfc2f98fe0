//! Helpers for the end-to-end tests in `tests/tests/`: find (and build)
//! the `spate` binary, and run a broker on a free port for the length of a
//! test.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

pub mod fixture;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The `spate` binary, built once per test run into the same target
/// directory and profile as the running test binary (`CARGO_BIN_EXE_spate`
/// exists only for tests of the `spate` package itself).
pub fn spate() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("test binary path");
        // <target>/<profile dir>/deps/<test>-<hash>
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("profile dir")
            .to_path_buf();
        let target_dir = profile_dir.parent().expect("target dir").to_path_buf();
        let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => "dev".to_string(),
            Some(other) => other.to_string(),
        };
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "build",
                "--quiet",
                "-p",
                "spate",
                "--bin",
                "spate",
                "--profile",
                &profile,
            ])
            .env("CARGO_TARGET_DIR", &target_dir)
            .current_dir(workspace())
            .status()
            .expect("running cargo build -p spate");
        assert!(status.success(), "cargo build -p spate failed");
        profile_dir.join(format!("spate{}", std::env::consts::EXE_SUFFIX))
    })
}

/// A fresh directory under the system temp dir, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A new empty directory named after `label`.
    pub fn new(label: &str) -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "spate-e2e-{label}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A `spate serve` process on a free loopback port, killed when dropped.
pub struct Server {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// The data directory, when the server made its own.
    _data: Option<TempDir>,
}

impl Server {
    /// Starts `spate serve --listen 127.0.0.1:0` with a fresh data
    /// directory and `extra` arguments, and waits for it to say where it
    /// listens.
    pub fn start(extra: &[&str]) -> Server {
        let dir = TempDir::new("data");
        let mut s = Server::start_in(&dir.0, extra);
        s._data = Some(dir);
        s
    }

    /// Like [`Server::start`] over the data directory `dir` (kept).
    pub fn start_in(dir: &Path, extra: &[&str]) -> Server {
        let dir = dir.to_string_lossy().into_owned();
        let mut args = vec!["--data-dir", dir.as_str()];
        args.extend_from_slice(extra);
        Server::start_with(&args)
    }

    /// `spate serve --listen 127.0.0.1:0 ARGS...`.
    pub fn start_with(args: &[&str]) -> Server {
        let mut child = Command::new(spate())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting spate serve");
        let out = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(out)
            .read_line(&mut line)
            .expect("reading spate's first line");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Server {
            child,
            addr,
            _data: None,
        }
    }

    /// `kill -9`: no flush, no clean shutdown marker.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits for the process to exit; true when it exited cleanly.
    pub fn terminate(mut self) -> bool {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        matches!(self.child.wait(), Ok(s) if s.success())
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.addr
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse().ok())
            .unwrap_or(0)
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client program that must be installed (`scripts/test` installs them);
/// the test fails, saying so, when it is not.
pub fn require(program: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(program))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!("{program} is not installed: run scripts/test, which installs it")
    })
}
