"""Coordinator of one rkllama server: health, models, residency and last-inference figures."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
import time

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    ConfigEntryError,
    HomeAssistantError,
)
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .api import (
    GenerationStats,
    LoadedModel,
    ModelDetails,
    ModelInfo,
    RkllamaAuthError,
    RkllamaClient,
    RkllamaError,
    RkllamaUnsupportedError,
    ServerInfo,
)
from .const import CONF_KEEP_LOADED, DOMAIN, KEEP_LOADED_REFRESH, LOGGER, SCAN_INTERVAL
from .models import ModelProfile, model_profile, server_model_for_choice
from .residency import ModelResidency

type RkllmConfigEntry = ConfigEntry[RkllmRuntimeData]


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


@dataclass(frozen=True, slots=True)
class RkllmServerState:
    """What the coordinator knows about the server."""

    info: ServerInfo
    models: tuple[ModelInfo, ...]
    loaded: tuple[LoadedModel, ...]
    last_inference: InferenceRecord | None = None
    """Kept across polls; replaced by every answer."""

    @property
    def model_names(self) -> list[str]:
        """Return the names of the available models."""
        return [model.name for model in self.models]

    @property
    def loaded_names(self) -> list[str]:
        """Return the names of the resident models."""
        return [model.name for model in self.loaded]


@dataclass
class RkllmRuntimeData:
    """Objects one config entry keeps while loaded."""

    client: RkllamaClient
    coordinator: RkllmDataUpdateCoordinator


class RkllmDataUpdateCoordinator(DataUpdateCoordinator[RkllmServerState]):
    """Poll one rkllama server and manage which models it holds."""

    config_entry: RkllmConfigEntry

    def __init__(self, hass: HomeAssistant, entry: RkllmConfigEntry, client: RkllamaClient) -> None:
        """Create the coordinator for `entry`."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=DOMAIN,
            update_interval=SCAN_INTERVAL,
        )
        self.client = client
        self.server_info: ServerInfo | None = None
        self.residency: ModelResidency | None = None
        self.active_generations = 0
        """Answers being generated on this server right now (see boards.pick_board)."""
        self._details: dict[str, ModelDetails] = {}

    async def _async_setup(self) -> None:
        """Detect the API flavour once, before the first poll."""
        try:
            self.server_info = await self.client.detect()
        except RkllamaError as err:
            raise _setup_error(err) from err
        self.residency = ModelResidency(
            self.client,
            single_model=self.server_info.flavour.single_model,
            # Not debounced: the loaded-model sensor should follow a load or unload at once.
            on_change=self.async_refresh,
        )

    async def _async_update_data(self) -> RkllmServerState:
        """Fetch health, available and resident models."""
        assert self.server_info is not None  # noqa: S101 - set in _async_setup
        try:
            models = await self.client.models()
            loaded = await self.client.loaded_models()
        except RkllamaError as err:
            raise _setup_error(err) from err
        if self.residency is not None:
            self.residency.sync([model.name for model in loaded])
        previous = self.data.last_inference if self.data else None
        state = RkllmServerState(self.server_info, tuple(models), tuple(loaded), previous)
        self._schedule_keep_loaded(state)
        return state

    @property
    def model_residency(self) -> ModelResidency:
        """Return the residency manager (exists once the first refresh ran)."""
        assert self.residency is not None  # noqa: S101 - set in _async_setup
        return self.residency

    def server_model(self, choice: str) -> str:
        """Return the server's name for an agent's model choice."""
        return server_model_for_choice(choice, self.data.model_names if self.data else [])

    async def async_profile(self, choice: str) -> ModelProfile:
        """Return tokenizer, context and reasoning facts for a model choice (cached)."""
        name = self.server_model(choice)
        if name not in self._details:
            try:
                self._details[name] = await self.client.show(name)
            except RkllamaError as err:
                LOGGER.debug("No details for %s from the server: %s", name, err)
                return model_profile(name)
        return model_profile(name, self._details[name])

    @callback
    def async_record_inference(self, model: str, stats: GenerationStats) -> None:
        """Store the figures of an answer and update the sensors."""
        record = InferenceRecord.from_stats(model, stats)
        if self.data is not None:
            self.async_set_updated_data(replace(self.data, last_inference=record))

    def keep_loaded_models(self) -> list[str]:
        """Return the server names of the models agents asked to keep resident."""
        names: list[str] = []
        for subentry in self.config_entry.subentries.values():
            model = subentry.data.get("model")
            if subentry.data.get(CONF_KEEP_LOADED) and isinstance(model, str):
                name = self.server_model(model)
                if name not in names:
                    names.append(name)
        return names

    async def async_preload(self) -> None:
        """Load the models of "keep loaded" agents (one on single-model servers)."""
        wanted = self.keep_loaded_models()
        if self.residency is None or not wanted:
            return
        if self.residency.single_model:
            wanted = wanted[:1] if not self.residency.resident else []
        for name in wanted:
            try:
                await self.residency.ensure_loaded(name)
            except RkllamaError as err:
                LOGGER.warning("Could not preload model %s: %s", name, err)

    def _schedule_keep_loaded(self, state: RkllmServerState) -> None:
        """Touch kept models before the server's idle timer unloads them."""
        if self.residency is None or self.config_entry is None:
            return
        kept = [name for name in self.keep_loaded_models() if name in state.loaded_names]
        now = time.monotonic()
        for name in kept:
            # Unknown (loaded before us, or by someone else): touch at once to be safe.
            last = self.residency.last_used.get(name)
            if last is None or now - last >= KEEP_LOADED_REFRESH.total_seconds():
                self.residency.last_used[name] = now
                self.config_entry.async_create_background_task(
                    self.hass, self._touch_model(name), f"{DOMAIN} keep {name} loaded"
                )

    async def _touch_model(self, name: str) -> None:
        """Send a one-token request so the server restarts the model's idle timer."""
        try:
            await self.client.touch(name)
        except RkllamaError as err:
            LOGGER.debug("Keeping %s loaded failed: %s", name, err)


def _setup_error(err: RkllamaError) -> HomeAssistantError:
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
    return UpdateFailed(
        translation_domain=DOMAIN,
        translation_key="cannot_connect",
        translation_placeholders=placeholders,
    )
