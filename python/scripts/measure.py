"""Prints what starting a spate.Broker costs, as ONE JSON line:

    {"runtime": "python", "start_ms": ..., "first_api_versions_ms": ..., "rss_added_kib": ...}

start_ms: from calling spate.Broker() until it returns (listening, ready).
first_api_versions_ms: from calling spate.Broker() until an ApiVersions
request, sent over a real TCP socket, is answered.
rss_added_kib: resident memory with the broker running minus before
`import spate` (the native library's pages included).
A figure for the bench table, never a test. Linux (reads /proc/self/status).
"""

import json
import socket
import struct
import time


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def api_versions(port: int) -> None:
    """Sends ApiVersions v0 and reads the whole answer."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        # size, api key 18, version 0, correlation id 1, client id null
        s.sendall(struct.pack(">ihhih", 10, 18, 0, 1, -1))
        head = b""
        while len(head) < 4:
            head += s.recv(4 - len(head))
        (size,) = struct.unpack(">i", head)
        body = b""
        while len(body) < size:
            chunk = s.recv(size - len(body))
            if not chunk:
                raise RuntimeError("connection closed before the answer")
            body += chunk
        (correlation, error) = struct.unpack(">ih", body[:6])
        if correlation != 1 or error != 0:
            raise RuntimeError(f"ApiVersions answered correlation {correlation}, error {error}")


def main() -> None:
    rss0 = rss_kib()
    import spate

    t0 = time.perf_counter()
    broker = spate.Broker()
    t1 = time.perf_counter()
    api_versions(broker.port)
    t2 = time.perf_counter()
    rss1 = rss_kib()
    broker.close()
    print(
        json.dumps(
            {
                "runtime": "python",
                "start_ms": round((t1 - t0) * 1000, 2),
                "first_api_versions_ms": round((t2 - t0) * 1000, 2),
                "rss_added_kib": rss1 - rss0,
            }
        )
    )


if __name__ == "__main__":
    main()
