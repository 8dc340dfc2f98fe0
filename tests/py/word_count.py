"""quixstreams' word count against a broker, for the end-to-end tests.

usage: word_count.py BROKER STATE_DIR

Reads lines from topic `lines`, splits them into words, re-keys the stream
by word (`group_by`, through a repartition topic), counts each word in a
state store (kept in RocksDB under STATE_DIR and backed by a compacted
changelog topic) and writes `{"word": w, "count": n}` keyed by the word to
topic `word-counts`. It runs with quixstreams' default at-least-once
guarantee and stops once no message came for 8 seconds; the caller reads
`word-counts` back.
"""

import logging
import sys

from quixstreams import Application


def count(word, state):
    n = state.get("count", 0) + 1
    state.set("count", n)
    return {"word": word, "count": n}


def main():
    broker, state_dir = sys.argv[1:3]
    app = Application(
        broker_address=broker,
        consumer_group="word-count",
        auto_offset_reset="earliest",
        state_dir=state_dir,
        commit_interval=1.0,
        loglevel=logging.INFO,
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
