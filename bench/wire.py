"""Lean HTTP/1.1 over asyncio streams: what the driver, the sink and the ceiling speak.

httpx costs a few hundred microseconds of CPU per request, which on a two-core machine would be
taken from the system under test; these few functions cost a fraction of that. They speak only
what the peers here send: Content-Length bodies (never chunked), keep-alive connections.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

Headers = dict[str, str]


class WireError(ConnectionError):
    """The peer closed the connection or sent something this module does not read."""


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: Headers
    body: bytes


async def _read_head(reader: asyncio.StreamReader) -> tuple[str, Headers]:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError) as error:
        raise WireError("connection closed before a complete head") from error
    lines = head.decode("latin-1").split("\r\n")
    headers: Headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return lines[0], headers


async def _read_body(reader: asyncio.StreamReader, headers: Headers) -> bytes:
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks: list[bytes] = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return b"".join(chunks)
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
    length = int(headers.get("content-length", "0"))
    try:
        return await reader.readexactly(length) if length else b""
    except asyncio.IncompleteReadError as error:
        raise WireError("connection closed inside a body") from error


async def read_request(reader: asyncio.StreamReader) -> Request:
    start, headers = await _read_head(reader)
    method, path, _ = start.split(" ", 2)
    return Request(method, path, headers, await _read_body(reader, headers))


def response_bytes(status: int, body: bytes, content_type: str = "application/json") -> bytes:
    reason = {200: "OK", 404: "Not Found", 400: "Bad Request"}.get(status, "Status")
    return (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


Handler = Callable[[Request], Awaitable[tuple[int, bytes]]]


async def serve(handler: Handler, host: str, port: int) -> asyncio.Server:
    """A keep-alive HTTP server calling ``handler`` for every request, in order per connection."""

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    request = await read_request(reader)
                except WireError:
                    return
                status, body = await handler(request)
                writer.write(response_bytes(status, body))
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            writer.close()

    return await asyncio.start_server(connection, host, port, backlog=1024)


class Connection:
    """One keep-alive client connection, reopened when the peer closed it."""

    def __init__(self, host: str, port: int, *, tls: ssl.SSLContext | None = None) -> None:
        self.host = host
        self.port = port
        self.tls = tls
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self.opened = 0

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None or self._writer.is_closing():
            self._reader, self._writer = await asyncio.open_connection(
                self.host,
                self.port,
                ssl=self.tls,
                server_hostname="localhost" if self.tls else None,
            )
            self.opened += 1
        return self._reader, self._writer

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: Headers | None = None
    ) -> tuple[int, bytes]:
        """Send one request and read its answer; one reconnect if the idle connection was gone."""
        for attempt in (1, 2):
            reader, writer = await self._open()
            head = (
                f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Length: {len(body)}\r\n"
            )
            for name, value in (headers or {}).items():
                head += f"{name}: {value}\r\n"
            try:
                writer.write(head.encode() + b"\r\n" + body)
                await writer.drain()
                start, answer_headers = await _read_head(reader)
                answer = await _read_body(reader, answer_headers)
            except (WireError, ConnectionError, ssl.SSLError):
                self.close()
                if attempt == 2:
                    raise
                continue
            if answer_headers.get("connection", "").lower() == "close":
                self.close()
            return int(start.split(" ", 2)[1]), answer
        raise WireError("unreachable")

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


class Pool:
    """Connections to one peer, one per concurrent request, reused (LIFO)."""

    def __init__(self, host: str, port: int, *, tls: ssl.SSLContext | None = None) -> None:
        self.host, self.port, self.tls = host, port, tls
        self._idle: list[Connection] = []

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: Headers | None = None
    ) -> tuple[int, bytes]:
        connection = (
            self._idle.pop() if self._idle else Connection(self.host, self.port, tls=self.tls)
        )
        try:
            result = await connection.request(method, path, body, headers)
        except BaseException:
            connection.close()
            raise
        self._idle.append(connection)
        return result

    def close(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle.clear()
