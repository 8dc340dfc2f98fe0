"""Kafka transactions driven with confluent-kafka (librdkafka), for
tests/tests/e2e/transactions.rs.

usage: txn_confluent.py SCENARIO BROKER [ARGS...]

Each scenario drives the broker and prints one JSON object, what it saw, as
its last line of stdout; the Rust test asserts on it. Progress goes to
stderr.

Reading back: `mark` appends a plain (non-transactional) record `MARK` to
every partition of a topic, and `read` reads every partition from its
start with an isolation level until that record, returning the values
before it. A read_committed reader therefore sees the mark only once the
last stable offset has passed every transaction before it: a partition
whose mark does not come in time ends with the value "NO MARK" (a stuck
LSO), so that a test comparing exact lists fails there.
"""

import json
import sys
import time

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    IsolationLevel,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, NewTopic, OffsetSpec

# Seconds any one client call may take.
TIMEOUT = 20


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def txn_producer(addr, tid, **extra):
    """A transactional producer, initialised (InitProducerId)."""
    conf = {"bootstrap.servers": addr, "transactional.id": tid, "linger.ms": 5}
    conf.update(extra)
    p = Producer(conf)
    p.init_transactions(TIMEOUT)
    return p


def create(addr, topic, partitions):
    admin = AdminClient({"bootstrap.servers": addr})
    for f in admin.create_topics([NewTopic(topic, partitions, 1)]).values():
        f.result(TIMEOUT)


def partitions(client, topic):
    md = client.list_topics(topic, timeout=TIMEOUT)
    return sorted(md.topics[topic].partitions)


def send(p, topic, values, partition=0):
    """Produces `values` to `partition` and waits until they are written."""
    for v in values:
        p.produce(topic, value=v.encode(), partition=partition)
    left = p.flush(TIMEOUT)
    assert left == 0, f"{left} records not delivered"


def mark(addr, topic, value="END"):
    """Appends `value` to every partition of `topic`, non-transactionally."""
    p = Producer({"bootstrap.servers": addr, "acks": "all"})
    for i in partitions(p, topic):
        p.produce(topic, value=value.encode(), partition=i)
    left = p.flush(TIMEOUT)
    assert left == 0, f"{left} marks not delivered"


def read(addr, topic, isolation, until="END", timeout=TIMEOUT):
    """{partition: [values before the first `until`]}, read from the start
    with isolation.level=`isolation` ("read_committed"/"read_uncommitted")."""
    c = Consumer(
        {
            "bootstrap.servers": addr,
            "group.id": "reader",
            "isolation.level": isolation,
            "enable.auto.commit": False,
        }
    )
    parts = partitions(c, topic)
    c.assign([TopicPartition(topic, i, OFFSET_BEGINNING) for i in parts])
    got = {i: [] for i in parts}
    waiting = set(parts)
    deadline = time.time() + timeout
    while waiting and time.time() < deadline:
        m = c.poll(0.2)
        if m is None or m.error() or m.partition() not in waiting:
            continue
        v = m.value().decode()
        if v == until:
            waiting.discard(m.partition())
        else:
            got[m.partition()].append(v)
    c.close()
    for i in waiting:
        got[i].append("NO MARK")
    return {str(i): vs for i, vs in got.items()}


def offsets(addr, topic):
    """{partition: {"lso": ListOffsets latest read_committed, "hw": read_uncommitted}}."""
    admin = AdminClient({"bootstrap.servers": addr})
    parts = partitions(admin, topic)
    out = {str(i): {} for i in parts}
    for name, level in (
        ("lso", IsolationLevel.READ_COMMITTED),
        ("hw", IsolationLevel.READ_UNCOMMITTED),
    ):
        asked = {TopicPartition(topic, i): OffsetSpec.latest() for i in parts}
        fs = admin.list_offsets(asked, isolation_level=level, request_timeout=TIMEOUT)
        for tp, f in fs.items():
            out[str(tp.partition)][name] = f.result(TIMEOUT).offset
    return out


def error(call):
    """"ok", or what the KafkaException `call` raised says about itself."""
    try:
        call()
        return "ok"
    except KafkaException as e:
        err = e.args[0]
        return {
            "name": err.name(),
            "fatal": err.fatal(),
            "abortable": err.txn_requires_abort(),
            "text": err.str(),
        }


def both(addr, topic, until="END"):
    return {
        "committed": read(addr, topic, "read_committed", until),
        "uncommitted": read(addr, topic, "read_uncommitted", until),
        "offsets": offsets(addr, topic),
    }


def values(prefix, n):
    return [f"{prefix}{i}" for i in range(n)]


