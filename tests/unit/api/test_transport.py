"""LeanTransport against scripted raw TCP servers: keep-alive, reconnects, framing, failures."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from housejobs.api.transport import LeanTransport
from tests.fakes.tls import PrivateCa

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head + (await reader.readexactly(length) if length else b"")


def ok(body: bytes = b'{"ok":true}', extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + \
        str(len(body)).encode() + b"\r\n" + extra + b"\r\n" + body


async def with_server(handler: Handler, body: Callable[[str], Awaitable[None]]) -> int:
    connections = 0

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        try:
            await handler(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        await body(f"http://127.0.0.1:{port}")
    return connections


def request(url: str, method: str = "POST", timeout: float = 5.0) -> httpx.Request:
    return httpx.Request(method, url + "/admin/x", content=b'{"a":1}' if method == "POST" else None,
                         headers={"Content-Type": "application/json"},
                         extensions={"timeout": httpx.Timeout(timeout).as_dict()})


def test_keep_alive_reuses_one_connection() -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            raw = await read_request(reader)
            assert b'{"a":1}' in raw and b"Host: 127.0.0.1" in raw
            writer.write(ok())
            await writer.drain()

    async def body(url: str) -> None:
        transport = LeanTransport()
        for _ in range(5):
            response = await transport.handle_async_request(request(url))
            assert response.status_code == 200 and response.json() == {"ok": True}
        await transport.aclose()

    assert asyncio.run(with_server(serve, body)) == 1


def test_server_closing_idle_connection_means_a_new_one() -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(ok(extra=b"Connection: close\r\n"))
        await writer.drain()

    async def body(url: str) -> None:
        transport = LeanTransport()
        for _ in range(3):
            assert (await transport.handle_async_request(request(url))).status_code == 200
        await transport.aclose()

    assert asyncio.run(with_server(serve, body)) == 3


def test_chunked_response_is_reassembled() -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n4\r\n:12}\r\n0\r\n\r\n")
        await writer.drain()
        await reader.read()

    async def body(url: str) -> None:
        response = await LeanTransport().handle_async_request(request(url))
        assert response.json() == {"a": 12}

    asyncio.run(with_server(serve, body))


@pytest.mark.parametrize(("script", "error"), [
    (b"", httpx.RemoteProtocolError),  # closed without a byte of answer
    (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"half\":", httpx.RemoteProtocolError),
    (b"NOT HTTP AT ALL\r\n\r\n", httpx.RemoteProtocolError),
])
def test_broken_answers_are_transport_errors(script: bytes, error: type[Exception]) -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(script)
        await writer.drain()

    async def body(url: str) -> None:
        with pytest.raises(error):
            await LeanTransport().handle_async_request(request(url))

    asyncio.run(with_server(serve, body))


def test_slow_answer_is_a_read_timeout_and_the_connection_is_dropped() -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(1)

    async def body(url: str) -> None:
        transport = LeanTransport()
        with pytest.raises(httpx.ReadTimeout):
            await transport.handle_async_request(request(url, timeout=0.05))
        assert transport._conn is None

    asyncio.run(with_server(serve, body))


def test_refused_connection_is_connect_error() -> None:
    async def body() -> None:
        with pytest.raises(httpx.ConnectError):
            await LeanTransport().handle_async_request(request("http://127.0.0.1:9"))

    asyncio.run(body())


def test_get_without_body_sends_no_content_length() -> None:
    seen: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await read_request(reader))
        writer.write(ok())
        await writer.drain()
        await reader.read()

    async def body(url: str) -> None:
        await LeanTransport().handle_async_request(request(url, method="GET"))

    asyncio.run(with_server(serve, body))
    assert seen[0].startswith(b"GET /admin/x HTTP/1.1") and b"content-length" not in seen[0].lower()


def test_endless_body_is_cut_off() -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"x" * 65536
        for _ in range(400):  # 25 MiB, more than the cap
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()

    async def body(url: str) -> None:
        with pytest.raises(httpx.RemoteProtocolError, match="larger than 16 MiB"):
            await LeanTransport().handle_async_request(request(url))

    asyncio.run(with_server(serve, body))


# --- TLS: the real APIs are https ---------------------------------------------------------------------------
async def tls_server(cert: Path, key: Path, trust: Path | None) -> None:
    """A keep-alive https server on `cert`; the client trusts `trust` (a CA file), or only the system's."""
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await read_request(reader)
                writer.write(ok())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    client_ctx = ssl.create_default_context(cafile=None if trust is None else str(trust))
    async with server:
        transport = LeanTransport(ssl_context=client_ctx)
        try:
            if trust is not None:
                for _ in range(3):  # one TLS connection, kept alive
                    response = await transport.handle_async_request(request(f"https://127.0.0.1:{port}"))
                    assert response.json() == {"ok": True}
            else:
                with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                    await transport.handle_async_request(request(f"https://127.0.0.1:{port}"))
        finally:
            await transport.aclose()


@pytest.mark.parametrize("trusted", [True, False])
def test_https_verifies_the_server_certificate(tmp_path: Path, trusted: bool) -> None:
    ca = PrivateCa.create(tmp_path / "ca")  # the one place tests make certificates (tests/fakes/tls.py)
    asyncio.run(tls_server(*ca.issue(tmp_path / "certs"), ca.pem if trusted else None))
