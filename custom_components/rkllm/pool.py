"""One owner for "run this chat on an NPU": the servers of every rkllm entry as one pool.

RKLLM runs whole models, so boards share work per request, never per layer. Each config entry
registers its server here (it keeps its own entry, device and coordinator). `async_chat` waits
in one fair, bounded FIFO, picks the board, holds the model resident, counts the answer in
flight, streams it and records its figures on the board that served it. A board that fails
before the first word is skipped and the request goes to the next one; after the first word
the error is the caller's to speak, so an answer is never repeated or spliced.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import AsyncGenerator, Sequence
import contextlib
from dataclasses import dataclass, field
import time

from homeassistant.const import CONF_MODEL
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.util.hass_dict import HassKey

from .api import (
    ChatChunk,
    ChatMessage,
    ChatOptions,
    JsonValue,
    RkllamaConnectionError,
    RkllamaError,
    RkllamaModelNotFoundError,
    RkllamaTimeoutError,
)
from .const import CONF_KEEP_LOADED, DOMAIN, KEEP_LOADED_REFRESH, LOGGER, MAX_SWITCH_SKIPS
from .coordinator import RkllmConfigEntry, RkllmDataUpdateCoordinator
from .issues import clear_model_issues, report_model_issue

QUEUE_LIMIT = 32
"""Requests waiting for a board across the pool; past it the user hears "busy"."""
QUEUE_TIMEOUT = 120.0
"""Seconds a request waits for a board before the user hears "busy"."""
ACTION_WAIT = 30.0
"""Seconds a load or unload (action, preload) waits for the answers it would disturb."""


class PoolBusyError(RkllamaError):
    """Every board that can answer is busy and the queue is full (or the wait ran out)."""


@dataclass(eq=False)
class Board:
    """One registered server, as the pool sees it (the pool alone changes `running`)."""

    entry_id: str
    coordinator: RkllmDataUpdateCoordinator
    slots: int
    """Answers per model at once: 1 for an rkllama server, N for a proxy in front of N."""
    running: Counter[str] = field(default_factory=Counter)
    """Answers in flight per lane (per model; one lane on single-model servers)."""
    was_healthy: bool = True

    @property
    def healthy(self) -> bool:
        """Return True while the server answers (polls and requests)."""
        return self.coordinator.last_update_success

    @property
    def single_model(self) -> bool:
        """Return True when the server holds one model at a time."""
        return self.coordinator.residency.single_model

    def lane(self, model: str) -> str:
        """Return the queue `model`'s answers share on this server."""
        return "" if self.single_model else model

    def free(self, model: str) -> bool:
        """Return True when an answer of `model` would start at once."""
        return self.running[self.lane(model)] < self.slots

    def holds(self, model: str) -> bool:
        """Return True when `model` is resident here, or is being loaded for an answer."""
        return model in self.coordinator.residency.resident or (
            not self.single_model and self.running[model] > 0
        )


@dataclass(eq=False)
class _Ticket:
    """A request waiting for a board."""

    choice: str
    home: str | None
    tried: set[str]
    future: asyncio.Future[tuple[Board, str]]
    skipped: int = 0
    """Times a single-model board went to the resident model's requests instead."""


type _Placement = tuple[Board, str] | RkllamaError | None