def commit(addr):
    """Ten records over two partitions in one transaction, committed."""
    create(addr, "t-commit", 2)
    p = txn_producer(addr, "tx-commit")
    p.begin_transaction()
    for i in range(10):
        p.produce("t-commit", value=f"c{i}".encode(), partition=i % 2)
    p.commit_transaction(TIMEOUT)
    mark(addr, "t-commit")
    return both(addr, "t-commit")


def abort(addr):
    """Ten records in one transaction, written, then aborted."""
    create(addr, "t-abort", 1)
    p = txn_producer(addr, "tx-abort")
    p.begin_transaction()
    send(p, "t-abort", values("a", 10))
    p.abort_transaction(TIMEOUT)
    mark(addr, "t-abort")
    return both(addr, "t-abort")


def abort_then_commit(addr):
    """One producer: a transaction aborted, then the next committed."""
    create(addr, "t-again", 1)
    p = txn_producer(addr, "tx-again")
    p.begin_transaction()
    send(p, "t-again", values("a", 5))
    p.abort_transaction(TIMEOUT)
    p.begin_transaction()
    send(p, "t-again", values("c", 5))
    p.commit_transaction(TIMEOUT)
    mark(addr, "t-again")
    return both(addr, "t-again")


def fence(addr):
    """A second producer with the same transactional.id fences the first,
    whose open transaction is aborted."""
    create(addr, "t-fence", 1)
    a = txn_producer(addr, "tx-fence")
    a.begin_transaction()
    send(a, "t-fence", values("a", 5))
    b = txn_producer(addr, "tx-fence")
    b.begin_transaction()
    send(b, "t-fence", values("b", 3))
    b.commit_transaction(TIMEOUT)
    first = error(lambda: a.commit_transaction(TIMEOUT))
    again = error(a.begin_transaction)
    mark(addr, "t-fence")
    out = both(addr, "t-fence")
    out["fenced_commit"] = first
    out["begin_after_fenced"] = again
    return out


def timeout(addr):
    """A transaction left open past its transaction.timeout.ms (2000)."""
    create(addr, "t-timeout", 1)
    p = txn_producer(addr, "tx-timeout", **{"transaction.timeout.ms": 2000})
    p.begin_transaction()
    started = time.time()
    send(p, "t-timeout", values("x", 5))
    # A plain record after the open transaction: read_committed consumers
    # must wait for the transaction to end to see it.
    mark(addr, "t-timeout", "after")
    open_offsets = offsets(addr, "t-timeout")
    committed = read(addr, "t-timeout", "read_committed", "after", timeout=30)
    waited = time.time() - started
    log(f"read_committed saw 'after' {waited:.1f}s after the transaction began")
    late_commit = error(lambda: p.commit_transaction(TIMEOUT))
    mark(addr, "t-timeout")
    out = both(addr, "t-timeout")
    out["while_open"] = open_offsets
    out["committed_to_after"] = committed
    out["waited_s"] = waited
    out["late_commit"] = late_commit
    return out


def misuse(addr):
    """What the client says to calls out of order, and that the producer
    works afterwards."""
    create(addr, "t-misuse", 1)
    p = txn_producer(addr, "tx-misuse")
    out = {
        "commit_without_begin": error(lambda: p.commit_transaction(5)),
        "abort_without_begin": error(lambda: p.abort_transaction(5)),
        "produce_outside": error(lambda: p.produce("t-misuse", value=b"outside")),
    }
    p.begin_transaction()
    out["begin_twice"] = error(p.begin_transaction)
    send(p, "t-misuse", ["inside"])
    out["commit"] = error(lambda: p.commit_transaction(TIMEOUT))
    mark(addr, "t-misuse")
    out.update(both(addr, "t-misuse"))
    return out


def committed_offsets(consumer, topic, parts, timeout=TIMEOUT):
    """{partition: committed offset} as `consumer` (its isolation level
    decides OffsetFetch's require_stable) sees them, or the error."""
    try:
        tps = consumer.committed([TopicPartition(topic, i) for i in parts], timeout)
    except KafkaException as e:
        return {"error": e.args[0].name()}
    return {str(tp.partition): tp.offset for tp in tps}


