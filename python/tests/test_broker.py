"""spate.Broker itself: arguments, errors, closing, a directory."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import spate
from helpers import consume, produce

REPO = Path(__file__).resolve().parents[2]


def test_a_busy_port_is_an_oserror_naming_it():
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        with pytest.raises(OSError) as e:
            spate.Broker(port=port)
        assert str(port) in str(e.value)
        assert e.value.errno is not None


def test_a_dir_that_is_a_file_is_not_a_directory(tmp_path):
    f = tmp_path / "file"
    f.write_text("not a directory")
    with pytest.raises(NotADirectoryError, match="is not a directory"):
        spate.Broker(dir=f)


def test_unknown_and_malformed_options_name_themselves():
    with pytest.raises(ValueError, match="no.such.option"):
        spate.Broker(properties={"no.such.option": 1})
    with pytest.raises(ValueError, match="num.partitions"):
        spate.Broker(properties={"num.partitions": "many"})
    with pytest.raises(TypeError, match="prot"):
        spate.Broker(prot=9092)
    with pytest.raises(TypeError, match="not one name"):
        spate.Broker(topics="orders")
    with pytest.raises(ValueError, match="partitions"):
        spate.Broker(topics=[("orders", 0)])
    with pytest.raises(TypeError, match="properties"):
        spate.Broker(properties={"num.partitions": [1]})
    with pytest.raises(ValueError, match="bad name!"):
        spate.Broker(topics=["bad name!"])


def test_closing_twice_is_harmless_and_the_port_is_freed():
    b = spate.Broker(topics={"t": 2})
    port = b.port
    assert not b.closed and "running" in repr(b)
    b.close()
    b.close()
    assert b.closed and "closed" in repr(b)
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0
    # A new broker may take the port at once.
    with spate.Broker(port=port) as again:
        assert again.port == port


def test_brokers_side_by_side_keep_their_own_settings():
    with spate.Broker(auto_create=False) as strict, spate.Broker(properties={"num.partitions": 3}) as loose:
        assert strict.port != loose.port
        assert produce(loose.bootstrap_servers, "auto", [b"x"]) == [0]
        from confluent_kafka.admin import AdminClient

        md = AdminClient({"bootstrap.servers": loose.bootstrap_servers}).list_topics(timeout=10)
        assert len(md.topics["auto"].partitions) == 3
        md = AdminClient({"bootstrap.servers": strict.bootstrap_servers}).list_topics("auto", timeout=10)
        assert md.topics["auto"].error is not None


def test_a_forgotten_close_does_not_hold_up_interpreter_exit():
    script = (
        "import spate, socket\n"
        "b = spate.Broker(topics=['t'])\n"
        "kept = [spate.Broker() for _ in range(2)]\n"
        "s = socket.create_connection(('127.0.0.1', b.port))\n"  # a client still connected
        "print(b.port, flush=True)\n"
    )
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert time.monotonic() - t0 < 10
    assert int(out.stdout) > 0


def test_a_dir_keeps_the_records_for_the_next_broker(tmp_path):
    with spate.Broker(dir=tmp_path / "data", topics=["kept"]) as b:
        assert produce(b.bootstrap_servers, "kept", [b"one", b"two"]) == [0, 1]
    assert (tmp_path / "data" / "kept-0").is_dir()
    with spate.Broker(dir=str(tmp_path / "data")) as b:
        assert consume(b.bootstrap_servers, "kept", 2) == [b"one", b"two"]


def spate_bin():
    path = os.environ.get("SPATE_BIN") or REPO / "target" / "debug" / "spate"
    return Path(path)


@pytest.mark.skipif(not spate_bin().exists(), reason="no spate binary (set SPATE_BIN or build target/debug/spate)")
def test_the_spate_binary_serves_what_a_python_broker_wrote(tmp_path):
    data = tmp_path / "data"
    with spate.Broker(dir=data, topics=[("kept", 2)]) as b:
        produce(b.bootstrap_servers, "kept", [b"a", b"b", b"c"])
    serve = subprocess.Popen(
        [str(spate_bin()), "serve", "--data-dir", str(data), "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = serve.stdout.readline()
        assert line.startswith("listening on "), line
        addr = line.split()[-1]
        assert sorted(consume(addr, "kept", 3)) == [b"a", b"b", b"c"]
    finally:
        serve.terminate()
        serve.wait(10)
