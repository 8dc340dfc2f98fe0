"""quixstreams' word count with processing_guarantee="exactly-once", for
tests/tests/e2e/transactions.rs.

usage: word_count_eos.py BROKER STATE_DIR

The word count of word_count.py (lines -> words -> group_by word through a
repartition topic -> a count per word in a state store -> `word-counts`),
run with exactly-once processing: the consumers read with read_committed
and each checkpoint (every second) commits the output records, the
changelog records and the consumed offsets in one Kafka transaction. The
transactional.id is fixed, so a restarted application fences the one
killed before it and aborts its open transaction. Each word takes a few
milliseconds, so that the test can kill the application part way; each
count is printed ("counted WORD N") as it is made, before it is committed.
It stops once no message came for 8 seconds.
"""

import logging
import sys
import time

from quixstreams import Application


def count(word, state):
    time.sleep(0.004)
    n = state.get("count", 0) + 1
    state.set("count", n)
    print(f"counted {word} {n}", flush=True)
    return {"word": word, "count": n}


def main():
    broker, state_dir = sys.argv[1:3]
    app = Application(
        broker_address=broker,
        consumer_group="word-count-eos",
        auto_offset_reset="earliest",
        state_dir=state_dir,
        commit_interval=1.0,
        processing_guarantee="exactly-once",
        loglevel=logging.INFO,
        producer_extra_config={
            "transactional.id": "word-count-eos",
            "transaction.timeout.ms": 10000,
        },
        consumer_extra_config={"session.timeout.ms": 6000, "heartbeat.interval.ms": 1000},
    )
    lines = app.topic("lines", value_deserializer="str")
    counts = app.topic("word-counts", key_serializer="str", value_serializer="json")
    sdf = app.dataframe(lines)
    sdf = sdf.apply(lambda line: line.lower().split(), expand=True)
    sdf = sdf.group_by(lambda word: word, name="word")
    sdf = sdf.apply(count, stateful=True)
    sdf.to_topic(counts)
    app.run(timeout=8.0)


if __name__ == "__main__":
    main()
