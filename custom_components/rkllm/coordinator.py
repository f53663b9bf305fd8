"""Coordinator of one rkllama server: health, available and resident models, measured figures."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
import time

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    ConfigEntryError,
    ConfigEntryNotReady,
    HomeAssistantError,
)
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .api import (
    GenerationStats,
    LoadedModel,
    ModelInfo,
    RkllamaAuthError,
    RkllamaClient,
    RkllamaConnectionError,
    RkllamaError,
    RkllamaTimeoutError,
    RkllamaUnsupportedError,
    ServerInfo,
)
from .const import DOMAIN, LOGGER, SCAN_INTERVAL
from .models import ModelProfile, find_known_model, model_profile, server_model_for_choice


@dataclass(frozen=True, slots=True)
class InferenceRecord:
    """Figures of the last answer an agent of this server produced."""

    model: str
    prompt_tokens: int
    completion_tokens: int
    tokens_per_second: float | None
    """Decode rate."""
    time_to_first_token: float
    """Seconds from sending the request to the first streamed piece."""
    response_time: float
    """Seconds from sending the request to the end of the answer."""
    finished_at: datetime

    @classmethod
    def from_stats(cls, model: str, stats: GenerationStats) -> InferenceRecord:
        """Build from the client's statistics of one generation."""
        return cls(
            model=model,
            prompt_tokens=stats.prompt_tokens,
            completion_tokens=stats.completion_tokens,
            tokens_per_second=stats.tokens_per_second,
            time_to_first_token=stats.time_to_first_chunk,
            response_time=stats.wall_seconds,
            finished_at=dt_util.utcnow(),
        )


@dataclass(slots=True)
class ServerFigures:
    """Measured per server; None until an answer (or a load) has measured it."""

    prefill_rate: float | None = None
    """Prompt tokens a second, from the last answer that reported its prefill time."""
    decode_rate: float | None = None
    """Answer tokens a second of the last answer."""
    overhead: float | None = None
    """Seconds to the first piece that the prefill does not explain (the server's own work)."""
    load_seconds: float | None = None
    """Seconds the last model load took."""

    def record_answer(self, stats: GenerationStats) -> None:
        """Adopt the figures of a finished answer."""
        if (prefill := stats.prompt_tokens_per_second) is not None:
            self.prefill_rate = prefill
        if (decode := stats.tokens_per_second) is not None:
            self.decode_rate = decode
        # Without the server's prefill time the whole wait counts (on the safe side).
        prefill_seconds = stats.prompt_eval_seconds or 0.0
        self.overhead = max(0.0, stats.time_to_first_chunk - prefill_seconds)

    def record_load(self, seconds: float) -> None:
        """Adopt the time a model load took."""
        self.load_seconds = seconds


@dataclass(frozen=True, slots=True)
class RkllmServerState:
    """What the coordinator knows about the server."""

    info: ServerInfo
    models: tuple[ModelInfo, ...]
    loaded: tuple[LoadedModel, ...]
    last_inference: InferenceRecord | None = None
    """Kept across polls; replaced by every answer."""
    polled_at: float = 0.0
    """Monotonic time the poll that read `models` and `loaded` started."""

    @property
    def model_names(self) -> list[str]:
        """Return the names of the available models."""
        return [model.name for model in self.models]

    @property
    def loaded_names(self) -> list[str]:
        """Return the names of the resident models."""
        return [model.name for model in self.loaded]


