"""A lean HTTP/1.1 keep-alive transport for the ApiClient: one connection, asyncio streams, h11.

Why not httpx's default (httpcore over anyio)? org-sync-all makes one small call per org, thousands a
run, and httpcore's pool, locks and anyio checkpoints cost ~0.5 ms of CPU a request, more than the call
itself; this transport does the same HTTP/1.1 exchange in a fraction of that (bench/org_sync.py). It keeps
httpx's transport interface, so the client, its retries and the tests' MockTransport are unchanged, and
it maps failures onto httpx's exception tree (ConnectError, ReadTimeout, RemoteProtocolError, ...),
which is what the retry policy classifies.

One transport holds at most one connection and serves one request at a time (callers that want more in
flight use more clients, as org-sync-all does per worker).
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import h11
import httpx

_READ_CHUNK = 65536
# No answer in our contracts is more than a few KiB; a server streaming without end must not fill memory.
MAX_BODY = 16 * 1024 * 1024


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.h11 = h11.Connection(our_role=h11.CLIENT)

    def usable(self) -> bool:
        # The server may have closed an idle keep-alive connection since our last request.
        return not self.reader.at_eof() and not self.writer.is_closing() and self.h11.our_state is h11.IDLE

    def close(self) -> None:
        self.writer.close()


class LeanTransport(httpx.AsyncBaseTransport):
    def __init__(self, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self._ssl = ssl_context
        self._conn: _Connection | None = None
        self._lock = asyncio.Lock()

    async def aclose(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        connect_t = timeouts.get("connect") or 10.0
        io_t = timeouts.get("read") or 10.0
        async with self._lock:
            conn = self._conn
            if conn is None or not conn.usable():
                if conn is not None:
                    conn.close()
                self._conn = None
                conn = await self._connect(request.url, connect_t)
                self._conn = conn
            try:
                status, headers, body, reusable = await asyncio.wait_for(self._exchange(conn, request), io_t)
            except TimeoutError:
                self._drop()
                raise httpx.ReadTimeout("timed out waiting for the response", request=request) from None
            except (OSError, h11.ProtocolError, asyncio.IncompleteReadError) as exc:
                self._drop()
                raise httpx.RemoteProtocolError(f"{exc.__class__.__name__}: {exc}", request=request) from None
            except _ServerClosed:
                self._drop()
                raise httpx.RemoteProtocolError("Server disconnected without sending a response.",
                                                request=request) from None
            if reusable:
                conn.h11.start_next_cycle()
            else:
                self._drop()
        return httpx.Response(status, headers=headers, content=body, request=request)

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def _connect(self, url: httpx.URL, timeout: float) -> _Connection:
        secure = url.scheme == "https"
        port = url.port or (443 if secure else 80)
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(url.host, port, ssl=self._ssl if secure else None,
                                        server_hostname=url.host if secure else None, limit=_READ_CHUNK),
                timeout)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"connecting to {url.host}:{port} timed out") from None
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(f"{exc.__class__.__name__}: {exc}") from None
        return _Connection(reader, writer)

    async def _exchange(self, conn: _Connection, request: httpx.Request) -> tuple[int, list[Any], bytes, bool]:
        body = request.content
        headers = [(b"Host", request.url.netloc)]
        headers += [(k, v) for k, v in request.headers.raw if k.lower() not in (b"host", b"content-length")]
        if body or request.method in ("POST", "PUT", "PATCH"):
            headers.append((b"Content-Length", str(len(body)).encode()))
        target = request.url.raw_path
        out = conn.h11.send(h11.Request(method=request.method.encode(), target=target, headers=headers))
        if body:
            out = (out or b"") + (conn.h11.send(h11.Data(data=body)) or b"")
        out = (out or b"") + (conn.h11.send(h11.EndOfMessage()) or b"")
        conn.writer.write(out)
        await conn.writer.drain()
        response: h11.Response | None = None
        chunks: list[bytes] = []
        size = 0
        while True:
            event = conn.h11.next_event()
            if event is h11.NEED_DATA:
                data = await conn.reader.read(_READ_CHUNK)
                if not data and response is None:
                    raise _ServerClosed
                conn.h11.receive_data(data)
                continue
            if isinstance(event, h11.Response):
                response = event
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
                size += len(event.data)
                if size > MAX_BODY:
                    raise h11.RemoteProtocolError(f"response body larger than {MAX_BODY // (1 << 20)} MiB")
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                if response is None:
                    raise _ServerClosed
                break
            elif isinstance(event, h11.InformationalResponse):
                continue
        assert response is not None
        reusable = conn.h11.our_state is h11.DONE and conn.h11.their_state is h11.DONE
        return response.status_code, list(response.headers), b"".join(chunks), reusable


class _ServerClosed(Exception):
    pass
