"""A Kafka-compatible broker inside this Python process, for tests.

``spate.Broker`` starts Spate's broker (written in Rust) on a free port of
127.0.0.1, in memory or in a directory, on threads of its own; any Kafka
client (confluent-kafka, kafka-python, aiokafka, ...) talks to it over real
TCP at ``broker.bootstrap_servers``. Faults (error answers, failed appends,
delays, dropped connections) and the requests a client sent are at hand for
tests. The pytest plugin (``spate.pytest_plugin``) adds the ``kafka_broker``
and ``kafka_broker_session`` fixtures. ``spate.Cluster`` runs several
brokers of one cluster over a ZooKeeper the caller runs, moves a
partition's leader between them, and gives each broker's own faults
(``cluster.broker(id)``, a ``spate.Broker``).
"""

from ._spate import Broker, Cluster, __version__

__all__ = ["Broker", "Cluster", "__version__"]
