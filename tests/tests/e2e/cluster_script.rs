//! `scripts/cluster`, the local cluster of step 7 of Kafka's quickstart:
//! it writes Kafka-style properties files, starts a real ZooKeeper and
//! three brokers that register in it and elect one controller, and Ctrl-C
//! stops every process it started.

use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use spate_e2e::{spate, wait_until, workspace, TempDir, Watched};

/// How long the cluster may take to come up (a JVM and three brokers on
/// two cores) or to stop.
const PATIENCE: Duration = Duration::from_secs(90);

/// A free port for ZooKeeper and a base port with the two after it free
/// too, for the brokers.
fn ports() -> (u16, u16) {
    let free = |p: u16| TcpListener::bind(("127.0.0.1", p)).is_ok();
    let zk = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    loop {
        let base = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        if base < 65_000 && (0..3).all(|i| base + i != zk && free(base + i)) {
            return (zk, base);
        }
    }
}

fn listening(port: u16) -> bool {
    TcpStream::connect_timeout(
        &format!("127.0.0.1:{port}").parse().expect("address"),
        Duration::from_millis(200),
    )
    .is_ok()
}

#[test]
fn the_cluster_script_starts_zookeeper_and_three_brokers_and_ctrl_c_stops_them() {
    spate_e2e::require("java");
    let dir = TempDir::new("cluster-script");
    let (zk, base) = ports();
    let mut cmd = Command::new(workspace().join("scripts/cluster"));
    cmd.arg(&dir.0)
        .env("ZK_PORT", zk.to_string())
        .env("BASE_PORT", base.to_string())
        .env("ZK_SESSION_MS", "6000")
        .env("SPATE_BIN", spate());
    let mut script = Watched::spawn("scripts/cluster", cmd);
    wait_until(
        "the script to say the brokers are up",
        PATIENCE,
        &[&script],
        || {
            script
                .err_lines()
                .iter()
                .any(|l| l.contains("3 brokers up"))
                .then_some(())
        },
    );

    // The files are Kafka's quickstart's, one broker apart.
    for i in 0..3 {
        let props = std::fs::read_to_string(dir.0.join(format!("server-{i}.properties")))
            .expect("server-N.properties");
        for line in [
            format!("broker.id={i}"),
            format!("listeners=PLAINTEXT://127.0.0.1:{}", base + i),
            format!("zookeeper.connect=127.0.0.1:{zk}"),
        ] {
            assert!(props.lines().any(|l| l == line), "{line} in\n{props}");
        }
        assert!(props.contains(&format!(
            "log.dirs={}",
            dir.0.join(format!("broker-{i}")).display()
        )));
    }
    // One broker won the election; every broker lists all three and names
    // it controller (the controller told them, in UpdateMetadata).
    let log = |i: u16| {
        std::fs::read_to_string(dir.0.join(format!("logs/broker-{i}.log"))).unwrap_or_default()
    };
    // The script says the brokers are up once they listen; the election
    // may still be under way then (a loaded machine), so it is waited for.
    let claims: Vec<u16> = wait_until("a broker to win the election", PATIENCE, &[&script], || {
        let claims: Vec<u16> = (0..3)
            .filter(|&i| log(i).contains("this broker is the controller"))
            .collect();
        (!claims.is_empty()).then_some(claims)
    });
    assert_eq!(claims.len(), 1, "one broker won the election");
    let info = |i: u16| -> Value {
        let out = Command::new(spate())
            .args(["cluster", "info", "--json", "-b"])
            .arg(format!("127.0.0.1:{}", base + i))
            .output()
            .expect("spate cluster info");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("json")
    };
    wait_until(
        "every broker to list three brokers",
        PATIENCE,
        &[&script],
        || {
            (0..3)
                .all(|i| {
                    let v = info(i);
                    v["brokers"].as_array().map_or(0, Vec::len) == 3
                        && v["controller_id"].as_i64() == Some(i64::from(claims[0]))
                })
                .then_some(())
        },
    );

    // Ctrl-C: the brokers stop cleanly, then ZooKeeper; nothing is left.
    let status = Command::new("kill")
        .args(["-INT", &script.pid().to_string()])
        .status()
        .expect("kill -INT");
    assert!(status.success());
    assert!(
        script.wait_exit(PATIENCE).is_some(),
        "the script exits on Ctrl-C:\n{}",
        script.transcript()
    );
    wait_until("every port to close", PATIENCE, &[&script], || {
        (!listening(zk) && (0..3).all(|i| !listening(base + i))).then_some(())
    });
    for i in 0..3 {
        assert!(
            log(i).contains("clean shutdown"),
            "broker {i} stopped cleanly:\n{}",
            log(i)
        );
    }
}
