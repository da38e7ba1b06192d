"""Hypercorn's HTTP/2 streams take turns in constant time, however many are open."""

from __future__ import annotations

import asyncio
from typing import Any

import h2.config
import h2.connection
import h2.events
import priority
import pytest
from hypercorn.asyncio import serve as hypercorn_serve

from common import h2streams
from common.serving import hypercorn_config
from common.settings import ServiceSettings
from toolkit.infra.paths import free_port


def test_streams_with_data_take_turns_in_the_order_they_became_ready() -> None:
    streams = h2streams.RoundRobinStreams()
    for stream_id in (1, 3, 5, 7):
        streams.insert_stream(stream_id)
    streams.block(3)
    assert [next(streams) for _ in range(6)] == [1, 5, 7, 1, 5, 7]
    streams.unblock(3)
    streams.unblock(5)  # already waiting for its turn: keeps its place
    assert [next(streams) for _ in range(4)] == [1, 5, 7, 3]


def test_a_removed_or_blocked_stream_is_never_chosen() -> None:
    streams = h2streams.RoundRobinStreams()
    streams.insert_stream(1)
    streams.insert_stream(3)
    streams.remove_stream(1)
    streams.block(3)
    with pytest.raises(priority.DeadlockError):
        next(streams)
    assert len(streams) == 1


def test_it_raises_what_hypercorn_catches() -> None:
    streams = h2streams.RoundRobinStreams()
    streams.insert_stream(1)
    with pytest.raises(priority.DuplicateStreamError):
        streams.insert_stream(1)
    for unknown in (streams.block, streams.unblock, streams.remove_stream, streams.reprioritize):
        with pytest.raises(priority.MissingStreamError):
            unknown(9)
    streams.reprioritize(1, depends_on=None, weight=200, exclusive=True)  # accepted, ignored


def test_a_turn_costs_the_same_with_many_streams_open() -> None:
    streams = h2streams.RoundRobinStreams()
    for stream_id in range(1, 200_001, 2):  # 100,000 open, one of them ready
        streams.insert_stream(stream_id)
        streams.block(stream_id)
    streams.unblock(99_999)
    # The library's tree pops every blocked stream on each turn: this would take minutes.
    assert all(next(streams) == 99_999 for _ in range(100_000))


def test_installing_leaves_the_priority_library_as_it_is() -> None:
    h2streams.install()
    h2streams.install()
    from hypercorn.protocol import h2 as hypercorn_h2

    assert hypercorn_h2.priority.PriorityTree is h2streams.RoundRobinStreams
    assert hypercorn_h2.priority.DeadlockError is priority.DeadlockError
    assert priority.PriorityTree is not h2streams.RoundRobinStreams


STREAMS = 1_200  # more than the library's tree accepts (1,000)


def held_until_all_arrived(expected: int) -> Any:
    arrived = 0
    everyone = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        nonlocal arrived
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        arrived += 1
        if arrived == expected:
            everyone.set()
        await everyone.wait()  # every stream stays open until the last one is there
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": scope["path"].encode()})

    return app


async def many_streams_on_one_connection(port: int) -> dict[int, tuple[int, bytes]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    connection.initiate_connection()
    connection.increment_flow_control_window(2**30)
    writer.write(connection.data_to_send())
    while True:  # the server's settings first: they lift the default limit on open streams
        events = connection.receive_data(await reader.read(65536))
        writer.write(connection.data_to_send())
        if any(isinstance(e, h2.events.RemoteSettingsChanged) for e in events):
            break
    statuses: dict[int, int] = {}
    bodies: dict[int, bytes] = {}
    done: set[int] = set()
    for n in range(STREAMS):
        stream_id = connection.get_next_available_stream_id()
        headers = [(":method", "GET"), (":scheme", "http"), (":authority", "test"), (":path", f"/{n}")]
        connection.send_headers(stream_id, headers, end_stream=True)
    writer.write(connection.data_to_send())
    while len(done) < STREAMS:
        data = await reader.read(65536)
        assert data, f"the server closed the connection after {len(done)} answers"
        for event in connection.receive_data(data):
            if isinstance(event, h2.events.ResponseReceived):
                statuses[event.stream_id] = int(dict(event.headers)[b":status"])
            elif isinstance(event, h2.events.DataReceived):
                bodies[event.stream_id] = bodies.get(event.stream_id, b"") + event.data
                connection.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                done.add(event.stream_id)
            elif isinstance(event, h2.events.StreamReset):
                raise AssertionError(f"stream {event.stream_id} was reset: {event.error_code!r}")
        writer.write(connection.data_to_send())
    writer.close()
    return {stream_id: (statuses[stream_id], bodies.get(stream_id, b"")) for stream_id in done}


def test_hypercorn_answers_more_streams_at_once_than_the_library_tree_held() -> None:
    port = free_port()
    config = hypercorn_config(ServiceSettings.model_validate({"PORT": port}))

    async def scenario() -> dict[int, tuple[int, bytes]]:
        stop = asyncio.Event()
        server = asyncio.create_task(
            hypercorn_serve(held_until_all_arrived(STREAMS), config, shutdown_trigger=stop.wait)
        )
        try:
            deadline = asyncio.get_running_loop().time() + 30
            while True:
                try:
                    _, probe = await asyncio.open_connection("127.0.0.1", port)
                    probe.close()
                    break
                except OSError:
                    assert asyncio.get_running_loop().time() < deadline, "Hypercorn never listened"
                    await asyncio.sleep(0.05)
            return await asyncio.wait_for(many_streams_on_one_connection(port), timeout=60)
        finally:
            stop.set()
            await server

    answers = asyncio.run(scenario())
    assert len(answers) == STREAMS
    assert {status for status, _ in answers.values()} == {200}
    assert sorted(int(body.decode().lstrip("/")) for _, body in answers.values()) == list(range(STREAMS))
