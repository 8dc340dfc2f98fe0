"""pytest fixtures for a Kafka-compatible broker (registered through the
``pytest11`` entry point when ``spate`` is installed).

- ``kafka_broker``: a fresh in-memory broker for each test, closed after it.
- ``kafka_broker_session``: one broker for the whole session; tests that
  share it should use topic names of their own.

Both auto-create topics and start consumer groups at once
(``group.initial.rebalance.delay.ms=0``). For other settings, start a
``spate.Broker`` yourself in a fixture of your own.
"""

from typing import Iterator

import pytest

from . import Broker


@pytest.fixture
def kafka_broker() -> Iterator[Broker]:
    """A broker of this test's own, in memory; closed after the test."""
    with Broker() as broker:
        yield broker


@pytest.fixture(scope="session")
def kafka_broker_session() -> Iterator[Broker]:
    """One broker shared by every test of the session."""
    with Broker() as broker:
        yield broker
