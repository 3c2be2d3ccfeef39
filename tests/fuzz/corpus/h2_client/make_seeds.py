#!/usr/bin/python3
"""Writes the h2_client seeds: what an HTTP/2 server sends to a client that opened streams 1
(GET), 3 (POST) and 5 (POST + trailers). Input format of h2_client_fuzz: byte 0 = app mode
(bits 0-1) and "open more streams" (bit 2), byte 1 = piece size selector, then server bytes.
Header blocks use Debian's python3-hpack. Run from anywhere: the seeds land next to it."""

import struct
from pathlib import Path

from hpack import Encoder

HERE = Path(__file__).resolve().parent


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def settings(*pairs):
    return frame(4, 0, 0, b"".join(struct.pack(">HI", k, v) for k, v in pairs))


def seeds():
    enc = Encoder()
    head = lambda sid, fields, flags=4: frame(1, flags, sid, enc.encode(fields))
    ok = [(":status", "200"), ("content-type", "text/plain"), ("server", "seed")]
    start = settings((3, 100), (4, 65535)) + frame(4, 1, 0)  # SETTINGS, ACK of ours
    yield "three_responses", 0, 0, start + head(1, ok, 5) + head(3, ok) + frame(0, 1, 3, b"hello") + \
        head(5, ok) + frame(0, 0, 5, b"x" * 300) + head(5, [("grpc-status", "0")], 5)
    yield "continue_then_final", 0, 3, start + head(3, [(":status", "100")]) + head(3, ok) + \
        frame(0, 1, 3, b"done") + frame(3, 0, 1, struct.pack(">I", 8))
    yield "rst_and_goaway", 1, 9, start + frame(3, 0, 1, struct.pack(">I", 7)) + \
        frame(7, 0, 0, struct.pack(">II", 3, 0) + b"bye") + head(3, ok, 5)
    yield "push_promise", 2, 1, start + frame(5, 4, 1, struct.pack(">I", 2) + enc.encode(
        [(":method", "GET"), (":scheme", "http"), (":authority", "up"), (":path", "/p")]))
    yield "window_updates_ping", 4, 20, start + frame(8, 0, 0, struct.pack(">I", 100000)) + \
        frame(8, 0, 3, struct.pack(">I", 100000)) + frame(6, 0, 0, b"12345678") + \
        settings((4, 1 << 20), (5, 1 << 14)) + head(3, ok) + frame(0, 8, 3, b"\x02ab\x00\x00") + \
        frame(0, 1, 3, b"")
    yield "content_length_mismatch", 3, 2, start + head(1, ok + [("content-length", "3")]) + \
        frame(0, 1, 1, b"toolong") + head(3, [(":status", "204")], 5)
    yield "continuation", 0, 40, start + frame(1, 0, 1, enc.encode(ok)) + \
        frame(9, 4, 1, enc.encode([("x-more", "1")])) + frame(0, 1, 1, b"")
    yield "settings_max_streams_0", 4, 5, settings((3, 0)) + frame(4, 1, 0) + head(1, ok, 5)


for name, mode, piece, data in seeds():
    (HERE / name).write_bytes(bytes([mode, piece]) + data)
