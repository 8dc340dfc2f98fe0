"""Kafka transactions driven with kafka-python, for tests/tests/e2e/transactions.rs.

usage: txn_kafka_python.py BROKER

One transactional producer writes c0..c4 (committed), a0..a4 (aborted) and
c5..c9 (committed) to the one partition of topic kp-txn; a plain producer
then appends END. Prints, as one JSON line, the values before END read
with isolation_level read_committed and read_uncommitted.
"""

import json
import sys
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

TOPIC = "kp-txn"


def send(p, prefix, numbers):
    for i in numbers:
        p.send(TOPIC, value=f"{prefix}{i}".encode(), partition=0)
    p.flush(timeout=20)


def read(addr, isolation):
    c = KafkaConsumer(
        bootstrap_servers=addr,
        isolation_level=isolation,
        enable_auto_commit=False,
        consumer_timeout_ms=1000,
    )
    tp = TopicPartition(TOPIC, 0)
    c.assign([tp])
    c.seek_to_beginning(tp)
    got = []
    deadline = time.time() + 20
    while time.time() < deadline:
        for m in c:
            v = m.value.decode()
            if v == "END":
                c.close()
                return got
            got.append(v)
    c.close()
    return got + ["NO MARK"]


def main():
    addr = sys.argv[1]
    admin = KafkaAdminClient(bootstrap_servers=addr)
    admin.create_topics([NewTopic(TOPIC, 1, 1)])
    p = KafkaProducer(
        bootstrap_servers=addr,
        transactional_id="tx-kafka-python",
        enable_idempotence=True,
        max_block_ms=20000,
    )
    p.init_transactions()
    p.begin_transaction()
    send(p, "c", range(5))
    p.commit_transaction()
    p.begin_transaction()
    send(p, "a", range(5))
    p.abort_transaction()
    p.begin_transaction()
    send(p, "c", range(5, 10))
    p.commit_transaction()
    p.close()
    plain = KafkaProducer(bootstrap_servers=addr, acks="all")
    plain.send(TOPIC, value=b"END", partition=0)
    plain.flush(timeout=20)
    plain.close()
    out = {
        "committed": read(addr, "read_committed"),
        "uncommitted": read(addr, "read_uncommitted"),
    }
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
