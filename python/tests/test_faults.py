"""The fault controls, seen by real clients."""

import time

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer
from kafka import KafkaProducer
from kafka.errors import KafkaError as KpError

import spate
from helpers import consume, produce


def test_a_retriable_error_twice_and_librdkafka_still_delivers():
    with spate.Broker(topics=["orders"], observe=True) as b:
        b.inject_error("Produce", "NOT_LEADER_OR_FOLLOWER", count=2, topic="orders")
        # Retries on the client's default settings (retries, backoff).
        assert produce(b.bootstrap_servers, "orders", [b"paid"], **{"retry.backoff.ms": 20}) == [0]
        produces = [r for r in b.observed() if r["api"] == "Produce"]
        # Two answered with the error, the third carried out, all the same record.
        assert len(produces) == 3, produces
        for r in produces:
            (topic,) = r["body"]["topic_data"]
            batch = topic["partition_data"][0]["records"][0]
            assert topic["name"] == "orders" and batch["records"][0]["value"] == "paid"
        assert b.observed() == []  # drained
        assert consume(b.bootstrap_servers, "orders", 1) == [b"paid"]


def test_an_error_for_one_topic_leaves_the_others_alone():
    with spate.Broker(topics=["a", "b"]) as b:
        b.inject_error("Produce", "TOPIC_AUTHORIZATION_FAILED", topic="a")
        assert produce(b.bootstrap_servers, "b", [b"fine"]) == [0]
        with pytest.raises(KafkaException) as e:
            produce(b.bootstrap_servers, "a", [b"refused"])
        assert e.value.args[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_failed_appends_are_storage_errors_to_kafka_python():
    with spate.Broker(topics=["t"]) as b:
        b.fail_appends(1, topic="t")
        p = KafkaProducer(bootstrap_servers=b.bootstrap_servers, retries=0)
        with pytest.raises(KpError) as e:
            p.send("t", b"lost").get(10)
        assert "KafkaStorageError" in type(e.value).__name__ or "STORAGE" in str(e.value).upper()
        # The next append works.
        assert p.send("t", b"kept").get(10).offset == 0
        p.close()


def test_a_delay_holds_the_answer_and_clear_faults_ends_it():
    with spate.Broker(topics=["t"]) as b:
        p = Producer({"bootstrap.servers": b.bootstrap_servers, "linger.ms": 0})
        p.list_topics(timeout=10)  # connected, metadata known
        b.delay("Produce", 0.3)
        t0 = time.monotonic()
        p.produce("t", b"late")
        assert p.flush(10) == 0
        assert time.monotonic() - t0 >= 0.3
        b.clear_faults()
        t0 = time.monotonic()
        p.produce("t", b"on time")
        assert p.flush(10) == 0
        assert time.monotonic() - t0 < 0.3


def test_a_dropped_connection_and_the_client_reconnects():
    with spate.Broker(topics=["t"], observe=True) as b:
        b.drop_connection("Metadata")
        # librdkafka's first Metadata request loses its connection; it
        # reconnects, asks again and delivers.
        assert produce(b.bootstrap_servers, "t", [b"x"]) == [0]
        seen = b.observed()
        # The dropped request never reached the broker: it is not observed.
        assert {r["api"] for r in seen} >= {"ApiVersions", "Metadata", "Produce"}
        assert len({r["conn"] for r in seen}) >= 2


def test_a_virtual_clock_moves_only_when_advanced():
    start = 1_700_000_000_000
    with spate.Broker(virtual_clock=start) as b:
        assert b.now_ms() == start
        b.advance(2.5)
        assert b.now_ms() == start + 2500
    with spate.Broker() as b, pytest.raises(ValueError, match="wall clock"):
        b.advance(1)


def test_controls_refuse_bad_names_and_values():
    with spate.Broker() as b:
        with pytest.raises(ValueError, match="Prodce"):
            b.inject_error("Prodce", "NOT_LEADER_OR_FOLLOWER")
        with pytest.raises(ValueError, match="NO_SUCH_ERROR"):
            b.inject_error("Produce", "NO_SUCH_ERROR")
        with pytest.raises(ValueError, match="Fetchh"):
            b.delay("Fetchh", 0.1)
        with pytest.raises(ValueError, match="seconds"):
            b.delay("Fetch", -1)
        with pytest.raises(TypeError, match="api"):
            b.drop_connection(3.5)
        with pytest.raises(OverflowError):
            b.fail_appends(-1)
        # Numbers work as well as names.
        b.inject_error(0, 6)
        b.delay(1, 0.01, count=1)
    with pytest.raises(RuntimeError, match="closed"):
        b.inject_error("Produce", "NOT_LEADER_OR_FOLLOWER")
    with pytest.raises(RuntimeError, match="closed"):
        b.observed()
