"""An idempotent confluent-kafka producer with acks=all that writes to
every partition of a topic for a while and says which records were
acknowledged where, for tests/tests/e2e/cluster_faults.rs.

Usage: fault_producer.py BOOTSTRAP TOPIC PARTITIONS SECONDS NAME [PAUSE_MS]

Writes records with values "NAME-0", "NAME-1", ... to partitions 0 to
PARTITIONS-1 in turn, PAUSE_MS apart (default 10), for SECONDS seconds,
then waits for every record to settle. Prints "acked P OFFSET VALUE" for
every acknowledged record and "failed P VALUE ERROR" for every record
given up on, then "done SENT" once everything is settled (or
"unsettled N" first when some never were).
"""

import sys
import time

from confluent_kafka import Producer


def main():
    bootstrap, topic = sys.argv[1], sys.argv[2]
    partitions, seconds, name = int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
    pause = (int(sys.argv[6]) if len(sys.argv) > 6 else 10) / 1000
    p = Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            # Long enough to outlast any fault of the run and its healing.
            "message.timeout.ms": 300000,
            "request.timeout.ms": 10000,
            "retry.backoff.ms": 200,
            "topic.metadata.refresh.interval.ms": 1000,
        }
    )

    def report(err, msg):
        v = msg.value().decode()
        if err is None:
            print(f"acked {msg.partition()} {msg.offset()} {v}", flush=True)
        else:
            print(f"failed {msg.partition()} {v} {err}", flush=True)

    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        p.produce(topic, value=f"{name}-{i}".encode(), partition=i % partitions, on_delivery=report)
        i += 1
        p.poll(0)
        time.sleep(pause)
    left = p.flush(330)
    if left:
        print(f"unsettled {left}", flush=True)
    print(f"done {i}", flush=True)


if __name__ == "__main__":
    main()
