from confluent_kafka import Consumer, Producer


def test_a_message_goes_in_and_comes_out(kafka_broker):
    producer = Producer({"bootstrap.servers": kafka_broker.bootstrap_servers})
    producer.produce("greetings", b"hello")
    assert producer.flush(10) == 0
    consumer = Consumer({"bootstrap.servers": kafka_broker.bootstrap_servers, "group.id": "readers", "auto.offset.reset": "earliest"})
    consumer.subscribe(["greetings"])
    message = consumer.poll(10)
    assert message is not None and message.value() == b"hello"
    consumer.close()
