//! Helpers for the end-to-end tests in `tests/tests/`: find (and build)
//! the `spate` binary, and run a broker on a free port for the length of a
//! test.

use std::io::{BufRead, BufReader, Read, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

pub mod cluster;
pub mod fixture;
pub mod logs;
pub mod raw;
pub mod redis;
pub mod tls;
pub mod txn;
pub mod zookeeper;

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
        // spate-python is selected (nothing of it is built: `--bin spate`)
        // only so that features resolve as for the Python extension, which
        // scripts/test builds next: with PyO3's macros in the graph (syn's
        // `visit-mut`), both builds share every dependency.
        cargo_build(&["-p", "spate", "-p", "spate-python", "--bin", "spate"])
            .join(format!("spate{}", std::env::consts::EXE_SUFFIX))
    })
}

/// spate-core's example driver (`core/examples/driver.rs`), built once per
/// test run as [`spate`] is: `cargo test` builds examples only for the
/// package under test, and not at all with `--test NAME`.
pub fn core_driver() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        cargo_build(&["-p", "spate-core", "--example", "driver"])
            .join("examples")
            .join(format!("driver{}", std::env::consts::EXE_SUFFIX))
    })
}

/// Runs `cargo build --quiet ARGS` into the target directory and profile of
/// the running test binary, and returns that profile's directory.
fn cargo_build(args: &[&str]) -> PathBuf {
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
        .args(["build", "--quiet"])
        .args(args)
        .args(["--profile", &profile])
        .env("CARGO_TARGET_DIR", &target_dir)
        .current_dir(workspace())
        .status()
        .unwrap_or_else(|e| panic!("running cargo build {args:?}: {e}"));
    assert!(status.success(), "cargo build {args:?} failed");
    profile_dir
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
    /// The directory of the `server.properties` it was given, if made here.
    _config: Option<TempDir>,
    /// Where the broker's log (its stderr) goes; its tail is printed when
    /// the test fails.
    log: TempDir,
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
        let mut cmd = Command::new(spate());
        cmd.args(["serve", "--listen", "127.0.0.1:0"]).args(args);
        Server::spawn(cmd)
    }

    /// Starts `cmd`, a broker that prints `listening on ADDR` as its first
    /// line on stdout (as `spate serve` and [`core_driver`] do), and waits
    /// for that line.
    pub fn spawn(mut cmd: Command) -> Server {
        let log = TempDir::new("log");
        let file =
            std::fs::File::create(log.0.join("broker.log")).expect("creating the broker log");
        let set_here = cmd.get_envs().any(|(k, _)| k == "SPATE_LOG");
        if std::env::var_os("SPATE_LOG").is_none() && !set_here {
            cmd.env("SPATE_LOG", "info,spate=debug,zookeeper_client=error");
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"));
        let out = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(out)
            .read_line(&mut line)
            .expect("reading the broker's first line");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Server {
            child,
            addr,
            _data: None,
            _config: None,
            log,
        }
    }

    /// Like [`Server::start`] with a `server.properties` file holding
    /// `properties` (one `key=value` a line) as its positional argument.
    pub fn start_with_properties(properties: &str, extra: &[&str]) -> Server {
        let config = TempDir::new("config");
        let file = config.0.join("server.properties");
        std::fs::write(&file, properties).expect("writing server.properties");
        let file = file.to_string_lossy().into_owned();
        let mut args = vec![file.as_str()];
        args.extend_from_slice(extra);
        let mut s = Server::start(&args);
        s._config = Some(config);
        s
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

    /// The process id (for `kill -STOP` and the like).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The file the broker's log (its stderr) goes to, removed with the
    /// server.
    pub fn log_path(&self) -> PathBuf {
        self.log.0.join("broker.log")
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Runs the client `spate ARGS -b ADDR` against this broker, feeding it
    /// `stdin`, and returns what it did.
    pub fn spate(&self, args: &[&str], stdin: &[u8]) -> std::process::Output {
        let mut child = Command::new(spate())
            .args(args)
            .args(["-b", &self.addr])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting spate");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin)
            .expect("feeding spate");
        child.wait_with_output().expect("spate runs")
    }

    /// Runs `python3 -c SCRIPT ADDR` (the broker's address in `sys.argv[1]`),
    /// fails the test when it fails, and returns its standard output.
    pub fn python(&self, script: &str) -> String {
        let out = Command::new(require("python3"))
            .args(["-c", script, &self.addr])
            .output()
            .expect("python3 runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "python failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(self.log.0.join("broker.log")).unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            let tail = &lines[lines.len().saturating_sub(BROKER_LOG_TAIL)..];
            eprintln!(
                "--- the broker at {} ({} log lines, the last {}):\n{}",
                self.addr,
                lines.len(),
                tail.len(),
                tail.join("\n")
            );
        }
    }
}

/// How many of a broker's last log lines a failed test prints.
const BROKER_LOG_TAIL: usize = 400;

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

/// Runs `kcat ARGS`, feeding it `stdin`, and returns what it did.
pub fn kcat(args: &[&str], stdin: &[u8]) -> std::process::Output {
    let mut child = Command::new(require("kcat"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kcat starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("feeding kcat");
    child.wait_with_output().expect("kcat runs")
}

/// A port nobody listens on now (a server binds it a moment later).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Runs `spate ARGS` against `bootstrap` as `user` over SASL_PLAINTEXT with
/// PLAIN, and returns its stdout; panics with its stderr when it fails.
pub fn spate_as_plain(bootstrap: &str, (user, password): (&str, &str), args: &[&str]) -> String {
    let out = Command::new(spate())
        .args(args)
        .args(["-b", bootstrap, "-X", "security.protocol=SASL_PLAINTEXT"])
        .args(["-X", "sasl.mechanism=PLAIN"])
        .args(["-X", &format!("sasl.username={user}")])
        .args(["-X", &format!("sasl.password={password}")])
        .output()
        .expect("spate runs");
    assert!(
        out.status.success(),
        "spate {args:?} as {user}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `cmd`, a test script that prints its answer as one JSON line
/// last, and returns that answer; panics with `what`, the script's stdout
/// and stderr when there is none.
pub fn json_answer(what: &str, mut cmd: Command) -> serde_json::Value {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {cmd:?}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap_or_else(|_| {
        panic!(
            "{what}: no JSON answer:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// A child process whose stdout and stderr lines are collected as they
/// arrive (by a thread each) while the test goes on; stdin stays open until
/// [`Watched::close_stdin`]. Killed when dropped.
pub struct Watched {
    /// A name for failure messages.
    pub name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    out: Arc<Mutex<Vec<String>>>,
    err: Arc<Mutex<Vec<String>>>,
}

impl Watched {
    /// Starts `cmd` with piped stdin, stdout and stderr.
    pub fn spawn(name: &str, mut cmd: Command) -> Watched {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        let collect = |stream: Box<dyn Read + Send>| {
            let lines = Arc::new(Mutex::new(Vec::new()));
            let sink = Arc::clone(&lines);
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    sink.lock().expect("lines").push(line);
                }
            });
            lines
        };
        let out = collect(Box::new(child.stdout.take().expect("stdout")));
        let err = collect(Box::new(child.stderr.take().expect("stderr")));
        Watched {
            name: name.to_string(),
            stdin: child.stdin.take(),
            child,
            out,
            err,
        }
    }

    /// The stdout lines so far.
    pub fn lines(&self) -> Vec<String> {
        self.out.lock().expect("lines").clone()
    }

    /// The stderr lines so far.
    pub fn err_lines(&self) -> Vec<String> {
        self.err.lock().expect("lines").clone()
    }

    /// Everything printed so far, for failure messages.
    pub fn transcript(&self) -> String {
        format!(
            "--- {} stdout:\n{}\n--- {} stderr:\n{}",
            self.name,
            self.lines().join("\n"),
            self.name,
            self.err_lines().join("\n")
        )
    }

    /// Writes a line to the process's stdin.
    pub fn send_line(&mut self, line: &str) {
        if let Some(stdin) = self.stdin.as_mut() {
            let _ = writeln!(stdin, "{line}");
            let _ = stdin.flush();
        }
    }

    /// Closes the process's stdin.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits for the process to exit; its exit status, or `None` on timeout.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                // Let the reader threads drain the pipes.
                std::thread::sleep(Duration::from_millis(50));
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `kill -9`.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` every 50 ms until it returns `Some`, or panics after
/// `timeout` with `what` and the output of `procs`.
pub fn wait_until<T>(
    what: &str,
    timeout: Duration,
    procs: &[&Watched],
    mut check: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return v;
        }
        if Instant::now() > deadline {
            let out: Vec<String> = procs.iter().map(|p| p.transcript()).collect();
            panic!(
                "timed out after {timeout:?} waiting for {what}\n{}",
                out.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
