"""Real Python clients over a secured listener, for tests/tests/e2e/sasl.rs.

Usage: secure_clients.py CLIENT BOOTSTRAP TOPIC SETTINGS_JSON

CLIENT is `confluent` (confluent-kafka, librdkafka inside) or
`kafka-python`. SETTINGS_JSON holds the security settings in
librdkafka's names (`security.protocol`, `sasl.mechanism`,
`sasl.username`, `sasl.password`, `ssl.ca.location`,
`ssl.certificate.location`, `ssl.key.location`,
`sasl.oauthbearer.config`); they are translated for kafka-python.

Produces three records to TOPIC, reads them back from the beginning and
prints one JSON line: {"produced": [...offsets], "consumed": [...values]}.
A client that cannot authenticate prints {"error": "..."} and exits 2.
"""

import json
import sys
import time
import uuid


def confluent(bootstrap, topic, settings):
    from confluent_kafka import Consumer, KafkaException, Producer

    base = {"bootstrap.servers": bootstrap, **settings}
    if base.get("sasl.mechanism") == "OAUTHBEARER":
        base["enable.sasl.oauthbearer.unsecure.jwt"] = True
    errors = []
    base["error_cb"] = lambda e: errors.append(str(e))
    p = Producer({**base, "message.timeout.ms": 15000, "acks": "all"})
    offsets = []

    def done(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            offsets.append(msg.offset())

    for i in range(3):
        p.produce(topic, value=f"v{i}".encode(), on_delivery=done)
    # An authentication failure is final: no need to wait for the
    # messages to time out.
    deadline = time.time() + 20
    while len(offsets) < 3 and time.time() < deadline:
        p.poll(0.2)
        if any("uthentication" in e or "_TRANSPORT" in e and "SSL" in e for e in errors):
            break
    if len(offsets) != 3:
        return {"error": "; ".join(errors) or "not delivered"}
    c = Consumer(
        {
            **base,
            "group.id": "g-" + uuid.uuid4().hex,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    c.subscribe([topic])
    values = []
    for _ in range(60):
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            raise KafkaException(m.error())
        values.append(m.value().decode())
        if len(values) >= 3:
            break
    c.close()
    return {"produced": sorted(offsets), "consumed": values}


def kafka_python(bootstrap, topic, settings):
    from kafka import KafkaConsumer, KafkaProducer
    from kafka.errors import KafkaError

    kw = {"bootstrap_servers": bootstrap}
    proto = settings.get("security.protocol", "PLAINTEXT").upper()
    kw["security_protocol"] = proto
    if "sasl.mechanism" in settings:
        kw["sasl_mechanism"] = settings["sasl.mechanism"]
        kw["sasl_plain_username"] = settings.get("sasl.username")
        kw["sasl_plain_password"] = settings.get("sasl.password")
    if "ssl.ca.location" in settings:
        kw["ssl_cafile"] = settings["ssl.ca.location"]
        kw["ssl_check_hostname"] = True
    if "ssl.certificate.location" in settings:
        kw["ssl_certfile"] = settings["ssl.certificate.location"]
        kw["ssl_keyfile"] = settings["ssl.key.location"]
    try:
        p = KafkaProducer(acks="all", **kw)
        offsets = [p.send(topic, f"v{i}".encode()).get(timeout=15).offset for i in range(3)]
        p.close()
        c = KafkaConsumer(
            topic,
            group_id="g-" + uuid.uuid4().hex,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            consumer_timeout_ms=15000,
            **kw,
        )
        values = []
        for m in c:
            values.append(m.value.decode())
            if len(values) >= 3:
                break
        c.close()
    except KafkaError as e:
        return {"error": f"{type(e).__name__}: {e}"}
    return {"produced": sorted(offsets), "consumed": values}


def main():
    client, bootstrap, topic, settings = sys.argv[1:5]
    settings = json.loads(settings)
    run = {"confluent": confluent, "kafka-python": kafka_python}[client]
    out = run(bootstrap, topic, settings)
    print(json.dumps(out), flush=True)
    sys.exit(2 if "error" in out else 0)


if __name__ == "__main__":
    main()
