"""The load generator's HTTP/1.1 client against real loopback servers that answer byte for byte as told.

Each server is an asyncio server on a free port whose handler writes exact response bytes, so every
framing and every way a connection ends can be chosen: keep-alive reuse, chunked and close-delimited
bodies, an idle connection the server closed, a reset before any answer, a stall, garbage.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from observatory.loadgen.transport import Pool

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    """One request's head and body (by Content-Length); b"" when the client closed."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)  # fmt: skip
    return head + (await reader.readexactly(length) if length else b"")


def _ok(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


async def _serve(handler: Handler, exchange: Callable[[Pool], Awaitable[object]], pool_size: int = 4) -> tuple:
    """Run ``exchange`` against a server whose connections ``handler`` answers; (result, connections)."""
    connections = 0

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        try:
            await handler(reader, writer, connections)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(on_connection, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    pool = Pool(f"http://127.0.0.1:{port}/base", pool_size, timeout_s=1.0)
    try:
        return await exchange(pool), connections
    finally:
        pool.close()
        server.close()
        await server.wait_closed()


def test_keep_alive_reuses_one_connection_and_sends_the_body_whole() -> None:
    seen: list[bytes] = []

    async def echo(reader, writer, _number) -> None:
        while True:
            request = await _read_request(reader)
            seen.append(request)
            writer.write(_ok(request.rsplit(b"\r\n\r\n", 1)[1] or b"empty"))
            await writer.drain()

    async def two(pool: Pool):
        return [await pool.request("POST", "/echo", b'{"a": 1}'), await pool.request("GET", "")]

    answers, connections = asyncio.run(_serve(echo, two))
    assert answers == [(200, b'{"a": 1}'), (200, b"empty")]
    assert connections == 1
    assert seen[0].startswith(b"POST /base/echo HTTP/1.1\r\n") and b"Content-Length: 8\r\n" in seen[0]
    assert seen[1].startswith(b"GET /base HTTP/1.1\r\n")


def test_chunked_and_close_delimited_bodies_are_read_whole() -> None:
    async def framed(reader, writer, number) -> None:
        await _read_request(reader)
        if number == 1:
            chunks = b"3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"
            writer.write(b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks)
            await writer.drain()
            await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end")
        await writer.drain()

    async def three(pool: Pool):
        return [await pool.request("GET", "/") for _ in range(3)]

    answers, connections = asyncio.run(_serve(framed, three))
    assert answers == [(201, b"abcdefg"), (200, b"until the end"), (200, b"until the end")]
    assert connections == 2  # the close-delimited answer ended its connection; the next one opened anew


def test_an_idle_connection_the_server_closed_is_replaced_without_losing_the_request() -> None:
    async def one_each(reader, writer, number) -> None:
        await _read_request(reader)
        writer.write(_ok(b"answer %d" % number))
        await writer.drain()
        # Keep-alive timeout: the server closes without saying so in the response.

    async def two(pool: Pool):
        first = await pool.request("GET", "/")
        await asyncio.sleep(0.05)
        return [first, await pool.request("GET", "/")]

    answers, connections = asyncio.run(_serve(one_each, two))
    assert answers == [(200, b"answer 1"), (200, b"answer 2")]
    assert connections == 2


def test_a_request_on_a_connection_the_server_closes_unanswered_goes_again_on_a_fresh_one() -> None:
    requests = 0

    async def close_the_second(reader, writer, number) -> None:
        nonlocal requests
        await _read_request(reader)
        requests += 1
        writer.write(_ok(b"answer %d" % number))
        await writer.drain()
        if number == 1:
            await _read_request(reader)  # read, then closed unanswered: the keep-alive race
            requests += 1

    async def two(pool: Pool):
        return [await pool.request("POST", "/", b"{}") for _ in range(2)]

    answers, connections = asyncio.run(_serve(close_the_second, two, pool_size=1))
    assert answers == [(200, b"answer 1"), (200, b"answer 2")]
    assert (connections, requests) == (2, 3)


def test_a_request_the_server_began_to_answer_is_not_resent() -> None:
    requests = 0

    async def half_an_answer(reader, writer, number) -> None:
        nonlocal requests
        await _read_request(reader)
        requests += 1
        writer.write(_ok(b"answer %d" % number))
        await writer.drain()
        await _read_request(reader)
        requests += 1
        writer.write(b"HTTP/1.1 201 Created\r\nContent-Length: 10\r\n\r\nhalf")
        await writer.drain()

    async def two(pool: Pool):
        first = await pool.request("POST", "/", b"{}")
        with pytest.raises(ConnectionError):
            await pool.request("POST", "/", b"{}")
        return first

    first, connections = asyncio.run(_serve(half_an_answer, two, pool_size=1))
    assert first == (200, b"answer 1")
    assert (connections, requests) == (1, 2)


def test_a_fresh_connection_closed_before_an_answer_fails_and_is_not_resent() -> None:
    async def hang_up(reader, _writer, _number) -> None:
        await _read_request(reader)

    async def one(pool: Pool):
        with pytest.raises(ConnectionResetError):
            await pool.request("GET", "/")

    _, connections = asyncio.run(_serve(hang_up, one))
    assert connections == 1


def test_a_stalled_answer_times_out_and_garbage_is_a_connection_error() -> None:
    async def stall_then_garbage(reader, writer, number) -> None:
        await _read_request(reader)
        if number == 1:
            await asyncio.sleep(5)
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        await writer.drain()

    async def two(pool: Pool):
        with pytest.raises(TimeoutError):
            await pool.request("GET", "/")
        with pytest.raises(ConnectionError, match="bad response"):
            await pool.request("GET", "/")

    _, connections = asyncio.run(_serve(stall_then_garbage, two))
    assert connections == 2  # the timed-out connection was closed, not reused


def test_the_pool_never_has_more_requests_in_flight_than_its_size() -> None:
    in_flight, most = 0, 0

    async def slow(reader, writer, _number) -> None:
        nonlocal in_flight, most
        while True:
            await _read_request(reader)
            in_flight += 1
            most = max(most, in_flight)
            await asyncio.sleep(0.05)
            in_flight -= 1
            writer.write(_ok(b"ok"))
            await writer.drain()

    async def many(pool: Pool):
        return await asyncio.gather(*(pool.request("GET", "/") for _ in range(8)))

    answers, connections = asyncio.run(_serve(slow, many, pool_size=2))
    assert answers == [(200, b"ok")] * 8
    assert most == 2 and connections == 2


def test_a_refused_connection_is_an_os_error() -> None:
    async def refused() -> None:
        server = await asyncio.start_server(lambda _r, _w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        pool = Pool(f"http://127.0.0.1:{port}", 1, timeout_s=1.0)
        with pytest.raises(OSError):
            await pool.request("GET", "/")

    asyncio.run(refused())
