"""Latency on one host's way to the database, added in user space.

`tc netem` is what a network test would use, but this machine kind's kernel has no netem module
(`tc qdisc add ... netem` answers "Specified qdisc kind is unknown"). So the slow host reaches
PostgreSQL through this relay, which holds every chunk in each direction for half the added
round-trip time before passing it on, in order. With no delay set it only relays.
"""

from __future__ import annotations

import asyncio
import threading
import time


class DelayRelay:
    def __init__(self, listen: str, port: int, target: str, target_port: int) -> None:
        self.listen, self.port, self.target, self.target_port = listen, port, target, target_port
        self.one_way = 0.0
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="delay-relay")
        self.server: asyncio.Server | None = None

    def __enter__(self) -> DelayRelay:
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(asyncio.start_server(self._serve, self.listen, self.port), self.loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.server is not None:
            self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)

    def delay(self, round_trip_ms: int) -> None:
        self.one_way = round_trip_ms / 2000

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(self.target, self.target_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(self._pipe(client_reader, server_writer), self._pipe(server_reader, client_writer), return_exceptions=True)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, chunk = await queue.get()
                if not chunk:
                    break
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(chunk)
                await writer.drain()

        sender = asyncio.ensure_future(deliver())
        try:
            while chunk := await reader.read(65536):
                queue.put_nowait((time.monotonic() + self.one_way, chunk))
        finally:
            queue.put_nowait((0.0, b""))
            await asyncio.gather(sender, return_exceptions=True)
            writer.close()
