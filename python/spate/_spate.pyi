"""Type stubs for the native module (src/lib.rs); ``spate`` re-exports it."""

import os
from types import TracebackType
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Type, Union, final

__all__ = ["Broker", "Cluster", "__version__"]
__version__: str

_TopicSpec = Union[str, Tuple[str, int]]
_PropertyValue = Union[str, int, float, bool]

@final
class Broker:
    """A Kafka-compatible broker running inside this process.

    Starting it returns once it takes connections and ``topics`` exist.
    ``dir=None`` keeps the logs in memory; a path keeps them there, in
    Kafka's log layout (``spate serve --data-dir`` opens it too).
    Raises ``OSError`` for a busy port (``NotADirectoryError`` for a ``dir``
    that is a file), ``ValueError`` for an unknown or malformed property
    or a topic Kafka would refuse, ``TypeError`` for an argument of the
    wrong type.

    ``Cluster.broker(id)`` returns one too: a broker of that cluster, with
    the same controls, that runs and stops with the cluster.
    """

    def __new__(
        cls,
        topics: Union[Iterable[_TopicSpec], Mapping[str, int], None] = None,
        *,
        auto_create: bool = True,
        dir: Union[str, "os.PathLike[str]", None] = None,
        host: Optional[str] = None,
        port: int = 0,
        properties: Optional[Mapping[str, _PropertyValue]] = None,
        observe: bool = False,
        virtual_clock: Union[bool, int, None] = None,
    ) -> "Broker": ...
    @property
    def bootstrap_servers(self) -> str:
        """``"HOST:PORT"``, for a client's ``bootstrap.servers``."""
    @property
    def port(self) -> int:
        """The port it listens on."""
    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called (for a cluster's broker, the
        cluster's)."""
    def close(self) -> None:
        """Stops the broker (answers what it received, flushes the logs);
        calling it again does nothing. A cluster's broker raises
        ``RuntimeError``: it stops with ``Cluster.close()``."""
    def __enter__(self) -> "Broker": ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> bool: ...
    def inject_error(
        self,
        api: Union[str, int],
        error: Union[str, int],
        count: int = 1,
        *,
        topic: Optional[str] = None,
        partition: Optional[int] = None,
    ) -> None:
        """Answers the next ``count`` requests of ``api`` (``"Produce"``),
        those naming ``topic`` / ``partition`` when given, with ``error``
        (``"NOT_LEADER_OR_FOLLOWER"``) in a real response; they are not
        carried out."""
    def fail_appends(self, count: int = 1, *, topic: Optional[str] = None) -> None:
        """Fails the next ``count`` produce appends (to ``topic`` only,
        when given), answered KAFKA_STORAGE_ERROR."""
    def delay(self, api: Union[str, int], seconds: float, count: Optional[int] = None) -> None:
        """Holds the next ``count`` requests of ``api`` (all until
        ``clear_faults()`` when None) ``seconds`` before the broker sees them."""
    def drop_connection(self, api: Union[str, int], count: int = 1) -> None:
        """Closes the connection of each of the next ``count`` requests of
        ``api``, unanswered."""
    def clear_faults(self) -> None:
        """Disarms every fault."""
    def observe(self, on: bool = True) -> None:
        """Starts (or stops) recording every request for ``observed()``."""
    def observed(self) -> List[Dict[str, Any]]:
        """The requests recorded since the last call, oldest first, decoded:
        ``{"api", "version", "header", "body", "conn"}``."""
    def now_ms(self) -> int:
        """The broker's time, in ms since the Unix epoch."""
    def advance(self, seconds: float) -> None:
        """Moves a virtual clock (``virtual_clock=True``) forward and
        returns once what then fell due has been done."""

@final
class Cluster:
    """Several brokers (ids 1 to ``brokers``) of one ZooKeeper-mode cluster
    inside this process, over the ZooKeeper at ``zookeeper``
    (``host:port[/chroot]``; a server the caller runs).

    Starting it returns once every broker sees all of them and a
    controller, and every partition of ``topics`` has a leader, with
    ``replication_factor`` replicas (default: the number of brokers, at
    most 3). ``move_leader`` moves a partition's leader as an operator does
    in Kafka: a reassignment with the new leader first, then a preferred
    leader election."""

    def __init__(
        self,
        zookeeper: str,
        brokers: int = 3,
        topics: Optional[Union[Iterable[_TopicSpec], Mapping[str, int]]] = None,
        *,
        replication_factor: Optional[int] = None,
        properties: Optional[Mapping[str, _PropertyValue]] = None,
    ) -> None: ...
    @property
    def bootstrap_servers(self) -> str:
        """Every broker's ``"HOST:PORT"``, comma-separated."""
    @property
    def ids(self) -> List[int]:
        """The brokers' ids."""
    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
    def broker(self, id: int) -> Broker:
        """Broker ``id`` of the cluster, with every fault control and
        ``observe`` of ``Broker`` (``inject_error`` on the leader alone,
        ...); ``ValueError`` for an id the cluster has not."""
    def leader(self, topic: str, partition: int) -> int:
        """The leader of ``partition`` of ``topic``, as the controller says."""
    def move_leader(self, topic: str, partition: int, to: int) -> None:
        """Makes broker ``to`` the leader of ``partition`` of ``topic`` and
        returns once every broker says so."""
    def close(self) -> None:
        """Stops every broker; again, a no-op."""
    def __enter__(self) -> "Cluster": ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> bool: ...