def consume_transform_produce(addr):
    """Reads ctp-in as group `ctp`, writes each value with "!" appended to
    the same partition of ctp-out, and commits the group's offsets in the
    same transaction (send_offsets_to_transaction). The second batch is
    aborted and processed again from the committed offsets."""
    create(addr, "ctp-in", 2)
    create(addr, "ctp-out", 2)
    plain = Producer({"bootstrap.servers": addr, "acks": "all"})
    for i in range(2):
        send(plain, "ctp-in", [f"n{n}" for n in range(20) if n % 2 == i], i)
    group = {
        "bootstrap.servers": addr,
        "group.id": "ctp",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    }
    consumer = Consumer(
        dict(group, **{"isolation.level": "read_committed", "session.timeout.ms": 6000})
    )
    # Observers of the group's offsets that never join it.
    stable = Consumer(dict(group, **{"isolation.level": "read_committed"}))
    unstable = Consumer(dict(group, **{"isolation.level": "read_uncommitted"}))
    consumer.subscribe(["ctp-in"])
    p = txn_producer(addr, "tx-ctp")
    parts = [0, 1]
    previous = {"0": -1001, "1": -1001}
    rounds = []
    done = 0
    deadline = time.time() + 45
    while done < 20 and time.time() < deadline:
        batch = [m for m in consumer.consume(4, 1.0) if not m.error()]
        if not batch:
            continue
        p.begin_transaction()
        for m in batch:
            p.produce("ctp-out", value=m.value() + b"!", partition=m.partition())
        positions = consumer.position(consumer.assignment())
        # A partition with nothing consumed yet (or sought back to its
        # beginning) has a logical position that is not committed.
        sent = {str(tp.partition): tp.offset if tp.offset >= 0 else -1001 for tp in positions}
        p.send_offsets_to_transaction(positions, consumer.consumer_group_metadata(), TIMEOUT)
        p.flush(TIMEOUT)
        r = {
            "values": [m.value().decode() for m in batch],
            "previous": dict(previous),
            "sent": sent,
            "before_end": committed_offsets(unstable, "ctp-in", parts),
        }
        if len(rounds) == 0:
            # With require_stable, a pending offset is not an answer.
            r["before_end_stable"] = committed_offsets(stable, "ctp-in", parts, 3)
        if len(rounds) == 1:
            p.abort_transaction(TIMEOUT)
            r["outcome"] = "abort"
            r["after_end"] = committed_offsets(stable, "ctp-in", parts)
            # Back to the committed offsets, to process the batch again.
            for tp in consumer.committed(consumer.assignment(), TIMEOUT):
                if tp.offset < 0:
                    tp.offset = OFFSET_BEGINNING
                consumer.seek(tp)
        else:
            p.commit_transaction(TIMEOUT)
            r["outcome"] = "commit"
            r["after_end"] = committed_offsets(stable, "ctp-in", parts)
            done += len(batch)
            # Only valid offsets are sent (librdkafka leaves out the others).
            for k, v in sent.items():
                if v >= 0:
                    previous[k] = v
        log("round", json.dumps(r))
        rounds.append(r)
    consumer.close()
    mark(addr, "ctp-out")
    return {
        "rounds": rounds,
        "final": committed_offsets(stable, "ctp-in", parts),
        "committed": read(addr, "ctp-out", "read_committed"),
        "uncommitted": read(addr, "ctp-out", "read_uncommitted"),
    }


def hold_open(addr, topic):
    """For a broker killed mid-transaction: writes 5 records in a
    transaction (timeout 8000 ms), says "open", and waits to be killed."""
    create(addr, topic, 1)
    p = txn_producer(addr, "tx-hold", **{"transaction.timeout.ms": 8000})
    p.begin_transaction()
    send(p, topic, values("h", 5))
    print("open", flush=True)
    time.sleep(120)
    return {}


def commit_and_wait(addr, topic):
    """For a broker killed after a commit: commits 5 records, says
    "committed" once commit_transaction returned, and waits to be killed."""
    create(addr, topic, 1)
    p = txn_producer(addr, "tx-done")
    p.begin_transaction()
    send(p, topic, values("d", 5))
    p.commit_transaction(TIMEOUT)
    print("committed", flush=True)
    time.sleep(120)
    return {}


def read_back(addr, topic):
    """Marks `topic` and reads it both ways."""
    mark(addr, topic)
    return both(addr, topic)


SCENARIOS = {
    "commit": commit,
    "abort": abort,
    "abort-then-commit": abort_then_commit,
    "fence": fence,
    "timeout": timeout,
    "misuse": misuse,
    "consume-transform-produce": consume_transform_produce,
    "hold-open": hold_open,
    "commit-and-wait": commit_and_wait,
    "read-back": read_back,
    "offsets": lambda addr, topic: offsets(addr, topic),
}


def main():
    scenario, addr, *args = sys.argv[1:]
    print(json.dumps(SCENARIOS[scenario](addr, *args)), flush=True)


if __name__ == "__main__":
    main()
