"""The pytest plugin's fixtures, and the README's example."""

import re
from pathlib import Path

import spate
from helpers import produce, unique

PACKAGE = Path(__file__).resolve().parents[1]


def test_kafka_broker_is_a_fresh_broker_per_test(kafka_broker):
    assert isinstance(kafka_broker, spate.Broker) and not kafka_broker.closed
    assert produce(kafka_broker.bootstrap_servers, "mine", [b"x"]) == [0]


def test_kafka_broker_again_starts_empty(kafka_broker):
    # Another broker than the previous test's: "mine" starts at offset 0 again.
    assert produce(kafka_broker.bootstrap_servers, "mine", [b"y"]) == [0]


def test_kafka_broker_session_is_shared(kafka_broker_session, request):
    again = request.getfixturevalue("kafka_broker_session")
    assert again is kafka_broker_session
    topic = unique("shared")
    assert produce(kafka_broker_session.bootstrap_servers, topic, [b"1", b"2"]) == [0, 1]


def test_the_plugin_is_registered_by_its_entry_point(pytestconfig):
    plugin = pytestconfig.pluginmanager.get_plugin("spate")
    assert plugin is not None and plugin.__name__ == "spate.pytest_plugin"


def test_the_readme_example_is_test_example_py():
    readme = (PACKAGE / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    example = (PACKAGE / "tests" / "test_example.py").read_text()
    assert example in blocks, "README.md's example differs from tests/test_example.py"
    assert len(example.strip().splitlines()) <= 13
