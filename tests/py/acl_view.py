"""What a SASL user sees and may do, for tests/tests/e2e/sasl.rs (ACLs).

Usage: acl_view.py BOOTSTRAP SETTINGS_JSON TOPIC...

Prints one JSON line: {"listed": [topics Metadata lists], "read": {TOPIC:
"ok" | ERROR_NAME}} where each TOPIC is read from the beginning with a
fresh group under `g-` (confluent-kafka).
"""

import json
import sys
import uuid

from confluent_kafka import Consumer, KafkaError
from confluent_kafka.admin import AdminClient


def main():
    bootstrap, settings, topics = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3:]
    base = {"bootstrap.servers": bootstrap, **settings}
    md = AdminClient(base).list_topics(timeout=15)
    listed = sorted(t for t in md.topics if not t.startswith("__"))
    read = {}
    for topic in topics:
        c = Consumer({**base, "group.id": "g-" + uuid.uuid4().hex, "auto.offset.reset": "earliest",
                      "enable.auto.commit": False})
        c.subscribe([topic])
        got = "none"
        for _ in range(30):
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    continue
                got = m.error().name()
                break
            got = "ok"
            break
        c.close()
        read[topic] = got
    print(json.dumps({"listed": listed, "read": read}), flush=True)


if __name__ == "__main__":
    main()
