# confluent-kafka and kafka-python produce and consume over an SSL listener,
# and Python's own TLS client reports the version negotiated with and
# without a TLS 1.2 ceiling.
#
# usage: python3 ssl_clients.py SSL_ADDR CA_PEM TOPIC
import socket
import ssl
import sys

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaConsumer, KafkaProducer

addr, ca, topic = sys.argv[1], sys.argv[2], sys.argv[3]
host, port = addr.rsplit(":", 1)

for cap in (None, ssl.TLSVersion.TLSv1_2):
    ctx = ssl.create_default_context(cafile=ca)
    if cap is not None:
        ctx.maximum_version = cap
    with socket.create_connection((host, int(port))) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            print("negotiated", s.version())

conf = {"bootstrap.servers": addr, "security.protocol": "ssl", "ssl.ca.location": ca}
admin = AdminClient(conf)
for f in admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)]).values():
    f.result()
p = Producer(conf)
for i in range(10):
    p.produce(topic, value=f"ck{i}".encode())
assert p.flush(30) == 0
c = Consumer({**conf, "group.id": "g-ck", "auto.offset.reset": "earliest"})
c.subscribe([topic])
got = []
while len(got) < 10:
    m = c.poll(30)
    assert m is not None, f"confluent-kafka got {got}"
    if m.error():
        raise SystemExit(str(m.error()))
    got.append(m.value().decode())
c.close()
print("confluent got", len(got), got[0], got[-1])

# kafka-python, with TLS 1.2 at most.
ctx = ssl.create_default_context(cafile=ca)
ctx.maximum_version = ssl.TLSVersion.TLSv1_2
kp = KafkaProducer(bootstrap_servers=addr, security_protocol="SSL", ssl_context=ctx)
for i in range(10):
    kp.send(topic, f"kp{i}".encode())
kp.flush(30)
kp.close()
kc = KafkaConsumer(
    topic,
    bootstrap_servers=addr,
    security_protocol="SSL",
    ssl_context=ctx,
    auto_offset_reset="earliest",
    consumer_timeout_ms=15000,
)
values = [m.value.decode() for m in kc]
kc.close()
print("kafka-python got", len(values), sorted(v for v in values if v.startswith("kp"))[-1])
