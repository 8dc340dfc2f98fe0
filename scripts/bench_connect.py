"""Issue 15's rows of scripts/bench: `spate connect standalone` moving
100 B records between a topic and Redis, in records per second.

  topic -> Redis   a topic of N keyed records, the Redis sink in SET mode
                   (one key per record), counted from the first batch the
                   sink commits to Redis to the last, so that the worker's
                   start and group join are left out
  stream -> topic  a Redis stream of N entries, the Redis source producing
                   each to a topic, counted from the first entry the
                   source's group has read to the last one acknowledged
                   (XACK, after the broker's ack)

Redis is Debian's redis-server on a free port, persistence off (`save ""`,
no AOF), so that the rows measure the connector, not Redis' disk. There is
no peer: no JVM Kafka Connect can be had here, so the rows are absolute.
"""

import os
import shutil
import subprocess
import tempfile
import time

VALUE = "x" * 100


def _redis(tmp, port, log):
    server = shutil.which("redis-server")
    if server is None:
        return None
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--dir", tmp,
                             "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=log or subprocess.DEVNULL)
    for _ in range(100):
        if _cli(port, "PING") == "PONG":
            return proc
        time.sleep(0.05)
    proc.kill()
    return None


def _cli(port, *args):
    r = subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True)
    return r.stdout.strip()


def _resp(*args):
    """One command in RESP, for `redis-cli --pipe`."""
    out = [f"*{len(args)}\r\n"]
    for a in args:
        out.append(f"${len(a.encode())}\r\n{a}\r\n")
    return "".join(out)


def _timed(poll, done, limit_s=300):
    """Polls `poll()` (a count) until `done`: (count, seconds) between the
    first poll that saw progress and the one that saw `done`; None on
    timeout."""
    first, t_first, deadline = None, None, time.perf_counter() + limit_s
    while time.perf_counter() < deadline:
        n = poll()
        now = time.perf_counter()
        if n > 0 and first is None:
            first, t_first = n, now
        if n >= done:
            if t_first is None or now <= t_first:
                return None
            return done - first, now - t_first
        time.sleep(0.02)
    return None


def _worker(spate_bin, tmp, broker_addr, connector, log):
    worker = os.path.join(tmp, "worker.properties")
    with open(worker, "w") as f:
        f.write(f"bootstrap.servers={broker_addr}\n"
                "key.converter=org.apache.kafka.connect.storage.StringConverter\n"
                "value.converter=org.apache.kafka.connect.storage.StringConverter\n"
                f"offset.storage.file.filename={tmp}/connect.offsets\n"
                "offset.flush.interval.ms=1000\n"
                f"rest.port={free_port_of()}\n")
    conn = os.path.join(tmp, "connector.properties")
    with open(conn, "w") as f:
        f.write(connector)
    return subprocess.Popen([spate_bin, "connect", "standalone", worker, conn],
                            stdout=subprocess.DEVNULL, stderr=log or subprocess.DEVNULL)


free_port_of = None  # set by rows(): scripts/bench's free_port


def rows(spate_bin, broker, n, free_port, log):
    """{"sink": (records, seconds), "source": (records, seconds)}, a row an
    error text when it failed, or {"error": why}."""
    global free_port_of
    free_port_of = free_port
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        return {"error": "skipped: redis-server is not installed (scripts/test installs it)"}
    tmp = tempfile.mkdtemp(prefix="spate-bench-connect-")
    port = free_port()
    redis = _redis(tmp, port, log)
    if redis is None:
        return {"error": "redis-server did not start"}
    out = {}
    try:
        # topic -> Redis (SET): N keyed records, made with `spate produce`.
        lines = os.path.join(tmp, "records.txt")
        with open(lines, "w") as f:
            for i in range(n):
                f.write(f"k{i}:{VALUE}\n")
        subprocess.run([spate_bin, "topic", "create", "bench-redis", "-b", broker.addr],
                       capture_output=True, text=True)
        made = subprocess.run([spate_bin, "produce", "bench-redis", "--file", lines, "--key-separator", ":",
                               "--acks", "1", "-b", broker.addr], capture_output=True, text=True)
        if made.returncode != 0:
            out["sink"] = f"spate produce: {made.stderr.strip()}"
        else:
            w = _worker(spate_bin, tmp, broker.addr,
                        "name=bench-sink\nconnector.class=io.spate.connect.redis.RedisSinkConnector\n"
                        f"tasks.max=1\ntopics=bench-redis\nredis.uri=redis://127.0.0.1:{port}\n"
                        "redis.command=SET\n", log)
            try:
                got = _timed(lambda: int(_cli(port, "HGET", "__spate_connect_offsets:bench-sink",
                                              "bench-redis/0") or 0), n)
                out["sink"] = got if got else "timed out"
                if got and int(_cli(port, "DBSIZE")) != n + 1:
                    out["sink"] = f"Redis holds {_cli(port, 'DBSIZE')} keys, not {n + 1}"
            finally:
                w.terminate()
                w.wait(30)
        # Redis stream -> topic: N entries, XADDed through redis-cli --pipe.
        with open(os.path.join(tmp, "xadd.resp"), "w") as f:
            for i in range(n):
                f.write(_resp("XADD", "bench-stream", "*", "id", str(i), "v", VALUE))
        with open(os.path.join(tmp, "xadd.resp"), "rb") as f:
            subprocess.run(["redis-cli", "-p", str(port), "--pipe"], stdin=f, capture_output=True, check=True)
        w = _worker(spate_bin, tmp, broker.addr,
                    "name=bench-source\nconnector.class=io.spate.connect.redis.RedisSourceConnector\n"
                    f"tasks.max=1\ntopic=bench-from-redis\nredis.uri=redis://127.0.0.1:{port}\n"
                    "redis.stream=bench-stream\nredis.group=bench\n", log)
        try:
            def acked():
                info = _cli(port, "XINFO", "GROUPS", "bench-stream").splitlines()
                fields = dict(zip(info[0::2], info[1::2])) if info else {}
                read = int(fields.get("entries-read") or 0)
                pending = int(fields.get("pending") or 0)
                return read - pending
            got = _timed(acked, n)
            out["source"] = got if got else "timed out"
        finally:
            w.terminate()
            w.wait(30)
        return out
    except subprocess.CalledProcessError as e:
        return {"error": f"redis-cli failed: {e}"}
    finally:
        redis.terminate()
        redis.wait(30)
        shutil.rmtree(tmp, ignore_errors=True)


def table(res, n):
    lines = ["", f"{'connect (spate connect standalone)':<40} {'unit':<10} {'value':>12}"]
    if "error" in res:
        lines.append(f"connect: {res['error']}")
        return "\n".join(lines)
    for key, label in (("sink", "topic -> Redis SET, 100 B"), ("source", "Redis stream -> topic, 100 B")):
        r = res.get(key)
        if isinstance(r, tuple):
            count, secs = r
            lines.append(f"{label:<40} {'records/s':<10} {count / secs:>12,.0f}")
        else:
            lines.append(f"{label:<40} {'records/s':<10} failed: {r}")
    lines.append(f"{n:,} records each way; Redis without persistence; no peer (no JVM Kafka Connect here)")
    return "\n".join(lines)
