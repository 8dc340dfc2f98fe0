"""spate.Cluster: three brokers of one cluster in this process over a real
ZooKeeper, a partition's leader moved under a confluent-kafka producer."""

import pytest
from confluent_kafka import Producer

import spate

from helpers import consume
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