class NpuPool:
    """Every rkllm server of this Home Assistant, as one pool of boards."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Start empty; config entries register their servers."""
        self.hass = hass
        self.boards: dict[str, Board] = {}
        self._queue: deque[_Ticket] = deque()
        self._listeners: list[CALLBACK_TYPE] = []

    # -- registration ----------------------------------------------------------------------

    @callback
    def async_register(self, entry: RkllmConfigEntry, slots: int = 1) -> CALLBACK_TYPE:
        """Add the entry's server to the pool; return the callback that removes it."""
        coordinator = entry.runtime_data.coordinator
        board = Board(entry.entry_id, coordinator, max(1, slots))
        self.boards[entry.entry_id] = board
        remove_listener = coordinator.async_add_listener(lambda: self._on_board_update(board))

        @callback
        def unregister() -> None:
            remove_listener()
            if self.boards.get(entry.entry_id) is board:
                del self.boards[entry.entry_id]
            self._dispatch()

        for each in self.boards.values():
            self._preload(each)
        self._dispatch()
        return unregister

    @callback
    def async_add_listener(self, update: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call `update` when boards come or go, or the queue changes."""
        self._listeners.append(update)
        return lambda: self._listeners.remove(update)

    # -- what the sensors and agents show ----------------------------------------------------

    @property
    def boards_online(self) -> int:
        """Return the number of servers answering right now."""
        return sum(board.healthy for board in self.boards.values())

    @property
    def in_flight(self) -> int:
        """Return the answers being generated (or their models loaded) right now."""
        return sum(board.running.total() for board in self.boards.values())

    @property
    def queue_length(self) -> int:
        """Return the requests waiting for a board."""
        return len(self._queue)

    def can_serve(self, choice: str, *, home: str | None = None) -> bool:
        """Return True when a reachable board has the model `choice`, or `home` is reachable.

        The agent's own server is asked even for a model its last poll did not list.
        """
        return any(
            board.healthy and (board.entry_id == home or board.coordinator.offers(choice))
            for board in self.boards.values()
        )

    # -- the one call ------------------------------------------------------------------------

    async def async_chat(
        self,
        choice: str,
        messages: Sequence[ChatMessage],
        *,
        home: str | None = None,
        options: ChatOptions | None = None,
        think: bool | None = None,
        response_format: JsonValue = None,
        deadline: float | None = None,
    ) -> AsyncGenerator[ChatChunk]:
        """Stream one answer of the model `choice` from the best board.

        `home` is the asking agent's entry: its board wins ties. `deadline` (event-loop time)
        bounds the answer.

        Raises:
            PoolBusyError: the queue is full, or no board became free in time.
            RkllamaError: every board that could answer failed before its first word (the
                last board's error), or the answer broke off after it.

        """
        tried: set[str] = set()
        last_error: RkllamaError | None = None
        while True:
            try:
                board, model = await self._acquire(choice, home, tried, retry=bool(tried))
            except PoolBusyError:
                raise
            except RkllamaError:
                if last_error is not None:
                    raise last_error from None
                raise
            spoken = False
            coordinator = board.coordinator
            try:
                # Closed with this generator: an answer left early is drained at once.
                async with (
                    coordinator.residency.use(model),
                    contextlib.aclosing(
                        coordinator.client.chat(
                            messages,
                            model=model,
                            options=options,
                            think=think,
                            response_format=response_format,
                            deadline=deadline,
                        )
                    ) as chunks,
                ):
                    async for chunk in chunks:
                        if chunk.stats is not None:
                            coordinator.async_record_inference(model, chunk.stats)
                        spoken = spoken or bool(chunk.content or chunk.thinking or chunk.tool_calls)
                        yield chunk
            except RkllamaError as err:
                report_model_issue(coordinator, model, err)
                if isinstance(err, RkllamaConnectionError) and not isinstance(
                    err, RkllamaTimeoutError
                ):
                    coordinator.async_mark_unreachable(err)
                if spoken:
                    raise
                LOGGER.info(
                    "%s failed before the first word (%s); trying another board",
                    coordinator.name,
                    err,
                )
                tried.add(board.entry_id)
                last_error = err
            else:
                clear_model_issues(coordinator, model)
                if not coordinator.last_update_success:
                    # It answered while marked down: poll now so it rejoins at once.
                    coordinator.config_entry.async_create_background_task(
                        self.hass, coordinator.async_request_refresh(), f"{DOMAIN} rejoin"
                    )
                return
            finally:
                self._release(board, model)

    # -- queue -------------------------------------------------------------------------------

    async def _acquire(
        self, choice: str, home: str | None, tried: set[str], *, retry: bool
    ) -> tuple[Board, str]:
        """Wait in the FIFO for a board; a retry keeps its place at the front."""
        if not retry and len(self._queue) >= QUEUE_LIMIT:
            raise PoolBusyError(f"{len(self._queue)} requests are already waiting")
        ticket = _Ticket(choice, home, tried, asyncio.get_running_loop().create_future())
        if retry:
            self._queue.appendleft(ticket)
        else:
            self._queue.append(ticket)
        self._dispatch()
        try:
            async with asyncio.timeout(QUEUE_TIMEOUT):
                return await asyncio.shield(ticket.future)
        except TimeoutError as err:
            self._abandon(ticket)
            raise PoolBusyError(f"no board was free within {QUEUE_TIMEOUT:.0f} s") from err
        except asyncio.CancelledError:
            self._abandon(ticket)
            raise

    def _abandon(self, ticket: _Ticket) -> None:
        """Forget a ticket whose caller gave up; hand back a board it was given meanwhile."""
        if ticket in self._queue:
            self._queue.remove(ticket)
            ticket.future.cancel()
            self._notify()
        elif (
            ticket.future.done()
            and not ticket.future.cancelled()
            and ticket.future.exception() is None
        ):
            self._release(*ticket.future.result())

    def _release(self, board: Board, model: str) -> None:
        board.running[board.lane(model)] -= 1
        self._dispatch()

    @callback
    def _dispatch(self) -> None:
        """Hand free boards to waiting requests, oldest first."""
        ahead: Counter[str] = Counter()
        for ticket in list(self._queue):
            placement = self._place(ticket, ahead[ticket.choice])
            if placement is None:
                ahead[ticket.choice] += 1
                continue
            self._queue.remove(ticket)
            if isinstance(placement, RkllamaError):
                ticket.future.set_exception(placement)
                continue
            board, model = placement
            if board.single_model and model not in board.coordinator.residency.resident:
                for other in self._queue:
                    other.skipped = 0  # a switch: count passes anew
            board.running[board.lane(model)] += 1
            ticket.future.set_result(placement)
        self._notify()

    def _place(self, ticket: _Ticket, ahead: int) -> _Placement:
        """Return the board for `ticket`, an error, or None to keep waiting.

        A resident model on a free board first (shortest queue, then the agent's own board);
        a request that is next in line for a board holding its model waits for it; one that
        would wait behind other requests loads its model on the free board that can load it
        soonest. A single-model board is not switched while requests for its model wait
        (at most MAX_SWITCH_SKIPS times in a row).
        """
        choice = ticket.choice
        offering = [
            (board, name)
            for board in self.boards.values()
            if board.entry_id not in ticket.tried
            and (name := board.coordinator.offers(choice)) is not None
        ]
        # Boards marked down are tried only when no other can answer: one may be back
        # before its next poll, and one that is not fails fast.
        usable = [(board, name) for board, name in offering if board.healthy] or offering
        if not usable:
            home = self.boards.get(ticket.home or "")
            if home is None or home.entry_id in ticket.tried:
                return RkllamaModelNotFoundError(f"no board has the model {choice}")
            # Not in the last poll's list: let the agent's own server answer for it.
            usable = [(home, home.coordinator.server_model(choice))]

        def rank(item: tuple[Board, str]) -> tuple[int, int, bool]:
            board, _name = item
            cost = 1 if board.single_model and board.coordinator.residency.resident else 0
            return (cost, board.running.total(), board.entry_id != ticket.home)

        holders = [(board, name) for board, name in usable if board.holds(name)]
        ready = [
            (board, name)
            for board, name in holders
            if board.free(name) and board.coordinator.residency.is_resident(name)
        ]
        if ready:
            return min(ready, key=rank)
        if holders and ahead < sum(board.slots for board, _ in holders):
            return None  # next in line for a board that holds the model: no needless load
        loadable = [
            (board, name)
            for board, name in usable
            if (board, name) not in holders and board.free(name) and self._may_switch(board, ticket)
        ]
        return min(loadable, key=rank) if loadable else None

    def _may_switch(self, board: Board, ticket: _Ticket) -> bool:
        """Return False while requests for a single-model board's model wait for it."""
        resident = board.coordinator.residency.resident
        if not board.single_model or not resident:
            return True
        wanted = any(
            other is not ticket and board.coordinator.offers(other.choice) in resident
            for other in self._queue
        )
        if wanted and ticket.skipped < MAX_SWITCH_SKIPS:
            ticket.skipped += 1
            return False
        return True

    @callback
    def _notify(self) -> None:
        for update in list(self._listeners):
            update()

    # -- boards coming and going; kept models ------------------------------------------------

    @callback
    def _on_board_update(self, board: Board) -> None:
        """Follow a poll (or a request that found the server gone) of `board`."""
        healthy = board.healthy
        if healthy and not board.was_healthy:
            LOGGER.debug("%s is back in the pool", board.coordinator.name)
            self._preload(board)
        board.was_healthy = healthy
        if healthy:
            self._refresh_kept(board)
        self._dispatch()

    def _kept_names(self, board: Board) -> list[str]:
        """Return `board`'s names of every model an agent of any entry keeps loaded."""
        names: list[str] = []
        for each in self.boards.values():
            for subentry in each.coordinator.config_entry.subentries.values():
                choice = subentry.data.get(CONF_MODEL)
                if not subentry.data.get(CONF_KEEP_LOADED) or not isinstance(choice, str):
                    continue
                name = board.coordinator.offers(choice)
                if name is not None and name not in names:
                    names.append(name)
        return names

    @callback
    def _preload(self, board: Board) -> None:
        """Load the kept models on `board` (single-model: one, when it holds none)."""
        if not board.healthy:
            return
        residency = board.coordinator.residency
        missing = [name for name in self._kept_names(board) if name not in residency.resident]
        if board.single_model:
            missing = missing[:1] if not residency.resident else []
        if not missing:
            return

        async def preload() -> None:
            for name in missing:
                try:
                    await residency.ensure_loaded(name, wait=ACTION_WAIT)
                except RkllamaError as err:
                    LOGGER.warning("Could not preload model %s: %s", name, err)
            self._dispatch()

        board.coordinator.config_entry.async_create_background_task(
            self.hass, preload(), f"{DOMAIN} preload kept models"
        )

    @callback
    def _refresh_kept(self, board: Board) -> None:
        """Touch kept models before the server's idle timer unloads them."""
        coordinator = board.coordinator
        residency = coordinator.residency
        loaded = coordinator.data.loaded_names
        now = time.monotonic()
        for name in self._kept_names(board):
            if name not in loaded:
                continue
            # Unknown (loaded before us, or by someone else): touch at once to be safe.
            last = residency.last_used.get(name)
            if last is None or now - last >= KEEP_LOADED_REFRESH.total_seconds():
                residency.last_used[name] = now
                coordinator.config_entry.async_create_background_task(
                    self.hass, _touch(coordinator, name), f"{DOMAIN} keep {name} loaded"
                )


async def _touch(coordinator: RkllmDataUpdateCoordinator, name: str) -> None:
    """Send a one-token request so the server restarts the model's idle timer."""
    try:
        await coordinator.client.touch(name)
    except RkllamaError as err:
        LOGGER.debug("Keeping %s loaded failed: %s", name, err)


POOL_KEY: HassKey[NpuPool] = HassKey(f"{DOMAIN}_pool")


@callback
def async_get_pool(hass: HomeAssistant) -> NpuPool:
    """Return the pool of this Home Assistant (made on first use)."""
    if (pool := hass.data.get(POOL_KEY)) is None:
        pool = hass.data[POOL_KEY] = NpuPool(hass)
    return pool
