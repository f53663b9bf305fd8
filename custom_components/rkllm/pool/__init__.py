"""One owner of the NPUs: the servers of every rkllm entry as one pool.

RKLLM runs whole models, so servers share work per request, never per layer. Each config entry
registers its server here (it keeps its own entry, device and coordinator). Every request the
integration sends to a server goes through the pool and holds a place in one of the server's
lanes while it runs: answers wait in one fair, bounded FIFO for a place; a keep-alive touch
takes a free place or is not sent; a load or an unload (an action, a preload) waits for its
lane to empty and holds it alone. A server is never asked to load a model that is loading or
resident (see `residency`). A server that fails before the first word is skipped and the
request goes to the next one; after the first word the error is the caller's to speak, so an
answer is never repeated or spliced.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
import contextlib
from dataclasses import dataclass, replace
from functools import partial
import time

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.util.hass_dict import HassKey

from ..api import (
    ChatChunk,
    ChatMessage,
    ChatOptions,
    JsonValue,
    RkllamaError,
    RkllamaTimeoutError,
)
from ..const import DEFAULT_PATIENCE, DOMAIN, LOGGER
from ..coordinator import RkllmDataUpdateCoordinator
from .deadlines import RECHECK_TIMEOUT, load_allowance, stream_limits
from .keep_loaded import to_preload, to_touch
from .placement import NoServerError, Ticket, place
from .repairs import clear_model_issues, report_model_issue
from .residency import ModelResidency
from .server import Npu, PoolServer

QUEUE_LIMIT = 32
"""Requests waiting for a server across the pool; past it the user hears "busy"."""
QUEUE_TIMEOUT = 120.0
"""Seconds a request waits for a server before the user hears "busy"."""
ACTION_WAIT = 30.0
"""Seconds a load or unload (action, preload) waits for the requests it would disturb."""
MAX_ACTION_WAITERS = 4
"""Loads and unloads waiting on one server at once; more are refused at once."""


class PoolBusyError(RkllamaError):
    """Every server that can answer is busy and the queue is full (or the wait ran out)."""


class ModelInUseError(RkllamaError):
    """A load or unload would disturb running answers, and they did not finish in time."""


@dataclass(frozen=True, slots=True)
class _Question:
    """What an answer is asked for."""

    messages: Sequence[ChatMessage]
    options: ChatOptions | None
    think: bool | None
    response_format: JsonValue
    deadline: float | None
    prompt_tokens: int
    patience: float


class NpuPool:
    """Every rkllm server of this Home Assistant, as one pool."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Start empty; config entries register their servers."""
        self.hass = hass
        self.servers: dict[str, PoolServer] = {}
        self._npus: dict[str, Npu] = {}
        self._queue: deque[Ticket] = deque()
        self._listeners: list[CALLBACK_TYPE] = []
        self._answers = 0

    # -- registration ----------------------------------------------------------------------

    @callback
    def async_register(
        self, entry_id: str, coordinator: RkllmDataUpdateCoordinator, answers_per_model: int = 1
    ) -> CALLBACK_TYPE:
        """Add an entry's server to the pool; preload kept models; return the remover."""
        npu = self._npu_for(coordinator)
        server = PoolServer(entry_id, coordinator, npu, max(1, answers_per_model))
        self.servers[entry_id] = server
        self._sync(server)
        remove_listener = coordinator.async_add_listener(lambda: self._on_server_update(server))

        @callback
        def unregister() -> None:
            remove_listener()
            if self.servers.get(entry_id) is server:
                del self.servers[entry_id]
            address = _address(coordinator)
            in_use = any(each.npu is npu for each in self.servers.values())
            if not in_use and not npu.busy and self._npus.get(address) is npu:
                del self._npus[address]
            self._dispatch()

        for each in self.servers.values():
            self._preload(each)
        self._dispatch()
        return unregister

    @callback
    def async_add_listener(self, update: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call `update` when servers come or go, or the queue changes."""
        self._listeners.append(update)
        return lambda: self._listeners.remove(update)

    def _npu_for(self, coordinator: RkllmDataUpdateCoordinator) -> Npu:
        """Return the NPU of the coordinator's address (kept across reloads while busy)."""
        address = _address(coordinator)
        single_model = coordinator.server_info.flavour.single_model
        npu = self._npus.get(address)
        if npu is None or (npu.residency.single_model != single_model and not npu.busy):
            residency = ModelResidency(
                self.hass,
                single_model=single_model,
                on_change=lambda: self._on_npu_change(address),
            )
            npu = self._npus[address] = Npu(residency)
        return npu

    # -- what the sensors, agents and diagnostics show ---------------------------------------

    @property
    def servers_online(self) -> int:
        """Return the number of servers answering right now."""
        return sum(server.healthy for server in self.servers.values())

    @property
    def in_flight(self) -> int:
        """Return the answers being generated (or their models loaded) right now."""
        return self._answers

    @property
    def queue_length(self) -> int:
        """Return the requests waiting for a server."""
        return len(self._queue)

    def can_serve(self, choice: str, *, own_entry: str | None = None) -> bool:
        """Return True when a reachable server has the model `choice`, or `own_entry`'s is up.

        The agent's own server is asked even for a model its last poll did not list.
        """
        return any(
            server.healthy and (server.entry_id == own_entry or server.coordinator.offers(choice))
            for server in self.servers.values()
        )

    def residency(self, entry_id: str) -> ModelResidency:
        """Return what the entry's server holds and loads."""
        return self.servers[entry_id].residency

    # -- answers -----------------------------------------------------------------------------

    async def async_chat(
        self,
        choice: str,
        messages: Sequence[ChatMessage],
        *,
        own_entry: str | None = None,
        options: ChatOptions | None = None,
        think: bool | None = None,
        response_format: JsonValue = None,
        deadline: float | None = None,
        prompt_tokens: int = 0,
        patience: float = DEFAULT_PATIENCE,
    ) -> AsyncGenerator[ChatChunk]:
        """Stream one answer of the model `choice` from the best server.

        `own_entry` is the asking agent's config entry: its server wins ties. `deadline`
        (event-loop time) bounds the answer; `prompt_tokens` and the agent's `patience` set
        the first-word and gap deadlines (see `deadlines`).

        Raises:
            PoolBusyError: the queue is full, or no server became free in time.
            NoServerError: every server that has the model is known to be down.
            RkllamaError: every server that could answer failed before its first word (the
                last server's error), or the answer broke off after it.

        """
        question = _Question(
            messages, options, think, response_format, deadline, prompt_tokens, patience
        )
        tried: set[str] = set()
        last_error: RkllamaError | None = None
        while True:
            try:
                server, model, load = await self._acquire(choice, own_entry, tried)
            except PoolBusyError:
                raise
            except RkllamaError:
                if last_error is not None:
                    raise last_error from None
                raise
            spoken = False
            try:
                # Closed with this generator: an answer left early is drained at once.
                async with contextlib.aclosing(
                    self._answer(server, model, load, question)
                ) as chunks:
                    async for chunk in chunks:
                        spoken = spoken or bool(chunk.content or chunk.thinking or chunk.tool_calls)
                        yield chunk
            except RkllamaError as err:
                self._on_failure(server, model, err, retried=not spoken)
                if spoken:
                    raise
                tried.add(server.entry_id)
                last_error = err
            else:
                self._on_success(server, model)
                return
            finally:
                self._release(server, model)

    async def _answer(
        self,
        server: PoolServer,
        model: str,
        load: asyncio.Task[None] | None,
        question: _Question,
    ) -> AsyncGenerator[ChatChunk]:
        """Stream the answer from `server`, once the load of its model (if any) is done.

        The load counts against the first-word deadline; past it, the load goes on for the
        next request and this one fails before its first word (so it may go elsewhere).
        """
        coordinator = server.coordinator
        if (load_seconds := server.residency.mean_load_seconds) is not None:
            coordinator.figures.record_load(load_seconds)
        limits = stream_limits(
            coordinator.figures,
            coordinator.client.timeouts,
            question.prompt_tokens,
            loads=load is not None,
            patience=question.patience,
        )
        if load is None:
            limits = replace(limits, recheck=partial(_reload_seconds, server, model))
        if load is not None:
            loop = asyncio.get_running_loop()
            first_by = loop.time() + limits.first_chunk
            try:
                async with asyncio.timeout_at(first_by):
                    await asyncio.shield(load)
            except TimeoutError as err:
                raise RkllamaTimeoutError(
                    f"{coordinator.name}: {model} did not load within {limits.first_chunk:.1f} s"
                ) from err
            limits = replace(limits, first_chunk=max(0.0, first_by - loop.time()))
        async with contextlib.aclosing(
            coordinator.client.chat(
                question.messages,
                model=model,
                options=question.options,
                think=question.think,
                response_format=question.response_format,
                deadline=question.deadline,
                limits=limits,
            )
        ) as chunks:
            async for chunk in chunks:
                if chunk.stats is not None:
                    coordinator.async_record_inference(model, chunk.stats)
                yield chunk

    def _on_failure(
        self, server: PoolServer, model: str, err: RkllamaError, *, retried: bool
    ) -> None:
        coordinator = server.coordinator
        report_model_issue(self.hass, coordinator.config_entry, model, err)
        coordinator.async_mark_unreachable(err)
        if retried:
            LOGGER.info(
                "%s failed before the first word (%s); trying another server",
                coordinator.name,
                err,
            )

    def _on_success(self, server: PoolServer, model: str) -> None:
        coordinator = server.coordinator
        clear_model_issues(self.hass, coordinator.config_entry, model)
        if not coordinator.last_update_success:
            # It answered while marked down: poll now so it rejoins at once.
            coordinator.config_entry.async_create_background_task(
                self.hass, coordinator.async_request_refresh(), f"{DOMAIN} rejoin"
            )

    # -- the queue ---------------------------------------------------------------------------

    async def _acquire(
        self, choice: str, own_entry: str | None, tried: set[str]
    ) -> tuple[PoolServer, str, asyncio.Task[None] | None]:
        """Wait in the FIFO for a server; a retry (after a failure) keeps its place in front.

        Return the server, its name of the model, and the model's load to wait for.
        """
        retry = bool(tried)
        if not retry and len(self._queue) >= QUEUE_LIMIT:
            raise PoolBusyError(f"{len(self._queue)} requests are already waiting")
        ticket = Ticket(choice, own_entry, tried, asyncio.get_running_loop().create_future())
        if retry:
            self._queue.appendleft(ticket)
        else:
            self._queue.append(ticket)
        self._dispatch()
        try:
            async with asyncio.timeout(QUEUE_TIMEOUT):
                server, model = await asyncio.shield(ticket.future)
        except TimeoutError as err:
            self._abandon(ticket)
            raise PoolBusyError(f"no server was free within {QUEUE_TIMEOUT:.0f} s") from err
        except asyncio.CancelledError:
            self._abandon(ticket)
            raise
        return server, model, ticket.load

    def _abandon(self, ticket: Ticket) -> None:
        """Forget a ticket whose caller gave up; hand back a server it was given meanwhile."""
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

    def _start_answer(self, server: PoolServer, model: str) -> asyncio.Task[None] | None:
        """Count an answer placed on `server`; return its model's load, started when needed.

        Started here, not by the answer's task: nothing else is placed on a server that is
        being switched, and the load goes on if the caller gives up.
        """
        self._answers += 1
        server.npu.start(server.lane(model))
        server.npu.last_used[model] = time.monotonic()
        server.residency.use(model)
        return server.residency.start_load(server.coordinator.client, model)

    def _release(self, server: PoolServer, model: str) -> None:
        self._answers -= 1
        server.npu.finish(server.lane(model))
        self._dispatch()

    @callback
    def _dispatch(self) -> None:
        """Hand free servers to waiting requests, oldest first."""
        ahead: Counter[str] = Counter()
        for ticket in list(self._queue):
            placement = place(ticket, self.servers.values(), self._queue, ahead[ticket.choice])
            if placement is None:
                ahead[ticket.choice] += 1
                continue
            self._queue.remove(ticket)
            if isinstance(placement, RkllamaError):
                if isinstance(placement, NoServerError):
                    self._poll_down_servers()
                ticket.future.set_exception(placement)
                continue
            server, model = placement
            if server.single_model and not server.residency.holds(model):
                for other in self._queue:
                    other.skipped = 0  # a switch: count passes anew
            ticket.load = self._start_answer(server, model)
            ticket.future.set_result(placement)
        self._notify()

    @callback
    def _poll_down_servers(self) -> None:
        """Ask the servers known down to poll soon (debounced): a good poll brings one back."""
        for server in self.servers.values():
            if not server.reachable:
                coordinator = server.coordinator
                coordinator.config_entry.async_create_background_task(
                    self.hass, coordinator.async_request_refresh(), f"{DOMAIN} poll a down server"
                )

    @callback
    def _notify(self) -> None:
        for update in list(self._listeners):
            update()

    # -- loads and unloads: actions and preloads ---------------------------------------------

    async def async_load_model(self, entry_id: str, model: str, *, wait: float) -> bool:
        """Make `model` resident on the entry's server; True when this call loaded it.

        A single-model server is switched once the answers running on it have finished.

        Raises:
            ModelInUseError: the answers it would disturb ran on for `wait` seconds.
            RkllamaError: the load failed.

        """
        return await self._load(self.servers[entry_id], model, wait)

    async def async_unload_model(self, entry_id: str, model: str, *, wait: float) -> bool:
        """Unload `model` once its answers have finished; False when the server did not hold it.

        Raises:
            ModelInUseError: its answers ran on for `wait` seconds.
            RkllamaError: the unload failed.

        """
        server = self.servers[entry_id]
        async with self._lane_alone(server, model, wait):
            return await server.residency.unload(server.coordinator.client, model)

    async def _load(self, server: PoolServer, model: str, wait: float) -> bool:
        residency = server.residency
        if residency.is_ready(model) or residency.is_loading(model):
            residency.use(model)
            return await residency.load(server.coordinator.client, model)  # joins a load
        async with self._lane_alone(server, model, wait):
            loaded = await residency.load(server.coordinator.client, model)
            server.npu.last_used[model] = time.monotonic()
            return loaded

    @contextlib.asynccontextmanager
    async def _lane_alone(self, server: PoolServer, model: str, wait: float) -> AsyncIterator[None]:
        """Hold `model`'s lane on `server` alone, once the requests in it have finished.

        No answer starts in the lane while this waits (at most `wait` seconds) or runs.
        """
        npu, lane = server.npu, server.lane(model)
        if npu.actions_waiting >= MAX_ACTION_WAITERS:
            raise ModelInUseError("too many actions are waiting for this server")
        npu.claimed[lane] += 1
        try:
            npu.actions_waiting += 1
            try:
                async with asyncio.timeout(wait):
                    await npu.wait_empty(lane)
            except TimeoutError as err:
                raise ModelInUseError(f"the server kept answering for {wait:.0f} s") from err
            finally:
                npu.actions_waiting -= 1
            npu.start(lane)
            try:
                yield
            finally:
                npu.finish(lane)
        finally:
            npu.claimed[lane] -= 1
            self._dispatch()

    # -- servers coming and going; kept models -----------------------------------------------

    @callback
    def _on_server_update(self, server: PoolServer) -> None:
        """Follow a poll (or a request that found the server gone) of `server`."""
        healthy = server.healthy
        if healthy and not server.was_healthy:
            LOGGER.debug("%s is back in the pool", server.coordinator.name)
            self._preload(server)
        server.was_healthy = healthy
        self._sync(server)
        if healthy:
            self._refresh_kept(server)
        self._dispatch()

    @callback
    def _on_npu_change(self, address: str) -> None:
        """Poll the servers at `address` after a load or unload; place waiting requests."""
        for server in self.servers.values():
            if _address(server.coordinator) == address:
                server.coordinator.async_schedule_refresh()
        self._dispatch()

    @staticmethod
    def _sync(server: PoolServer) -> None:
        """Adopt the server's list of resident models from its last poll."""
        if (state := server.coordinator.data) is not None:
            server.residency.sync(state.loaded_names, state.polled_at)

    @callback
    def _preload(self, server: PoolServer) -> None:
        """Load the kept models on `server` (single-model: one, when it holds none)."""
        if not server.healthy or not (names := to_preload(server, self.servers.values())):
            return

        async def preload() -> None:
            for name in names:
                try:
                    await self._load(server, name, ACTION_WAIT)
                except RkllamaError as err:
                    LOGGER.warning("Could not preload model %s: %s", name, err)

        server.coordinator.config_entry.async_create_background_task(
            self.hass, preload(), f"{DOMAIN} preload kept models"
        )

    @callback
    def _refresh_kept(self, server: PoolServer) -> None:
        """Touch kept models before the server's idle timer unloads them."""
        now = time.monotonic()
        for name in to_touch(server, self.servers.values(), now):
            if not server.idle(name):
                continue  # a touch just took the lane (single-model server)
            server.npu.start(server.lane(name))
            server.npu.last_used[name] = now
            self.hass.async_create_background_task(
                self._touch(server, name), f"{DOMAIN} keep {name} loaded"
            )

    async def _touch(self, server: PoolServer, name: str) -> None:
        """Send a one-token request so the server restarts the model's idle timer."""
        try:
            await server.coordinator.client.touch(name)
        except RkllamaError as err:
            LOGGER.debug("Keeping %s loaded failed: %s", name, err)
        finally:
            server.npu.finish(server.lane(name))
            self._dispatch()


def _address(coordinator: RkllmDataUpdateCoordinator) -> str:
    """Return the server address the coordinator polls (one NPU per address)."""
    return coordinator.client.address.rstrip("/")


async def _reload_seconds(server: PoolServer, model: str) -> float:
    """Return the seconds to add when a late first word may be a load the server does itself.

    A model believed resident may have left the NPU behind the pool's back (the server's idle
    timer, another client); upstream rkllama then loads it on demand before answering. The
    server's list of resident models tells that apart from a silent server (0: silent).
    """
    try:
        async with asyncio.timeout(RECHECK_TIMEOUT):
            loaded = await server.coordinator.client.loaded_models()
    except RkllamaError, TimeoutError:
        return 0.0
    if any(entry.name == model for entry in loaded):
        return 0.0  # resident and still silent
    # The pool's residency is left as it is: the server's own load makes it true again.
    return load_allowance(server.coordinator.figures)


POOL_KEY: HassKey[NpuPool] = HassKey(f"{DOMAIN}_pool")


@callback
def async_get_pool(hass: HomeAssistant) -> NpuPool:
    """Return the pool of this Home Assistant (made on first use)."""
    if (pool := hass.data.get(POOL_KEY)) is None:
        pool = hass.data[POOL_KEY] = NpuPool(hass)
    return pool


__all__ = [
    "ACTION_WAIT",
    "QUEUE_LIMIT",
    "QUEUE_TIMEOUT",
    "ModelInUseError",
    "NoServerError",
    "NpuPool",
    "PoolBusyError",
    "async_get_pool",
]
