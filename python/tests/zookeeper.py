"""A real ZooKeeper server for a test, from Debian's ``zookeeper`` package
(``scripts/test`` installs it): ``ZooKeeperServerMain`` on a free loopback
port, its data in a temporary directory, stopped by ``stop()``."""

import os
import socket
import subprocess
import tempfile
import time

JARS = "/usr/share/java"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ZooKeeper:
    """A standalone server; ``connect`` is its ``host:port``."""

    def __init__(self) -> None:
        if not os.path.exists(os.path.join(JARS, "zookeeper.jar")):
            raise RuntimeError(
                "ZooKeeper is not installed (/usr/share/java/zookeeper.jar is missing): "
                "run scripts/test, which installs the Debian package `zookeeper`"
            )
        self.dir = tempfile.TemporaryDirectory(prefix="spate-zk-")
        self.port = free_port()
        data = os.path.join(self.dir.name, "data")
        os.mkdir(data)
        cfg = os.path.join(self.dir.name, "zoo.cfg")
        with open(cfg, "w") as f:
            f.write(
                f"tickTime=500\ndataDir={data}\nclientPort={self.port}\n"
                "clientPortAddress=127.0.0.1\nadmin.enableServer=false\nmaxClientCnxns=0\n"
            )
        self.log = open(os.path.join(self.dir.name, "server.log"), "wb")
        self.proc = subprocess.Popen(
            ["java", "-cp", f"{JARS}/*", "org.apache.zookeeper.server.ZooKeeperServerMain", cfg],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.connect = f"127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while not self._ok():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("ZooKeeper did not start; see its server.log")
            time.sleep(0.1)

    def _ok(self) -> bool:
        """Whether the server answers `srvr` (a four-letter word it serves
        by default) as a running one."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"srvr")
                return b"Mode:" in s.recv(4096)
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        self.dir.cleanup()
