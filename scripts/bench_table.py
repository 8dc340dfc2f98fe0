"""The main table of scripts/bench: one row per measure and unit, Spate
(file-backed) beside its peer and, with --spate-memory, beside Spate with
--memory; the goals the issues set, each said met or MISSED."""

PEER = "tansu 0.6.0"


def num(v, digits=1):
    return "-" if v is None else f"{v:,.{digits}f}"


def rows(res):
    """The table's rows for one broker: (measure, unit, value, better) where better is 'high' or 'low'."""
    out = []
    if "error" in res:
        return out

    def thr(label, key):
        v = res.get(key)
        if not v or not isinstance(v[0], dict):
            err = (v or ["not run"])[0]
            out.append((label, "msgs/s", f"failed: {err}", "high"))
            return
        r, cpu = v
        out.append((label, "msgs/s", r["msgs_per_s"], "high"))
        out.append((label, "MB/s", r["mb_per_s"], "high"))
        out.append((label, "broker CPU s", cpu, "low"))

    out.append(("start to first connection", "ms", res.get("start"), "low"))
    rss = res.get("rss")
    if isinstance(rss, tuple):
        out.append(("RSS after storing 200 MB", "MB", rss[0], "low"))
        out.append(("RSS after storing 200 MB", "anon / file MB", f"{num(rss[1])} / {num(rss[2])}", None))
    else:
        out.append(("RSS after storing 200 MB", "MB", f"failed: {rss}", "low"))
    for size in (100, 1000):
        for acks in ("1", "all"):
            thr(f"produce {size} B, acks={acks}", f"produce {size} {acks}")
    for size in (100, 1000):
        for acks in ("1", "all"):
            if f"raw {size} {acks}" in res:
                thr(f"pre-encoded {size} B, acks={acks}", f"raw {size} {acks}")
    if "txn" in res or "txn plain" in res:
        thr("idempotent 100 B, acks=all", "txn plain")
        thr("transactional 100 B, 1,000/txn", "txn")
    thr("consume 100 B from the start", "consume 100")
    thr("consume 10 KB from the start", "consume 10000")
    lat = res.get("latency")
    if lat and isinstance(lat[0], dict):
        out.append(("latency, 1,000 msgs/s, acks=all", "p50 ms", lat[0]["p50_ms"], "low"))
        out.append(("latency, 1,000 msgs/s, acks=all", "p99 ms", lat[0]["p99_ms"], "low"))
        out.append(("latency, 1,000 msgs/s, acks=all", "broker CPU s", lat[1], "low"))
    else:
        out.append(("latency, 1,000 msgs/s, acks=all", "p50 ms", f"failed: {(lat or ['not run'])[0]}", "low"))
    return out


def goals(spate, peer, memory=None):
    """{(measure, unit): goal text} for the rows the issues set goals on."""

    def val(res, label, unit):
        for m, u, v, _ in rows(res):
            if (m, u) == (label, unit) and isinstance(v, float):
                return v
        return None

    def vs_peer(label, factor):
        s, p = val(spate, label, "msgs/s"), val(peer, label, "msgs/s")
        if s is None or p is None:
            return f">= {factor}x peer: not measured"
        return f">= {factor}x peer: {'met' if s >= factor * p else 'MISSED'}"

    def absolute(label, unit, limit, below):
        v = val(spate, label, unit)
        if v is None:
            return "not measured"
        ok = v < limit if below else v >= limit
        return f"{'<' if below else '>='} {limit:,} {unit}: {'met' if ok else 'MISSED'}"

    def vs_plain():
        t = val(spate, "transactional 100 B, 1,000/txn", "msgs/s")
        p = val(spate, "idempotent 100 B, acks=all", "msgs/s")
        if t is None or p is None:
            return ">= 0.8x without transactions: not measured"
        return f">= 0.8x without transactions ({t / p:.2f}x): {'met' if t >= 0.8 * p else 'MISSED'}"

    def vs_memory(label):
        f, m = val(spate, label, "msgs/s"), val(memory, label, "msgs/s") if memory else None
        if f is None or m is None:
            return ""
        return f">= 0.9x --memory ({f / m:.2f}x): {'met' if f >= 0.9 * m else 'MISSED'}"

    # Issue 17: with files at least 0.9x of --memory (on the MB/s rows, as
    # the msgs/s rows carry the peer goals), and 1.5x the peer.
    produce = [f"{kind} {size} B, acks={acks}" for kind in ("produce", "pre-encoded")
               for size in (100, 1000) for acks in ("1", "all")]
    return {
        **{(label, "MB/s"): vs_memory(label) for label in produce},
        ("pre-encoded 100 B, acks=1", "msgs/s"): vs_peer("pre-encoded 100 B, acks=1", 1.5),
        ("pre-encoded 100 B, acks=all", "msgs/s"): vs_peer("pre-encoded 100 B, acks=all", 1.5),
        ("transactional 100 B, 1,000/txn", "msgs/s"): vs_plain(),
        ("start to first connection", "ms"): absolute("start to first connection", "ms", 50, True),
        ("RSS after storing 200 MB", "MB"): absolute("RSS after storing 200 MB", "MB", 50, True),
        ("produce 100 B, acks=1", "msgs/s"): vs_peer("produce 100 B, acks=1", 1.5),
        ("produce 100 B, acks=all", "msgs/s"): vs_peer("produce 100 B, acks=all", 1.5),
        ("consume 100 B from the start", "msgs/s"): vs_peer("consume 100 B from the start", 10),
        ("consume 10 KB from the start", "MB/s"): absolute("consume 10 KB from the start", "MB/s", 1000, False),
    }


def table(spate, peer, peer_note, quick, memory=None):
    s_rows = rows(spate)
    p_rows = {(m, u): v for m, u, v, _ in rows(peer)}
    m_rows = {(m, u): v for m, u, v, _ in rows(memory)} if memory is not None else None
    g = goals(spate, peer, memory)
    extra = f" {'spate --memory':>14}" if m_rows is not None else ""
    lines = [f"{'measure':<33} {'unit':<15} {'spate':>13} {PEER:>13} {'ratio':>7}  goal"]
    if m_rows is not None:
        lines[0] = f"{'measure':<33} {'unit':<15} {'spate':>13}{extra} {PEER:>13} {'ratio':>7}  goal"
    last = None
    for m, u, v, better in s_rows:
        p = p_rows.get((m, u))
        ratio = ""
        if isinstance(v, float) and isinstance(p, float) and v > 0 and p > 0 and better:
            ratio = f"{(v / p if better == 'high' else p / v):.2f}x"
        cell = lambda x: x if isinstance(x, str) else num(x, 2 if u.endswith("ms") or u.endswith(" s") else 1)
        label = m if m != last else ""
        last = m
        mem = f" {cell(m_rows.get((m, u), '-')):>14}" if m_rows is not None else ""
        lines.append(f"{label:<33} {u:<15} {cell(v):>13}{mem} {cell(p if (m, u) in p_rows else '-'):>13} {ratio:>7}  {g.get((m, u), '')}")
    if "error" in spate:
        lines.append(f"spate: {spate['error']}")
    if peer_note:
        lines.append(f"peer: {peer_note}")
    lines.append("ratio: above 1 is better for Spate (throughput spate/peer; time, memory and CPU peer/spate)")
    if m_rows is not None:
        lines.append("spate --memory: the same broker without files, for reference (goals and ratios use the file-backed run)")
    if quick:
        lines.append("--quick: smaller counts than the full run")
    return "\n".join(lines)
