//! A real Redis server for a test, from Debian's `redis-server` package
//! (`scripts/test` installs it; so does [`Redis::start`] when it is
//! missing): `redis-server` on a free loopback port, its data in a
//! temporary directory, killed when dropped. `redis-cli` reads back what
//! the connectors wrote.
//!
//! The server keeps an append-only file fsynced on every write, so
//! [`Redis::kill9`] then [`Redis::restart`] loses nothing a client was
//! told was written, as a test of exactly-once delivery needs.

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{free_port, TempDir};

/// How long a server may take to answer its first PING.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A standalone Redis server.
pub struct Redis {
    child: Child,
    port: u16,
    dir: TempDir,
}

impl Redis {
    /// Starts a server (installing Debian's `redis-server` first when it
    /// is not there) and waits until it answers PING.
    pub fn start() -> Redis {
        install();
        let dir = TempDir::new("redis");
        let port = free_port();
        fs::write(dir.0.join("redis.conf"), config(&dir, port)).expect("writing redis.conf");
        let mut child = spawn_server(&dir);
        wait_up(port, || died(&mut child, &dir));
        Redis { child, port, dir }
    }

    /// SIGKILL: the server dies at once; its append-only file stays.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again over its directory and port (after
    /// [`Redis::kill9`]) and waits until it answers PING.
    pub fn restart(&mut self) {
        let mut child = spawn_server(&self.dir);
        wait_up(self.port, || died(&mut child, &self.dir));
        self.child = child;
    }

    /// `redis://127.0.0.1:PORT`, for `redis.uri`.
    pub fn uri(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs `redis-cli --raw -p PORT ARGS...` and returns its output (raw
    /// replies, one element a line, as scripts read them); fails the test
    /// when redis-cli fails.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new(crate::require("redis-cli"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "--raw"])
            .args(args)
            .output()
            .expect("redis-cli runs");
        assert!(
            out.status.success(),
            "redis-cli {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// [`Redis::cli`]'s reply as lines.
    pub fn cli_lines(&self, args: &[&str]) -> Vec<String> {
        self.cli(args).lines().map(str::to_string).collect()
    }

    /// The server's log so far, for failure messages.
    pub fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// The file the server logs to, removed with the server.
    pub fn log_path(&self) -> PathBuf {
        self.dir.0.join("redis.log")
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Installs Debian's `redis-server` (which brings `redis-cli`) when either
/// is missing, as `scripts/test` would.
fn install() {
    let have = |p: &str| {
        std::env::var_os("PATH")
            .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(p).is_file()))
    };
    if have("redis-server") && have("redis-cli") {
        return;
    }
    let status = Command::new("apt-get")
        .args(["install", "-y", "-q", "redis-server"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdout(Stdio::null())
        .status();
    if !matches!(status, Ok(s) if s.success()) {
        let _ = Command::new("apt-get")
            .args(["update", "-q"])
            .stdout(Stdio::null())
            .status();
        let _ = Command::new("apt-get")
            .args(["install", "-y", "-q", "redis-server"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status();
    }
    assert!(
        have("redis-server") && have("redis-cli"),
        "redis-server is not installed and apt-get could not install it: run scripts/test \
         (or: apt-get install -y redis-server)"
    );
}

/// A server on `port` over `dir`: no RDB snapshots, an append-only file
/// fsynced on every write, logs to `redis.log`.
fn config(dir: &TempDir, port: u16) -> String {
    format!(
        "bind 127.0.0.1\nport {port}\ndir {}\nlogfile {}\nsave \"\"\nappendonly yes\n\
         appendfsync always\ndaemonize no\nprotected-mode no\n",
        dir.0.display(),
        dir.0.join("redis.log").display()
    )
}

/// Starts `redis-server` on `dir`'s `redis.conf`.
fn spawn_server(dir: &TempDir) -> Child {
    Command::new(crate::require("redis-server"))
        .arg(dir.0.join("redis.conf"))
        .current_dir(&dir.0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting redis-server: {e}"))
}

/// Why the server `child` will never answer, if it exited.
fn died(child: &mut Child, dir: &TempDir) -> Option<String> {
    match child.try_wait() {
        Ok(Some(status)) => Some(format!(
            "redis-server exited ({status}):\n{}",
            fs::read_to_string(dir.0.join("redis.log")).unwrap_or_default()
        )),
        _ => None,
    }
}

/// Waits until `redis-cli PING` answers PONG (the server has loaded its
/// data: while loading it answers LOADING); `died` says why it never will.
fn wait_up(port: u16, mut died: impl FnMut() -> Option<String>) {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let out = Command::new(crate::require("redis-cli"))
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "PING"])
            .stderr(Stdio::null())
            .output();
        if matches!(&out, Ok(o) if String::from_utf8_lossy(&o.stdout).trim() == "PONG") {
            return;
        }
        if let Some(why) = died() {
            panic!("{why}");
        }
        assert!(
            Instant::now() < deadline,
            "redis-server did not answer on port {port} within {START_TIMEOUT:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
