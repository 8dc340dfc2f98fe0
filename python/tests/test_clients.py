"""Real clients against spate.Broker over TCP: confluent-kafka (librdkafka)
and kafka-python, producing, consuming in a group and administering."""

import time

from confluent_kafka import OFFSET_INVALID, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic as KpNewTopic

import spate
from helpers import consume, produce


def test_confluent_produces_and_consumes_in_a_group_and_commits():
    with spate.Broker(topics=[("orders", 3)], auto_create=False) as b:
        assert b.bootstrap_servers == f"127.0.0.1:{b.port}"
        values = [f"order {i}".encode() for i in range(10)]
        assert len(produce(b.bootstrap_servers, "orders", values)) == 10
        got = consume(b.bootstrap_servers, "orders", 10, group="billing")
        assert sorted(got) == sorted(values)
        # The group's offsets were committed: each partition's end (10
        # records over 3 partitions). A partition the sticky partitioner
        # left empty may have no commit at all (OFFSET_INVALID).
        c = Consumer({"bootstrap.servers": b.bootstrap_servers, "group.id": "billing"})
        committed = c.committed([TopicPartition("orders", p) for p in range(3)], timeout=10)
        ends = [c.get_watermark_offsets(tp, timeout=10)[1] for tp in committed]
        c.close()
        assert sum(ends) == 10, ends
        for tp, end in zip(committed, ends):
            assert tp.offset == end or (tp.offset == OFFSET_INVALID and end == 0), (committed, ends)


def test_confluent_admin_creates_lists_and_deletes_topics():
    with spate.Broker() as b:
        admin = AdminClient({"bootstrap.servers": b.bootstrap_servers})
        for f in admin.create_topics([NewTopic("made", num_partitions=4, replication_factor=1)]).values():
            f.result(10)
        md = admin.list_topics(timeout=10)
        assert len(md.topics["made"].partitions) == 4
        assert md.brokers and next(iter(md.brokers.values())).port == b.port
        for f in admin.delete_topics(["made"]).values():
            f.result(10)
        assert "made" not in admin.list_topics(timeout=10).topics


def test_kafka_python_produces_consumes_and_administers():
    with spate.Broker(properties={"num.partitions": 2}) as b:
        admin = KafkaAdminClient(bootstrap_servers=b.bootstrap_servers)
        admin.create_topics([KpNewTopic("events", num_partitions=2, replication_factor=1)])
        assert "events" in admin.list_topics()
        admin.close()
        producer = KafkaProducer(bootstrap_servers=b.bootstrap_servers)
        metas = [producer.send("events", key=b"k", value=f"e{i}".encode()).get(10) for i in range(5)]
        producer.close()
        # One key, one partition, offsets in order.
        assert [m.offset for m in metas] == list(range(5))
        consumer = KafkaConsumer(
            "events",
            bootstrap_servers=b.bootstrap_servers,
            group_id="readers",
            auto_offset_reset="earliest",
            consumer_timeout_ms=10_000,
        )
        got = []
        deadline = time.monotonic() + 20
        while len(got) < 5 and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=200).values():
                got += [r.value for r in records]
        consumer.commit()
        consumer.close()
        assert got == [f"e{i}".encode() for i in range(5)]
