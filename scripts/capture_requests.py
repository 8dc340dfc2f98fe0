#!/usr/bin/env python3
"""A fake Kafka broker that records the request frames real clients send.

Listens on 127.0.0.1:PORT, reads Kafka frames from every connection and saves
each one, with its 4-byte size prefix, exactly as the client sent it, as
OUT/<n>_<apiname>_v<version>.bin. It answers just enough for a client to go on
to its next request:

- ApiVersions v0-v3 with a real response (header v0, as Kafka always uses for
  ApiVersions); a higher version gets UNSUPPORTED_VERSION (35) in the v0 body
  format, which makes the client retry with v3, as a real broker does.
- Metadata v0-v12, listing one broker (node 0 at 127.0.0.1:PORT) and the
  requested topics, each with one partition led by node 0 (all-topics
  requests list no topics unless --topic is given).
- Produce v3-v9, acknowledging every partition with base offset 0
  (no response for acks=0).

Any other request is saved and left unanswered. Standard library only.

Usage: scripts/capture_requests.py [--port 19092] [--out DIR] [--topic NAME ...]
Stop it with Ctrl-C or SIGTERM.
"""

import argparse
import itertools
import os
import signal
import socket
import struct
import sys
import threading

API_NAMES = {
    0: "produce", 1: "fetch", 2: "list_offsets", 3: "metadata", 8: "offset_commit",
    9: "offset_fetch", 10: "find_coordinator", 11: "join_group", 12: "heartbeat",
    13: "leave_group", 14: "sync_group", 15: "describe_groups", 16: "list_groups",
    17: "sasl_handshake", 18: "api_versions", 19: "create_topics", 20: "delete_topics",
    22: "init_producer_id", 32: "describe_configs", 36: "sasl_authenticate",
    60: "describe_cluster",
}

# (api_key, min, max) advertised in ApiVersions responses.
ADVERTISED = [
    (0, 0, 9),    # Produce
    (1, 0, 12),   # Fetch
    (2, 0, 7),    # ListOffsets
    (3, 0, 12),   # Metadata
    (10, 0, 4),   # FindCoordinator
    (18, 0, 3),   # ApiVersions
]
API_VERSIONS_MAX = 3
UNSUPPORTED_VERSION = 35

# First flexible (compact, tagged) request version of the APIs parsed here.
FLEXIBLE_FROM = {0: 9, 1: 12, 2: 6, 3: 9, 10: 3, 18: 3}