class RkllmDataUpdateCoordinator(DataUpdateCoordinator[RkllmServerState]):
    """Poll one rkllama server and hold what is known about it."""

    config_entry: ConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        client: RkllamaClient,
        server_info: ServerInfo,
    ) -> None:
        """Create the coordinator of `entry`, whose server was detected as `server_info`."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=entry.title,
            update_interval=SCAN_INTERVAL,
        )
        self.client = client
        self.server_info = server_info
        self._profiles: dict[str, ModelProfile] = {}
        """Server model name → its profile (from the server's details; they do not change)."""
        self._names: dict[str, tuple[str, str | None]] = {}
        """Model choice → (the server's name for it, that name if offered).

        Kept while the server's list of models stays the same.
        """
        self.known_down = False
        """The last poll or request could not reach the server (not merely a slow or odd
        answer): it gets no request until a poll succeeds."""
        self.figures = ServerFigures()
        """What the server was measured to take (prefill, decode, overhead, loads)."""

    @classmethod
    async def async_create(
        cls, hass: HomeAssistant, entry: ConfigEntry, client: RkllamaClient
    ) -> RkllmDataUpdateCoordinator:
        """Detect the server's API flavour, then return its coordinator.

        Raises:
            ConfigEntryNotReady, ConfigEntryAuthFailed, ConfigEntryError.

        """
        try:
            info = await client.detect()
        except RkllamaError as err:
            raise _setup_error(err, retry=ConfigEntryNotReady) from err
        return cls(hass, entry, client, info)

    async def _async_update_data(self) -> RkllmServerState:
        """Fetch health, available and resident models."""
        started = time.monotonic()
        try:
            models = await self.client.models()
            loaded = await self.client.loaded_models()
        except RkllamaError as err:
            self.known_down = self.known_down or _gone(err)
            raise _setup_error(err, retry=UpdateFailed) from err
        self.known_down = False
        previous = self.data.last_inference if self.data else None
        if self.data is None or [model.name for model in models] != self.data.model_names:
            self._names = {}  # the catalogue is asked again against the new model list
        return RkllmServerState(
            self.server_info, tuple(models), tuple(loaded), previous, polled_at=started
        )

    def server_model(self, choice: str) -> str:
        """Return the server's name for an agent's model choice."""
        return self._resolve(choice)[0]

    def offers(self, choice: str) -> str | None:
        """Return the server's name for `choice` when the server has that model."""
        return self._resolve(choice)[1]

    def _resolve(self, choice: str) -> tuple[str, str | None]:
        """Look `choice` up in the catalogue against the last poll's models (once a poll)."""
        if (names := self._names.get(choice)) is None:
            available = self.data.model_names if self.data else []
            name = server_model_for_choice(choice, available)
            known = find_known_model(choice)
            offered = name in available or (known is not None and find_known_model(name) == known)
            names = self._names[choice] = (name, name if offered else None)
        return names

    async def async_profile(self, choice: str) -> ModelProfile:
        """Return tokenizer, context and reasoning facts for a model choice (cached)."""
        name = self.server_model(choice)
        if (profile := self._profiles.get(name)) is not None:
            return profile
        try:
            details = await self.client.show(name)
        except RkllamaError as err:
            LOGGER.debug("No details for %s from the server: %s", name, err)
            return model_profile(name)  # asked again next time
        profile = self._profiles[name] = model_profile(name, details)
        return profile

    def cached_profile(self, choice: str) -> ModelProfile | None:
        """Return the profile of a model choice when it was looked up already (never waits)."""
        return self._profiles.get(self.server_model(choice))

    @callback
    def async_record_inference(self, model: str, stats: GenerationStats) -> None:
        """Store the figures of an answer and update the sensors."""
        record = InferenceRecord.from_stats(model, stats)
        self.figures.record_answer(stats)
        if self.data is not None:
            self.async_set_updated_data(replace(self.data, last_inference=record))

    @callback
    def async_mark_unreachable(self, err: RkllamaError) -> None:
        """Mark the server unavailable at once when a request found it gone (not merely slow).

        Logged once; the next successful poll brings it back and logs the recovery.
        """
        if not _gone(err):
            return
        self.known_down = True
        if not self.last_update_success:
            self.async_update_listeners()
            return
        LOGGER.warning("%s is unavailable: %s", self.name, err)
        self.last_update_success = False
        self.async_update_listeners()

    @callback
    def async_schedule_refresh(self) -> None:
        """Poll now, without holding up the caller (after a load or unload).

        Not debounced: the loaded-model sensor should follow a load or unload at once.
        """
        self.config_entry.async_create_task(
            self.hass, self.async_refresh(), f"{DOMAIN} refresh after a model change"
        )


def _gone(err: RkllamaError) -> bool:
    """Return True when `err` says the server cannot be reached (not merely slow)."""
    return isinstance(err, RkllamaConnectionError) and not isinstance(err, RkllamaTimeoutError)


def _setup_error(
    err: RkllamaError, *, retry: type[ConfigEntryNotReady | UpdateFailed]
) -> HomeAssistantError:
    """Return what Home Assistant should make of a failed detect or poll.

    A refused token starts reauthentication, a server that is not rkllama stops retries,
    anything else is an outage the coordinator retries.
    """
    placeholders = {"error": str(err)}
    if isinstance(err, RkllamaAuthError):
        return ConfigEntryAuthFailed(
            translation_domain=DOMAIN,
            translation_key="invalid_auth",
            translation_placeholders=placeholders,
        )
    if isinstance(err, RkllamaUnsupportedError):
        return ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="not_rkllama",
            translation_placeholders=placeholders,
        )
    return retry(
        translation_domain=DOMAIN,
        translation_key="cannot_connect",
        translation_placeholders=placeholders,
    )
