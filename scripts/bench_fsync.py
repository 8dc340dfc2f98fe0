"""scripts/bench's `--only fsync` rows (issue 17): what each `--fsync`
setting of a file-backed Spate costs, against the same broker with
`--memory`, measured in one run.

  always         the default: no produce is acknowledged before an fsync
                 covers it (one fsync per pass of requests, group commit)
  interval:1000  an fsync a second, acknowledgements without waiting
  never          the OS writes the pages back when it likes
  --memory       no files at all: the reference the ratios divide by

Rows: produce 100 B and 1,000 B messages, acks=all and acks=1, from one
librdkafka producer (spate-bench produce), then from the pre-encoded load
(spate-bench raw-produce, three times the messages), the brokers (fresh processes, each its
own data directory) taking turns row by row; best of `rounds` runs each.
The ratio is msgs/s over the --memory run's (issue 17's goal: `always`
at least 0.9x of --memory); broker CPU s is the broker process's user +
system time for the row's fastest run. CPU s / 100 MB is the median over
the row's runs of that time per 100 MB produced, and CPU x --memory its
ratio to --memory's: figures that, unlike msgs/s, hardly move with the
load other programs put on the machine.

    scripts/bench --only fsync
"""

SETTINGS = (
    ("always", ["--fsync", "always"]),
    ("interval:1000", ["--fsync", "interval:1000"]),
    ("never", ["--fsync", "never"]),
    ("--memory", ["--memory"]),
)
# (size, acks, driver command): librdkafka's producer, then the
# pre-encoded load (bench/src/raw.rs, 5 requests in flight), where the
# broker, not the client, sets the pace and each fsync holds up the next
# requests.
ROWS = tuple((size, acks, cmd) for cmd in ("produce", "raw-produce")
             for size, acks in ((100, "all"), (100, "1"), (1000, "all"), (1000, "1")))


def rows(spate_bin, spec, driver, sizes, log):
    """{(size, acks, cmd): {setting: (result, cpu) | (error, None)}}, or {"error": why}.

    `spec(name, argv_for)` and `driver(broker, *args)` are scripts/bench's."""

    def argv_for(extra):
        def argv(port, data):
            where = [] if extra == ["--memory"] else ["--data-dir", data]
            return [spate_bin, "serve", "--listen", f"127.0.0.1:{port}", *where, *extra]
        return argv

    specs = [(name, spec(name, argv_for(extra))) for name, extra in SETTINGS]
    brokers = {}
    try:
        for name, s in specs:
            b = s.start(log)
            brokers[name] = (s, b)
            if not b.alive():
                return {"error": f"spate with {name} did not start"}
        out = {}
        for size, acks, cmd in ROWS:
            n = (sizes["n100"] if size == 100 else sizes["n1k"]) * (3 if cmd == "raw-produce" else 1)
            topic = f"f{size}-{acks}-{cmd}"
            for _, b in brokers.values():
                driver(b, "create", "--topic", topic)
            runs = {name: [] for name in brokers}
            for _ in range(max(2, sizes["rounds"] + 1)):
                for name, (_, b) in brokers.items():
                    runs[name].append(driver(b, cmd, "--topic", topic, "--count", n, "--size", size, "--acks", acks))
            mb100 = n * size / 100e6
            out[(size, acks, cmd)] = {name: best(rs) + (cpu_per_100mb(rs, mb100),) for name, rs in runs.items()}
        return out
    finally:
        for s, b in brokers.values():
            s.stop(b)


def best(runs):
    good = [r for r in runs if isinstance(r[0], dict)]
    return max(good, key=lambda r: r[0]["msgs_per_s"]) if good else runs[0]


def cpu_per_100mb(runs, mb100):
    """Median broker CPU seconds per 100 MB over the runs that succeeded (None: none did)."""
    cpus = sorted(r[1] / mb100 for r in runs if isinstance(r[0], dict) and r[1] is not None)
    return cpus[len(cpus) // 2] if cpus else None


def table(res):
    names = [name for name, _ in SETTINGS]
    lines = ["", f"{'fsync cost (spate, one run)':<30} {'unit':<13}" + "".join(f" {n:>14}" for n in names)]
    if "error" in res:
        lines.append(f"fsync: {res['error']}")
        return "\n".join(lines)
    for (size, acks, cmd), by in res.items():
        label = f"{'produce' if cmd == 'produce' else 'pre-encoded'} {size:,} B, acks={acks}"
        mem = by["--memory"][0]["msgs_per_s"] if isinstance(by["--memory"][0], dict) else None

        def line(unit, f):
            cells = "".join(f" {f(by[n]) if isinstance(by[n][0], dict) else 'failed':>14}" for n in names)
            lines.append(f"{label if unit == 'msgs/s' else '':<30} {unit:<13}{cells}")

        line("msgs/s", lambda r: f"{r[0]['msgs_per_s']:,.0f}")
        if mem:
            line("x --memory", lambda r: f"{r[0]['msgs_per_s'] / mem:.2f}x")
        line("broker CPU s", lambda r: "-" if r[1] is None else f"{r[1]:.2f}")
        line("CPU s / 100 MB", lambda r: "-" if r[2] is None else f"{r[2]:.3f}")
        mem_cpu = by["--memory"][2]
        if mem_cpu:
            line("CPU x --memory", lambda r: "-" if r[2] is None else f"{r[2] / mem_cpu:.2f}x")
    errors = [f"{n} {cmd} {size} B acks={acks}: {r[0]}" for (size, acks, cmd), by in res.items() for n, r in by.items() if not isinstance(r[0], dict)]
    lines += [f"failed: {e}" for e in errors]
    lines.append("x --memory: msgs/s over the same broker's with --memory in this run (goal for always: >= 0.9x)")
    lines.append("CPU s / 100 MB: broker user + system time per 100 MB produced, median of the row's runs; CPU x --memory: its ratio to --memory's")
    return "\n".join(lines)