class Reader:
    """Reads Kafka wire primitives from a bytes object."""

    def __init__(self, data, pos=0):
        self.data = data
        self.pos = pos

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError(f"truncated at {self.pos}: need {n} bytes")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def int8(self):
        return struct.unpack(">b", self.take(1))[0]

    def int16(self):
        return struct.unpack(">h", self.take(2))[0]

    def int32(self):
        return struct.unpack(">i", self.take(4))[0]

    def int64(self):
        return struct.unpack(">q", self.take(8))[0]

    def uvarint(self):
        shift = value = 0
        while True:
            b = self.take(1)[0]
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7

    def string(self, compact):
        n = self.uvarint() - 1 if compact else self.int16()
        return None if n < 0 else self.take(n).decode("utf-8", "replace")

    def bytes_(self, compact):
        n = self.uvarint() - 1 if compact else self.int32()
        return None if n < 0 else self.take(n)

    def array_len(self, compact):
        return self.uvarint() - 1 if compact else self.int32()

    def tagged_fields(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.take(self.uvarint())


class Writer:
    """Builds Kafka wire primitives into a bytearray."""

    def __init__(self):
        self.buf = bytearray()

    def int8(self, v):
        self.buf += struct.pack(">b", v)
        return self

    def int16(self, v):
        self.buf += struct.pack(">h", v)
        return self

    def int32(self, v):
        self.buf += struct.pack(">i", v)
        return self

    def int64(self, v):
        self.buf += struct.pack(">q", v)
        return self

    def uvarint(self, v):
        while v >= 0x80:
            self.buf.append((v & 0x7F) | 0x80)
            v >>= 7
        self.buf.append(v)
        return self

    def string(self, s, compact):
        if s is None:
            return self.uvarint(0) if compact else self.int16(-1)
        raw = s.encode("utf-8")
        if compact:
            self.uvarint(len(raw) + 1)
        else:
            self.int16(len(raw))
        self.buf += raw
        return self

    def array_len(self, n, compact):
        return self.uvarint(n + 1) if compact else self.int32(n)

    def tags(self, compact):
        return self.uvarint(0) if compact else self


def parse_header(frame):
    """Request header of a frame without its size prefix: (key, version, corr, body reader)."""
    r = Reader(frame)
    key, version, corr = r.int16(), r.int16(), r.int32()
    r.string(False)  # client_id: a nullable int16 string in every header version
    if version >= FLEXIBLE_FROM.get(key, 1 << 15):
        r.tagged_fields()
    return key, version, corr, r


def api_versions_response(version):
    """Body of an ApiVersions response (header v0 is added by the caller)."""
    if version > API_VERSIONS_MAX:
        # Kafka's answer to an unknown version: error 35 in the v0 body format,
        # listing at least ApiVersions so the client can pick a version it shares.
        w = Writer().int16(UNSUPPORTED_VERSION).array_len(len(ADVERTISED), False)
        for key, lo, hi in ADVERTISED:
            w.int16(key).int16(lo).int16(hi)
        return w.buf
    compact = version >= 3
    w = Writer().int16(0).array_len(len(ADVERTISED), compact)
    for key, lo, hi in ADVERTISED:
        w.int16(key).int16(lo).int16(hi).tags(compact)
    if version >= 1:
        w.int32(0)  # throttle_time_ms
    return w.tags(compact).buf


def metadata_topics(version, r):
    """Topic names of a Metadata request body, or None for all topics."""
    compact = version >= 9
    n = r.array_len(compact)
    if n < 0 or (version == 0 and n == 0):
        return None
    names = []
    for _ in range(n):
        if version >= 10:
            r.take(16)  # topic_id
        names.append(r.string(compact))
        if compact:
            r.tagged_fields()
    return names


def metadata_response(version, topics, port):
    compact = version >= 9
    w = Writer()
    if version >= 3:
        w.int32(0)  # throttle_time_ms
    w.array_len(1, compact)
    w.int32(0).string("127.0.0.1", compact).int32(port)
    if version >= 1:
        w.string(None, compact)  # rack
    w.tags(compact)
    if version >= 2:
        w.string("spate-capture", compact)  # cluster_id
    if version >= 1:
        w.int32(0)  # controller_id
    w.array_len(len(topics), compact)
    for i, name in enumerate(topics):
        w.int16(0).string(name, compact)
        if version >= 10:
            w.buf += struct.pack(">QQ", 0x5350415445, i + 1)  # a made-up, non-zero topic id
        if version >= 1:
            w.int8(0)  # is_internal
        w.array_len(1, compact)
        w.int16(0).int32(0).int32(0)  # error_code, partition_index, leader_id
        if version >= 7:
            w.int32(0)  # leader_epoch
        w.array_len(1, compact).int32(0)  # replica_nodes
        w.array_len(1, compact).int32(0)  # isr_nodes
        if version >= 5:
            w.array_len(0, compact)  # offline_replicas
        w.tags(compact)
        if version >= 8:
            w.int32(-2147483648)  # topic_authorized_operations: not requested
        w.tags(compact)
    if 8 <= version <= 10:
        w.int32(-2147483648)  # cluster_authorized_operations
    return w.tags(compact).buf


def produce_response(version, r):
    """Body of a Produce response, or None when acks=0 (no response is sent)."""
    compact = version >= 9
    if version >= 3:
        r.string(compact)  # transactional_id
    acks = r.int16()
    r.int32()  # timeout_ms
    topics = []
    for _ in range(r.array_len(compact)):
        name = r.string(compact)
        parts = []
        for _ in range(r.array_len(compact)):
            parts.append(r.int32())
            r.bytes_(compact)
            if compact:
                r.tagged_fields()
        if compact:
            r.tagged_fields()
        topics.append((name, parts))
    if acks == 0:
        return None
    w = Writer().array_len(len(topics), compact)
    for name, parts in topics:
        w.string(name, compact).array_len(len(parts), compact)
        for index in parts:
            w.int32(index).int16(0).int64(0)  # partition, error_code, base_offset
            if version >= 2:
                w.int64(-1)  # log_append_time_ms
            if version >= 5:
                w.int64(0)  # log_start_offset
            if version >= 8:
                w.array_len(0, compact).string(None, compact)  # record_errors, error_message
            w.tags(compact)
        w.tags(compact)
    if version >= 1:
        w.int32(0)  # throttle_time_ms
    return w.tags(compact).buf


class Capture:
    def __init__(self, out, port, topics):
        self.out = out
        self.port = port
        self.topics = topics
        self.counter = itertools.count(1)
        self.lock = threading.Lock()

    def save(self, key, version, raw):
        with self.lock:
            n = next(self.counter)
        name = API_NAMES.get(key, f"api{key}")
        path = os.path.join(self.out, f"{n:03}_{name}_v{version}.bin")
        with open(path, "wb") as f:
            f.write(raw)
        print(f"saved {path} ({len(raw)} bytes)", flush=True)

    def respond(self, key, version, corr, body):
        """Response body for a request, or None to stay silent."""
        if key == 18:
            return api_versions_response(version), False
        if key == 3 and version <= 12:
            names = metadata_topics(version, body)
            return metadata_response(version, self.topics if names is None else names,
                                     self.port), version >= 9
        if key == 0 and 3 <= version <= 9:
            return produce_response(version, body), version >= 9
        return None, False

    def serve(self, conn, peer):
        print(f"connection from {peer[0]}:{peer[1]}", flush=True)
        with conn:
            while True:
                try:
                    size_raw = recv_exact(conn, 4)
                except OSError:
                    break
                if size_raw is None:
                    break
                (size,) = struct.unpack(">i", size_raw)
                frame = recv_exact(conn, size)
                if frame is None:
                    break
                try:
                    key, version, corr, body = parse_header(frame)
                except ValueError as e:
                    print(f"unreadable header: {e}", flush=True)
                    break
                self.save(key, version, size_raw + frame)
                try:
                    resp, flexible_header = self.respond(key, version, corr, body)
                except ValueError as e:
                    print(f"unreadable {API_NAMES.get(key, key)} v{version} body: {e}", flush=True)
                    continue
                if resp is None:
                    continue
                head = Writer().int32(corr).tags(flexible_header).buf
                payload = bytes(head) + bytes(resp)
                try:
                    conn.sendall(struct.pack(">i", len(payload)) + payload)
                except OSError as e:
                    print(f"send failed: {e}", flush=True)
                    break
        print(f"closed {peer[0]}:{peer[1]}", flush=True)


def recv_exact(conn, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=19092)
    ap.add_argument("--out", default="captured")
    ap.add_argument("--topic", action="append", default=[],
                    help="topic to list in answers to all-topics Metadata requests")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    cap = Capture(args.out, args.port, args.topic)
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", args.port))
    srv.listen()
    print(f"listening on 127.0.0.1:{args.port}, saving to {args.out}", flush=True)
    try:
        while True:
            conn, peer = srv.accept()
            threading.Thread(target=cap.serve, args=(conn, peer), daemon=True).start()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
