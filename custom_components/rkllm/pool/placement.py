"""Where a waiting request goes: the pool's placement rules."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from ..api import RkllamaConnectionError, RkllamaError, RkllamaModelNotFoundError
from ..const import MAX_SWITCH_SKIPS
from .server import PoolServer

type Placement = tuple[PoolServer, str] | RkllamaError | None
"""A server and its name of the model, an error for the caller, or None to keep waiting."""


class NoServerError(RkllamaConnectionError):
    """Every server that has the model is known to be down: no request is sent."""


@dataclass(eq=False)
class Ticket:
    """A request waiting for a server."""

    choice: str
    own_entry: str | None
    """The asking agent's config entry: its server wins ties."""
    tried: set[str]
    future: asyncio.Future[tuple[PoolServer, str]]
    skipped: int = 0
    """Times a single-model server went to the resident model's requests instead."""
    load: asyncio.Task[None] | None = None
    """The load of its model on the server it was given, when one was under way."""


def place(
    ticket: Ticket, servers: Collection[PoolServer], queue: Iterable[Ticket], ahead: int
) -> Placement:
    """Return the server for `ticket`, an error, or None to keep waiting.

    `ahead` counts the requests for the same model before it in the queue. A resident model
    on a free server first (fewest requests running, then the agent's own server); a request
    that is next in line for a server holding its model waits for it; one that would wait
    behind other requests loads its model on the free server that can load it soonest. A
    single-model server is not switched while requests for its model wait (at most
    MAX_SWITCH_SKIPS times in a row).
    """
    usable = _usable(ticket, servers)
    if isinstance(usable, RkllamaError):
        return usable

    def rank(item: tuple[PoolServer, str]) -> tuple[int, int, bool]:
        server, _name = item
        cost = 1 if server.single_model and server.residency.resident else 0
        return (cost, server.npu.running.total(), server.entry_id != ticket.own_entry)

    holders = [(server, name) for server, name in usable if server.residency.holds(name)]
    ready = [(server, name) for server, name in holders if server.ready(name)]
    if ready:
        return min(ready, key=rank)
    if holders and ahead < sum(server.answers_per_model for server, _ in holders):
        return None  # next in line for a server that holds the model: no needless load
    loadable = [
        (server, name)
        for server, name in usable
        if (server, name) not in holders
        and server.may_load(name)
        and _may_switch(server, ticket, queue)
    ]
    return min(loadable, key=rank) if loadable else None


def _usable(
    ticket: Ticket, servers: Collection[PoolServer]
) -> list[tuple[PoolServer, str]] | RkllamaError:
    """Return the servers (and their model names) that may answer `ticket`."""
    offering = [
        (server, name)
        for server in servers
        if server.entry_id not in ticket.tried
        and (name := server.coordinator.offers(ticket.choice)) is not None
    ]
    # Servers whose polls fail are tried only when no other can answer (their answers may
    # still work); a server known to be down gets no request: it rejoins at its next good poll.
    reachable = [(server, name) for server, name in offering if server.reachable]
    if usable := [(server, name) for server, name in reachable if server.healthy] or reachable:
        return usable
    if offering:
        return NoServerError(f"every server with the model {ticket.choice} is down")
    own = next((server for server in servers if server.entry_id == ticket.own_entry), None)
    if own is None or own.entry_id in ticket.tried:
        return RkllamaModelNotFoundError(f"no server has the model {ticket.choice}")
    if not own.reachable:
        return NoServerError(f"{own.coordinator.name} is down")
    # Not in the last poll's list: let the agent's own server answer for it.
    return [(own, own.coordinator.server_model(ticket.choice))]


def _may_switch(server: PoolServer, ticket: Ticket, queue: Iterable[Ticket]) -> bool:
    """Return False while requests for a single-model server's model wait for it."""
    resident = server.residency.resident
    if not server.single_model or not resident:
        return True
    wanted = any(
        other is not ticket and server.coordinator.offers(other.choice) in resident
        for other in queue
    )
    if wanted and ticket.skipped < MAX_SWITCH_SKIPS:
        ticket.skipped += 1
        return False
    return True
