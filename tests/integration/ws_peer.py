"""A websocket peer for the tests, on Debian's python3-websockets (run it with /usr/bin/python3,
where Debian installs the package).

    ws_peer.py server                 echo server on 127.0.0.1, prints "listening on PORT"
    ws_peer.py client URL [--count N] [--size BYTES] [--concurrent C]
                                      C connections each send N messages (text and binary in
                                      turn) one at a time and check each echo; prints one JSON
                                      line; exit 0 only when every echo matched and the close
                                      handshake completed
    ws_peer.py headers URL            prints the handshake request the server saw, as JSON

Server paths: /headers answers the handshake's request headers as one JSON text message, then
echoes; /bye echoes one message and closes with code 4001; anything else echoes.
"""

import argparse
import asyncio
import json
import sys
import time

import websockets


async def serve():
    async def handler(ws, path=None):
        path = path or ws.path
        if path.endswith("/headers"):
            await ws.send(json.dumps({k.lower(): v for k, v in ws.request_headers.raw_items()}))
        async for message in ws:
            await ws.send(message)
            if path.endswith("/bye"):
                await ws.close(4001, "bye")
                return

    async with websockets.serve(handler, "127.0.0.1", 0, max_size=None) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"listening on {port}", flush=True)
        await asyncio.Future()


def payload(i, size):
    body = bytes((i + k) % 251 for k in range(size))
    return body.hex()[:size] if i % 2 == 0 else body  # text, binary, text, ...


async def one_client(url, count, size, result):
    async with websockets.connect(url, max_size=None, open_timeout=10, close_timeout=10) as ws:
        for i in range(count):
            message = payload(i, size)
            await ws.send(message)
            echo = await asyncio.wait_for(ws.recv(), 30)
            if echo != message:
                raise AssertionError(f"echo {i} differs ({len(echo)} vs {len(message)} bytes)")
            result["messages"] += 1
            result["bytes"] += len(message)
    result["close_code"] = ws.close_code


async def clients(url, count, size, concurrent):
    result = {"ok": False, "messages": 0, "bytes": 0, "close_code": None, "error": ""}
    start = time.monotonic()
    try:
        await asyncio.gather(*(one_client(url, count, size, result) for _ in range(concurrent)))
        result["ok"] = result["messages"] == count * concurrent and result["close_code"] == 1000
    except Exception as e:  # noqa: BLE001 - reported to the test
        result["error"] = f"{type(e).__name__}: {e}"
    result["elapsed_ms"] = round((time.monotonic() - start) * 1000, 1)
    print(json.dumps(result), flush=True)
    return 0 if result["ok"] else 1


async def headers(url):
    async with websockets.connect(url, open_timeout=10) as ws:
        print(await asyncio.wait_for(ws.recv(), 10), flush=True)
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["server", "client", "headers"])
    p.add_argument("url", nargs="?")
    p.add_argument("--count", type=int, default=10)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--concurrent", type=int, default=1)
    a = p.parse_args()
    if a.mode == "server":
        asyncio.run(serve())
        return 0
    if a.mode == "headers":
        return asyncio.run(headers(a.url))
    return asyncio.run(clients(a.url, a.count, a.size, a.concurrent))


if __name__ == "__main__":
    sys.exit(main())
