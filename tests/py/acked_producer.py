"""An idempotent confluent-kafka producer with acks=all that says which
records were acknowledged, for tests/tests/e2e/cluster_failover.rs.

Usage: acked_producer.py BOOTSTRAP TOPIC COUNT [PAUSE_MS]

Writes COUNT records to partition 0 of TOPIC, values "0", "1", ... in
order, PAUSE_MS apart (default 5), with enable.idempotence (so acks=all
and retries through a leader change). Prints "acked I OFFSET" for every
acknowledged record and "failed I ERROR" for every record given up on,
then "done" once everything is settled.
"""

import sys
import time

from confluent_kafka import Producer


def main():
    bootstrap, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    pause = (int(sys.argv[4]) if len(sys.argv) > 4 else 5) / 1000
    p = Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 0,
            "message.timeout.ms": 120000,
            "request.timeout.ms": 10000,
            "retry.backoff.ms": 200,
            "topic.metadata.refresh.interval.ms": 1000,
        }
    )

    def report(err, msg):
        i = msg.value().decode()
        if err is None:
            print(f"acked {i} {msg.offset()}", flush=True)
        else:
            print(f"failed {i} {err}", flush=True)

    for i in range(count):
        p.produce(topic, value=str(i).encode(), partition=0, on_delivery=report)
        p.poll(0)
        time.sleep(pause)
    left = p.flush(180)
    if left:
        print(f"unsettled {left}", flush=True)
    print("done", flush=True)


if __name__ == "__main__":
    main()
