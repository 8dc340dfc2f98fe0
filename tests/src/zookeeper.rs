//! A real ZooKeeper server for a test, from Debian's `zookeeper` package
//! (`scripts/test` installs it): `ZooKeeperServerMain` on a free loopback
//! port, its data in a temporary directory, killed when dropped. A client
//! session of its own reads the znodes that brokers write.

use std::fs;
use std::future::Future;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use zookeeper_client as client;
use zookeeper_client::Stat;

use crate::{free_port, TempDir};

/// Where Debian's `libzookeeper-java` (pulled in by `zookeeper`) puts the
/// server; the rest of its class path is in the same directory.
const JAR: &str = "/usr/share/java/zookeeper.jar";

/// How long a server may take to answer its first client.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A standalone ZooKeeper server.
pub struct ZooKeeper {
    child: Child,
    port: u16,
    dir: TempDir,
    client: client::Client,
    rt: tokio::runtime::Runtime,
}

/// A znode's data and stat.
#[derive(Debug, Clone)]
pub struct Znode {
    /// The data.
    pub data: Vec<u8>,
    /// Versions, zxids, the ephemeral owner.
    pub stat: Stat,
}

impl Znode {
    /// The data as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

impl ZooKeeper {
    /// Starts a server and waits until a client session opens on it.
    /// `tickTime` is 500 ms, so sessions of 1 s to 10 s can be
    /// negotiated and expire promptly.
    pub fn start() -> ZooKeeper {
        assert!(
            Path::new(JAR).exists(),
            "ZooKeeper is not installed ({JAR} is missing): run scripts/test, which installs \
             the Debian package `zookeeper` (or: apt-get install -y zookeeper)"
        );
        let dir = TempDir::new("zookeeper");
        let port = free_port();
        let data = dir.0.join("data");
        fs::create_dir_all(&data).expect("ZooKeeper data dir");
        fs::write(
            dir.0.join("zoo.cfg"),
            format!(
                "tickTime=500\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n\
                 admin.enableServer=false\nmaxClientCnxns=0\n",
                data.display()
            ),
        )
        .expect("writing zoo.cfg");
        fs::write(dir.0.join("log4j.properties"), LOG4J).expect("writing log4j.properties");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime for the ZooKeeper client");
        let mut child = spawn_server(&dir);
        let client = connect_when_up(&rt, port, || died(&mut child, &dir));
        ZooKeeper {
            child,
            port,
            dir,
            client,
            rt,
        }
    }

    /// SIGKILL: the server dies at once, its data directory stays.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again over its data directory and port (after
    /// [`ZooKeeper::kill9`]) and waits until it takes a new session. The
    /// sessions it held live on in its data; the test's own session
    /// reconnects by itself.
    pub fn restart(&mut self) {
        let mut child = spawn_server(&self.dir);
        let fresh = connect_when_up(&self.rt, self.port, || died(&mut child, &self.dir));
        self.child = child;
        drop(fresh);
    }

    /// The server's process id (for `kill -STOP` and the like).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The data at `path` (`Some(None)`: no such znode), asked over a new
    /// session as [`ZooKeeper::exists_now`] asks.
    pub fn data_now(&self, path: &str) -> Option<Option<Vec<u8>>> {
        let addr = self.connect();
        self.rt.block_on(async {
            let c = tokio::time::timeout(
                Duration::from_secs(5),
                client::Client::connector().fail_eagerly().connect(&addr),
            )
            .await
            .ok()?
            .ok()?;
            match tokio::time::timeout(Duration::from_secs(5), c.get_data(path))
                .await
                .ok()?
            {
                Ok((data, _)) => Some(Some(data)),
                Err(client::Error::NoNode) => Some(None),
                Err(_) => None,
            }
        })
    }

    /// Whether `path` exists, asked over a new session (so it works
    /// whatever became of the test's own session while the server was
    /// frozen or restarted); `None` when no session opens within 5 s.
    pub fn exists_now(&self, path: &str) -> Option<bool> {
        let addr = self.connect();
        self.rt.block_on(async {
            let c = tokio::time::timeout(
                Duration::from_secs(5),
                client::Client::connector().fail_eagerly().connect(&addr),
            )
            .await
            .ok()?
            .ok()?;
            let found = tokio::time::timeout(Duration::from_secs(5), c.check_stat(path))
                .await
                .ok()?
                .ok()?;
            Some(found.is_some())
        })
    }

