"""Which HTTP/2 stream Hypercorn writes next: round robin, in constant time per turn.

Hypercorn asks a ``priority.PriorityTree`` for the next stream to send a frame on. That tree
keeps every open stream in one heap and, on each turn, pops and pushes back every stream that has
nothing to send before it finds one that has: a turn costs O(n log n) in Python for n open
streams. A Restate deployment keeps one stream open per invocation in flight, and most of them
are waiting (on a call, a sleep, another key), so a fan-out of 1,000 parts or a burst of tasks
queued behind a rate limiter made the tree the service's main cost: measured with py-spy on the
``ratelimit`` service, 39 % of its event loop's time under 600 tasks in flight. The tree also
refuses a 1,001st open stream (its default ``maximum_streams``), whatever
``h2_max_concurrent_streams`` says.

Restate does not send HTTP/2 priorities (RFC 9113 deprecates them), so every stream has the
same weight and a plain rotation is what the tree would compute anyway: streams with data take
turns in the order they became ready, one frame each. ``RoundRobinStreams`` is a drop-in for the
part of the tree's interface Hypercorn uses, raising the same exceptions; ``install`` makes
Hypercorn's HTTP/2 protocol use it, and nothing else.
"""

from __future__ import annotations

import types
from collections import OrderedDict

import priority
from hypercorn.protocol import h2 as hypercorn_h2


class RoundRobinStreams:
    """Open streams, and those of them with data to send, in the order they became ready."""

    def __init__(self) -> None:
        self._open: set[int] = set()
        # A linked list: taking the first and moving it to the back are O(1) (a dict's are not).
        self._ready: OrderedDict[int, None] = OrderedDict()  # the order of turns

    def __len__(self) -> int:
        return len(self._open)

    def insert_stream(
        self, stream_id: int, depends_on: int | None = None, weight: int = 16, exclusive: bool = False
    ) -> None:
        """A new stream, ready to send (as the tree has it); priorities are ignored."""
        if stream_id in self._open:
            raise priority.DuplicateStreamError(f"Stream {stream_id} already in tree")
        self._open.add(stream_id)
        self._ready[stream_id] = None

    def reprioritize(
        self, stream_id: int, depends_on: int | None = None, weight: int = 16, exclusive: bool = False
    ) -> None:
        self._known(stream_id)

    def remove_stream(self, stream_id: int) -> None:
        self._known(stream_id)
        self._open.discard(stream_id)
        self._ready.pop(stream_id, None)

    def block(self, stream_id: int) -> None:
        """Nothing to send on ``stream_id`` for now."""
        self._known(stream_id)
        self._ready.pop(stream_id, None)

    def unblock(self, stream_id: int) -> None:
        """``stream_id`` has data again; a stream already waiting for its turn keeps its place."""
        self._known(stream_id)
        self._ready.setdefault(stream_id, None)

    def __iter__(self) -> RoundRobinStreams:
        return self

    def __next__(self) -> int:
        """The stream whose turn it is; it goes to the back of the line."""
        if not self._ready:
            raise priority.DeadlockError("No unblocked streams to schedule.")
        stream_id = next(iter(self._ready))
        self._ready.move_to_end(stream_id)
        return stream_id

    def _known(self, stream_id: int) -> None:
        if stream_id not in self._open:
            raise priority.MissingStreamError(f"Stream {stream_id} not in tree")


def install() -> None:
    """Make Hypercorn's HTTP/2 protocol schedule its streams with ``RoundRobinStreams``.

    Hypercorn builds its tree as ``priority.PriorityTree()`` in ``H2Protocol.__init__`` and names
    the exceptions as ``priority.X``; its module gets a stand-in ``priority`` whose tree is ours
    and whose exceptions are the library's, so ``priority`` itself is left as it is for any
    other user."""
    current = hypercorn_h2.priority
    if getattr(current, "PriorityTree", None) is RoundRobinStreams:
        return
    stand_in = types.ModuleType("priority", "the priority module, with a round-robin tree")
    stand_in.__dict__.update({k: v for k, v in vars(priority).items() if not k.startswith("__")})
    stand_in.PriorityTree = RoundRobinStreams  # type: ignore[attr-defined]
    hypercorn_h2.priority = stand_in
