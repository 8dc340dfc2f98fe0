"""spate.Cluster: three brokers of one cluster in this process over a real
ZooKeeper, a partition's leader moved under a confluent-kafka producer, and
one broker's own faults (``Cluster.broker(id)``) seen by the producer."""

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

import spate

from helpers import consume, produce
from zookeeper import ZooKeeper


@pytest.fixture(scope="module")
def zookeeper():
    zk = ZooKeeper()
    yield zk
    zk.stop()


def test_a_producer_follows_a_moved_leader(zookeeper):
    with spate.Cluster(f"{zookeeper.connect}/py-move", 3, [("moving", 1)], replication_factor=2) as c:
        assert c.ids == [1, 2, 3]
        assert len(c.bootstrap_servers.split(",")) == 3
        p = Producer({"bootstrap.servers": c.bootstrap_servers, "acks": "all",
                      "enable.idempotence": True, "linger.ms": 5})
        errors = []

        def lot(start):
            for n in range(start, start + 100):
                p.produce("moving", str(n).encode(), partition=0,
                          on_delivery=lambda err, msg: err and errors.append(err))
            assert p.flush(60) == 0
            assert errors == []

        lot(0)
        first = c.leader("moving", 0)
        other = next(b for b in c.ids if b != first)
        c.move_leader("moving", 0, other)
        assert c.leader("moving", 0) == other
        lot(100)
        # The broker that was no replica takes over.
        third = next(b for b in c.ids if b not in (first, other))
        c.move_leader("moving", 0, third)
        assert c.leader("moving", 0) == third
        lot(200)
        got = consume(c.bootstrap_servers, "moving", 300, timeout=30)
        assert got == [str(n).encode() for n in range(300)]
        with pytest.raises(ValueError, match="no broker 9"):
            c.move_leader("moving", 0, 9)
    assert c.closed
    c.close()
    with pytest.raises(RuntimeError, match="closed"):
        c.leader("moving", 0)


def test_bad_arguments_are_errors():
    with pytest.raises(ValueError, match="needs ZooKeeper"):
        spate.Cluster("")
    with pytest.raises(ValueError, match="at least one broker"):
        spate.Cluster("127.0.0.1:1", 0)
    with pytest.raises(ValueError, match="replication factor 3 with 2 brokers"):
        spate.Cluster("127.0.0.1:1", 2, replication_factor=3)
    with pytest.raises(OverflowError):
        spate.Cluster("127.0.0.1:1", -1)


def test_the_leaders_own_fault_is_retried_through(zookeeper):
    with spate.Cluster(f"{zookeeper.connect}/py-faults", 3, [("faulty", 1)], replication_factor=2) as c:
        leader = c.broker(c.leader("faulty", 0))
        assert isinstance(leader, spate.Broker)
        assert leader.bootstrap_servers in c.bootstrap_servers.split(",")
        assert not leader.closed
        others = [c.broker(b) for b in c.ids if b != c.leader("faulty", 0)]
        for b in [leader, *others]:
            b.observe()
        leader.inject_error("Produce", "NOT_LEADER_OR_FOLLOWER", count=2, topic="faulty")
        values = [str(n).encode() for n in range(20)]
        # One batch (linger), refused twice by the leader, then carried out.
        offsets = produce(c.bootstrap_servers, "faulty", values, acks="all",
                          **{"enable.idempotence": True, "linger.ms": 50, "retry.backoff.ms": 20})
        assert sorted(offsets) == list(range(20))
        produces = [r for r in leader.observed() if r["api"] == "Produce"]
        sent = [rec["value"]
                for r in produces
                for t in r["body"]["topic_data"]
                for p in t["partition_data"]
                for batch in p["records"]
                for rec in batch["records"]]
        # Every value went to the leader, some more than once: the retries.
        assert len(produces) >= 3, produces
        assert set(sent) == {v.decode() for v in values} and len(sent) > len(values), sent
        for b in others:
            assert [r for r in b.observed() if r["api"] == "Produce"] == []
        # Each message once, in order, and nothing more.
        assert consume(c.bootstrap_servers, "faulty", 20, timeout=30) == values
        k = Consumer({"bootstrap.servers": c.bootstrap_servers, "group.id": "watermarks"})
        assert k.get_watermark_offsets(TopicPartition("faulty", 0), timeout=10) == (0, 20)
        k.close()


def test_a_broker_of_a_cluster(zookeeper):
    c = spate.Cluster(f"{zookeeper.connect}/py-one", 1)
    with pytest.raises(ValueError, match=r"no broker 2 in this cluster \(its ids: \[1\]\)"):
        c.broker(2)
    b = c.broker(1)
    assert repr(b).startswith("<spate.Broker 1 of a cluster, 127.0.0.1:") and repr(b).endswith(" running>")
    b.clear_faults()
    with pytest.raises(RuntimeError, match="stops with Cluster.close"):
        b.close()
    assert not b.closed
    c.close()
    assert b.closed
    with pytest.raises(RuntimeError, match="the cluster is closed"):
        b.inject_error("Produce", "NOT_LEADER_OR_FOLLOWER")
