"""Client helpers shared by the tests: every wait is bounded, none sleeps
for a fixed time."""

import time
import uuid
from typing import List, Optional

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition


def unique(prefix: str) -> str:
    """A topic or group name no other test uses (for the session broker)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def produce(bootstrap: str, topic: str, values: List[bytes], **config) -> List[int]:
    """Produces `values` with confluent-kafka (librdkafka); their offsets.
    Raises if one is not delivered."""
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, **config})
    offsets: List[int] = []
    errors = []

    def done(err, msg):
        if err is not None:
            errors.append(err)
        else:
            offsets.append(msg.offset())

    for v in values:
        p.produce(topic, v, callback=done)
    left = p.flush(15)
    if errors or left:
        raise KafkaException(errors[0] if errors else f"{left} messages not delivered")
    return offsets


def consume(bootstrap: str, topic: str, n: int, group: Optional[str] = None, timeout: float = 20) -> List[bytes]:
    """Consumes `n` values of `topic` from the beginning with confluent-kafka:
    as a member of consumer group `group`, or with no group (every partition
    assigned) when None."""
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group or unique("g"),
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    if group is None:
        parts = c.list_topics(topic, timeout=10).topics[topic].partitions
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
    else:
        c.subscribe([topic])
    got: List[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while len(got) < n and time.monotonic() < deadline:
            m = c.poll(0.2)
            if m is None:
                continue
            if m.error():
                raise KafkaException(m.error())
            got.append(m.value())
        if group is not None:
            c.commit(asynchronous=False)
    finally:
        c.close()
    return got
