"""One consumer-group member for the end-to-end tests, as a process of its own.

usage: group_member.py LIBRARY BROKER GROUP TOPIC [PROCESS_MS]

LIBRARY is `confluent` (confluent-kafka, librdkafka) or `kafka-python`. The
member subscribes to TOPIC in GROUP with the range assignor, a 6 s session
timeout and 1 s heartbeats, and no automatic commits. `confluent-848` is
librdkafka with `group.protocol=consumer` (KIP-848): the broker assigns and
sets the session timeout and heartbeat interval. For each record it
"processes" (sleeps PROCESS_MS), prints it, then commits the next offset
synchronously and prints that the commit returned. Lines, flushed as they
happen, each ending with the wall-clock time in milliseconds:

    assigned P,P,...        after every rebalance (empty when none)
    got P OFFSET VALUE      a record was processed
    committed P NEXT        the commit of NEXT for partition P returned
    commit-failed P NEXT    it failed (a rebalance came first)
    closed                  after the consumer committed and left

A line `close` on stdin, or stdin closing, makes it close the consumer
(leave the group) and exit; the tests `kill -9` it to make it vanish.
"""

import sys
import threading
import time


def say(*words):
    print(*words, int(time.time() * 1000), flush=True)


def main():
    lib, broker, group, topic = sys.argv[1:5]
    delay = float(sys.argv[5]) / 1000 if len(sys.argv) > 5 else 0.0
    stop = threading.Event()

    def watch_stdin():
        for line in sys.stdin:
            if line.strip() == "close":
                break
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    if lib in ("confluent", "confluent-848"):
        confluent(broker, group, topic, delay, stop, kip848=lib == "confluent-848")
    elif lib == "kafka-python":
        kafka_python(broker, group, topic, delay, stop)
    else:
        sys.exit(f"unknown library {lib}")
    say("closed")


def confluent(broker, group, topic, delay, stop, kip848):
    from confluent_kafka import Consumer, KafkaException, TopicPartition

    conf = {
        "bootstrap.servers": broker,
        "group.id": group,
        "client.id": "member-confluent",
        "max.poll.interval.ms": 30000,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    }
    if kip848:
        conf["group.protocol"] = "consumer"
    else:
        conf["session.timeout.ms"] = 6000
        conf["heartbeat.interval.ms"] = 1000
        conf["partition.assignment.strategy"] = "range"
    c = Consumer(conf)

    # Eager rebalances revoke everything then assign the new set; KIP-848's
    # are incremental: the callbacks get only what changed.
    owned = set()

    def show():
        say("assigned", ",".join(str(p) for p in sorted(owned)))

    def on_assign(consumer, partitions):
        owned.update(p.partition for p in partitions)
        show()

    def on_revoke(consumer, partitions):
        owned.difference_update(p.partition for p in partitions)
        show()

    c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_revoke)
    while not stop.is_set():
        m = c.poll(0.2)
        if m is None or m.error():
            continue
        time.sleep(delay)
        say("got", m.partition(), m.offset(), m.value().decode())
        nxt = m.offset() + 1
        try:
            c.commit(offsets=[TopicPartition(topic, m.partition(), nxt)], asynchronous=False)
            say("committed", m.partition(), nxt)
        except KafkaException as e:
            say("commit-failed", m.partition(), nxt, str(e).replace(" ", "_"))
    c.close()


def await_join_in_flight():
    """Works around a kafka-python 3.0 bug that strands a group leader.

    ``poll(timeout_ms=200)`` gives up on a JoinGroup the broker holds while
    other members join, leaving the join task in flight, and the next poll
    only awaits it again ``while need_rejoin()``. A rebalance that the
    leader started because metadata changed (its first assignment was made
    before it knew the topic's partitions) sets no rejoin flag; once the
    leader has assigned, its metadata snapshots agree, ``need_rejoin()`` is
    false, and the finished join is never taken up: no assignment, no
    heartbeats, and the broker rightly expires the member after its session
    timeout. Java's client loops on ``rejoinNeededOrPending()``; this makes
    kafka-python do the same (a join left unclaimed is then sent again).
    """
    from kafka.coordinator.consumer import ConsumerCoordinator

    need_rejoin = ConsumerCoordinator.need_rejoin
    if getattr(need_rejoin, "pending_aware", False):
        return

    def need_rejoin_or_pending(self):
        return need_rejoin(self) or getattr(self, "_join_task", None) is not None

    need_rejoin_or_pending.pending_aware = True
    ConsumerCoordinator.need_rejoin = need_rejoin_or_pending


def kafka_python(broker, group, topic, delay, stop):
    from kafka import ConsumerRebalanceListener, KafkaConsumer
    from kafka.coordinator.assignors.range import RangePartitionAssignor
    from kafka.errors import KafkaError
    from kafka.structs import OffsetAndMetadata

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            pass

        def on_partitions_assigned(self, assigned):
            say("assigned", ",".join(str(p.partition) for p in sorted(assigned, key=lambda p: p.partition)))

    await_join_in_flight()
    c = KafkaConsumer(
        bootstrap_servers=broker,
        group_id=group,
        client_id="member-kafka-python",
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
        max_poll_interval_ms=30000,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=10,
        partition_assignment_strategy=[RangePartitionAssignor],
    )
    c.subscribe([topic], listener=Listener())
    while not stop.is_set():
        batch = c.poll(timeout_ms=200)
        for tp, msgs in batch.items():
            for m in msgs:
                time.sleep(delay)
                say("got", m.partition, m.offset, m.value.decode())
                nxt = m.offset + 1
                try:
                    c.commit({tp: OffsetAndMetadata(nxt, None, -1)})
                    say("committed", m.partition, nxt)
                except KafkaError as e:
                    say("commit-failed", m.partition, nxt, type(e).__name__)
                    # The partition may be someone else's now: drop the rest
                    # of the batch; the next poll starts from the group's view.
                    break
    c.close()


if __name__ == "__main__":
    main()