    /// `127.0.0.1:PORT`, for `zookeeper.connect`.
    pub fn connect(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The znode at `path`, or `None` when there is none.
    pub fn get(&self, path: &str) -> Option<Znode> {
        match self.block_on(self.client.get_data(path)) {
            Ok((data, stat)) => Some(Znode { data, stat }),
            Err(client::Error::NoNode) => None,
            Err(e) => panic!("reading {path} from ZooKeeper: {e}"),
        }
    }

    /// The children of `path`, sorted, or `None` when there is no `path`.
    pub fn children(&self, path: &str) -> Option<Vec<String>> {
        match self.block_on(self.client.list_children(path)) {
            Ok(mut c) => {
                c.sort();
                Some(c)
            }
            Err(client::Error::NoNode) => None,
            Err(e) => panic!("listing {path} in ZooKeeper: {e}"),
        }
    }

    /// Runs `f` (a call on [`ZooKeeper::client`]) to completion.
    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// The test's own client session.
    pub fn client(&self) -> &client::Client {
        &self.client
    }

    /// The file the server logs to, removed with the server.
    pub fn log_path(&self) -> std::path::PathBuf {
        self.dir.0.join("zookeeper.log")
    }

    /// The server's log so far, for failure messages.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.0.join("zookeeper.log")).unwrap_or_default()
    }
}

impl Drop for ZooKeeper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `ZooKeeperServerMain` on `dir`'s `zoo.cfg`, appending to its log.
fn spawn_server(dir: &TempDir) -> Child {
    let java = crate::require("java");
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.0.join("zookeeper.log"))
        .expect("ZooKeeper log file");
    Command::new(java)
        // A small, quick-starting JVM: the tests share two cores.
        .args(["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"])
        .arg(format!(
            "-Dlog4j.configuration=file:{}",
            dir.0.join("log4j.properties").display()
        ))
        .arg("-cp")
        .arg(class_path())
        .arg("org.apache.zookeeper.server.ZooKeeperServerMain")
        .arg(dir.0.join("zoo.cfg"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log file"))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("starting ZooKeeper: {e}"))
}

/// The server's log: INFO and up (sessions opened and expired, slow
/// fsyncs), to its stdout.
const LOG4J: &str = "log4j.rootLogger=INFO, CONSOLE\n\
    log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender\n\
    log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout\n\
    log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} %-5p [%t] %m%n\n";

/// Every jar in `/usr/share/java` but the SLF4J bindings other than
/// log4j's (with all of them on the class path, SLF4J picks the no-op
/// one and the server logs nothing) and the log4j bridge that would loop
/// with it.
fn class_path() -> String {
    let skip = [
        "slf4j-nop",
        "slf4j-jcl",
        "slf4j-jdk14",
        "slf4j-simple",
        "log4j-over-slf4j",
        "maven3-slf4j-provider",
    ];
    let mut jars: Vec<String> = fs::read_dir("/usr/share/java")
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path().display().to_string())
                .filter(|p| p.ends_with(".jar") && !skip.iter().any(|s| p.contains(s)))
                .collect()
        })
        .unwrap_or_default();
    jars.sort();
    jars.join(":")
}

/// Why the server `child` will never answer, if it exited.
fn died(child: &mut Child, dir: &TempDir) -> Option<String> {
    match child.try_wait() {
        Ok(Some(status)) => Some(format!(
            "ZooKeeper exited ({status}):\n{}",
            fs::read_to_string(dir.0.join("zookeeper.log")).unwrap_or_default()
        )),
        _ => None,
    }
}

/// Opens a client session, retrying while the server starts; `died`
/// says why it never will.
fn connect_when_up(
    rt: &tokio::runtime::Runtime,
    port: u16,
    mut died: impl FnMut() -> Option<String>,
) -> client::Client {
    let deadline = Instant::now() + START_TIMEOUT;
    let addr = format!("127.0.0.1:{port}");
    loop {
        let attempt = rt.block_on(async {
            tokio::time::timeout(
                Duration::from_secs(2),
                client::Client::connector().fail_eagerly().connect(&addr),
            )
            .await
        });
        match attempt {
            Ok(Ok(c)) => return c,
            _ if Instant::now() > deadline => {
                if let Some(why) = died() {
                    panic!("{why}");
                }
                panic!("ZooKeeper did not answer on {addr} within {START_TIMEOUT:?}")
            }
            _ => {
                if let Some(why) = died() {
                    panic!("{why}");
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}
