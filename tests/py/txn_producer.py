"""A confluent-kafka transactional producer that tests/tests/e2e/transactions_cli.rs
drives through stdin.

Usage: txn_producer.py BROKER TRANSACTIONAL_ID TOPIC PARTITION:COUNT...

Initialises its transactional id (transaction.timeout.ms 300000), begins a
transaction, writes COUNT records to each PARTITION (values
"TRANSACTIONAL_ID PARTITION I"), waits for them to be acknowledged and
prints "open". Then each line on stdin: "commit" commits and prints
"committed", "abort" aborts and prints "aborted". It ends at the end of
stdin (or when the test kills it, leaving the transaction open).
"""

import sys

from confluent_kafka import Producer


def main():
    broker, tid, topic = sys.argv[1:4]
    parts = [tuple(int(x) for x in a.split(":")) for a in sys.argv[4:]]
    p = Producer(
        {
            "bootstrap.servers": broker,
            "transactional.id": tid,
            "transaction.timeout.ms": 300000,
            "linger.ms": 0,
        }
    )
    p.init_transactions(30)
    p.begin_transaction()
    for part, count in parts:
        for i in range(count):
            p.produce(topic, value=f"{tid} {part} {i}".encode(), partition=part)
    left = p.flush(30)
    if left:
        sys.exit(f"{left} records not acknowledged")
    print("open", flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "commit":
            p.commit_transaction(30)
            print("committed", flush=True)
        elif cmd == "abort":
            p.abort_transaction(30)
            print("aborted", flush=True)


if __name__ == "__main__":
    main()
