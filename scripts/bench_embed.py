"""scripts/bench's "start to first ApiVersions" rows (issue 16): how soon
a broker answers its first client, native beside the embedded ones.

  native   `spate serve --memory` (target/release/spate): from spawning
           the process to the first ApiVersions answered over TCP
  node     js/scripts/measure.mjs in a fresh `node`: from the process's
           start (node's own start-up included, as native's spawn is) to
           the first ApiVersions answered over TCP; the import of
           spate-broker plus the first Broker.start() to that answer (the
           wasm compiled on the way); and a later broker in the process
  python   python/scripts/measure.py, with target/venv-py's interpreter,
           when both exist (skipped with a note otherwise)

Each is the median of 3 fresh processes. The ratio is the time over the
native one's (below 1: sooner than spawning the native binary). The goal
(issue 16) is an embedded broker ready in under 50 ms.

    scripts/bench --only embed     # just these rows
"""

import json
import os
import socket
import statistics
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
API_VERSIONS = bytes.fromhex("0000000a" "0012" "0000" "00000001" "ffff")
RUNS = 3


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answered(sock):
    """Reads one size-prefixed frame from `sock`."""
    got = b""
    while len(got) < 4 or len(got) < 4 + int.from_bytes(got[:4], "big"):
        chunk = sock.recv(65536)
        if not chunk:
            raise OSError("closed before answering")
        got += chunk
    return got


def native_once(spate_bin, log):
    """ms from spawning `spate serve --memory` to its first ApiVersions answer, or an error text."""
    port = free_port()
    t0 = time.perf_counter()
    try:
        proc = subprocess.Popen([spate_bin, "serve", "--listen", f"127.0.0.1:{port}", "--memory"],
                                stdout=subprocess.DEVNULL, stderr=log or subprocess.DEVNULL)
    except OSError as e:
        return f"cannot run {spate_bin}: {e.strerror}"
    try:
        while time.perf_counter() - t0 < 30 and proc.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                    s.sendall(API_VERSIONS)
                    answered(s)
                    return (time.perf_counter() - t0) * 1000
            except OSError:
                time.sleep(0.0002)
        return "did not answer"
    finally:
        proc.terminate()
        proc.wait()


def script_once(argv):
    """The JSON line a measure script prints, or an error text."""
    r = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=120)
    if r.returncode != 0:
        return (r.stderr.strip().splitlines() or [f"exit {r.returncode}"])[-1]
    return json.loads(r.stdout.strip().splitlines()[-1])


def median_of(runs, key):
    """The median of `key` over the runs that succeeded, or the first error."""
    good = [r[key] if key else r for r in runs if not isinstance(r, str)]
    return statistics.median(good) if good else runs[0]


def rows(spate_bin, log=None):
    """[(label, ms or error text, note)], native first."""
    out = [("native spate serve --memory: spawn to answer",
            median_of([native_once(spate_bin, log) for _ in range(RUNS)], None), "")]
    node = [script_once(["node", os.path.join(ROOT, "js", "scripts", "measure.mjs")]) for _ in range(RUNS)]
    good = [r for r in node if not isinstance(r, str)]
    if good:
        first = statistics.median(r["import_ms"] + r["first_api_versions_ms"] for r in good)
        rss = statistics.median(r["rss_added_kib"] for r in good) / 1024
        out.append(("node: process start to answer", statistics.median(r["process_ms"] for r in good), ""))
        out.append(("node: import + first start() to answer", first, f"+{rss:.1f} MB RSS"))
        out.append(("node: a later start() to answer", statistics.median(r["next_first_api_versions_ms"] for r in good),
                    f"+{statistics.median(r['next_rss_added_kib'] for r in good) / 1024:.1f} MB RSS"))
    else:
        out.append(("node: import + first start() to answer", node[0], "(npm run build in js/?)"))
    script = os.path.join(ROOT, "python", "scripts", "measure.py")
    python = os.path.join(ROOT, "target", "venv-py", "bin", "python")
    if not os.path.exists(script) or not os.path.exists(python):
        out.append(("python", None, "skipped: needs python/scripts/measure.py and target/venv-py"))
    else:
        py = [script_once([python, script]) for _ in range(RUNS)]
        out.append(("python: first start to answer", median_of(py, "first_api_versions_ms"), ""))
    return out


def table(res):
    native = res[0][1] if isinstance(res[0][1], float) else None
    lines = [f"{'start to first ApiVersions (median of 3)':<46} {'ms':>9} {'vs native':>10}  note"]
    for label, v, note in res:
        if isinstance(v, (int, float)):
            ratio = f"{v / native:.2f}x" if native else "-"
            cell = f"{v:,.1f}"
        else:
            ratio, cell = "", "-"
            note = note or f"failed: {v}"
        lines.append(f"{label:<46} {cell:>9} {ratio:>10}  {note}")
    lines.append("vs native: the time over native's (below 1: answered sooner); goal (issue 16): embedded under 50 ms")
    return "\n".join(lines)
