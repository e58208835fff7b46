"""A counting TCP relay in front of a DynamoDB emulator: counts requests by their `X-Amz-Target` header.

    python -m bench.proxy LISTEN_PORT TARGET_PORT STATS_PORT

It relays bytes both ways untouched (keep-alive connections included) and scans only the client's
side for header lines (and the emulator's side for status lines), so it costs little CPU per request.
`GET /` on STATS_PORT answers the counts so far as JSON, e.g. `{"DynamoDB_20120810.Query": 1234,
"HTTP 400": 2}` (statuses other than 200 only). Runs in its own process (its own GIL).
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections import Counter

HOST = "127.0.0.1"
# A header line; matched across read boundaries by keeping the last _TAIL bytes of the previous read.
_TARGET = re.compile(rb"\r\nx-amz-target:[ \t]*([A-Za-z0-9_.]+)\r\n", re.IGNORECASE)
_STATUS = re.compile(rb"HTTP/1\.[01] ([1-5]\d\d) ")  # the emulator's answers; only non-200 ones are counted
_TAIL = 128
_CHUNK = 256 * 1024

counts: Counter[str] = Counter()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, pattern: re.Pattern,
                label: str) -> None:
    """Copy one direction until EOF, counting what `pattern` captures (as `label` % capture)."""
    tail = b""
    try:
        while data := await reader.read(_CHUNK):
            writer.write(data)
            window = tail + data
            for match in pattern.finditer(window):
                if match.end() > len(tail):  # a match wholly inside `tail` was counted last time
                    counts[label % match.group(1).decode()] += 1
            tail = window[-_TAIL:]
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        if not writer.is_closing():
            writer.close()


async def _relay(target_port: int, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
    """One client connection: open one upstream connection and pump both ways."""
    try:
        up_r, up_w = await asyncio.open_connection(HOST, target_port)
    except OSError:
        client_w.close()
        return
    await asyncio.gather(_pump(client_r, up_w, _TARGET, "%s"), _pump(up_r, client_w, _STATUS, "HTTP %s"))


async def _stats(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer any HTTP request with the counts as JSON."""
    await reader.readuntil(b"\r\n\r\n")
    body = json.dumps({key: n for key, n in counts.items() if key != "HTTP 200"}).encode()
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                 + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    await writer.drain()
    writer.close()


async def serve(listen_port: int, target_port: int, stats_port: int) -> None:
    """Serve the relay and the stats endpoint forever."""
    relay = await asyncio.start_server(lambda r, w: _relay(target_port, r, w), HOST, listen_port, backlog=512)
    stats = await asyncio.start_server(_stats, HOST, stats_port)
    async with relay, stats:
        await asyncio.gather(relay.serve_forever(), stats.serve_forever())


if __name__ == "__main__":
    listen, target, stats_port = (int(arg) for arg in sys.argv[1:4])
    try:
        asyncio.run(serve(listen, target, stats_port))
    except KeyboardInterrupt:
        pass
