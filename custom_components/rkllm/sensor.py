"""Sensors of the rkllama server: resident models and figures of the last answer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, override

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory, UnitOfTime
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .coordinator import InferenceRecord, RkllmDataUpdateCoordinator, RkllmServerState
from .entity import RkllmEntity
from .pool import NpuPool
from .runtime import RkllmConfigEntry

# Coordinator is used to centralize the data updates
PARALLEL_UPDATES = 0

NO_MODEL = "none"
MAX_STATE_LENGTH = 255
UNIT_TOKENS = "tokens"
UNIT_TOKENS_PER_SECOND = "tok/s"


@dataclass(frozen=True, kw_only=True)
class RkllmSensorEntityDescription(SensorEntityDescription):
    """Describes one sensor of the rkllama server."""

    value_fn: Callable[[RkllmServerState], StateType]


def _loaded_models(state: RkllmServerState) -> str:
    """Return the resident models, comma-joined, or "none"."""
    text = ", ".join(state.loaded_names) or NO_MODEL
    if len(text) > MAX_STATE_LENGTH:
        text = text[: MAX_STATE_LENGTH - 1] + "…"
    return text


def _answer_figure(
    key: str, figure: Callable[[InferenceRecord], StateType], **description: Any
) -> RkllmSensorEntityDescription:
    """Describe a figure of the last answer (unknown before any answer)."""

    def value(state: RkllmServerState) -> StateType:
        return figure(state.last_inference) if state.last_inference else None

    return RkllmSensorEntityDescription(
        key=key,
        translation_key=key,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=value,
        **description,
    )


SENSORS: tuple[RkllmSensorEntityDescription, ...] = (
    RkllmSensorEntityDescription(
        key="loaded_model",
        translation_key="loaded_model",
        value_fn=_loaded_models,
    ),
    _answer_figure(
        "tokens_per_second",
        lambda answer: answer.tokens_per_second,
        native_unit_of_measurement=UNIT_TOKENS_PER_SECOND,
        suggested_display_precision=1,
    ),
    _answer_figure(
        "time_to_first_token",
        lambda answer: round(answer.time_to_first_token * 1000, 1),
        native_unit_of_measurement=UnitOfTime.MILLISECONDS,
        device_class=SensorDeviceClass.DURATION,
        suggested_display_precision=0,
    ),
    _answer_figure(
        "prompt_tokens",
        lambda answer: answer.prompt_tokens,
        native_unit_of_measurement=UNIT_TOKENS,
    ),
    _answer_figure(
        "completion_tokens",
        lambda answer: answer.completion_tokens,
        native_unit_of_measurement=UNIT_TOKENS,
    ),
    _answer_figure(
        "response_time",
        lambda answer: round(answer.response_time, 3),
        native_unit_of_measurement=UnitOfTime.SECONDS,
        device_class=SensorDeviceClass.DURATION,
        suggested_display_precision=2,
    ),
    RkllmSensorEntityDescription(
        key="available_models",
        translation_key="available_models",
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda state: len(state.models),
    ),
)


@dataclass(frozen=True, kw_only=True)
class RkllmPoolSensorEntityDescription(SensorEntityDescription):
    """Describes one figure of the pool of every rkllm server."""

    value_fn: Callable[[NpuPool], int]


def _pool_figure(key: str, value_fn: Callable[[NpuPool], int]) -> RkllmPoolSensorEntityDescription:
    """Describe a diagnostic figure of the pool."""
    return RkllmPoolSensorEntityDescription(
        key=key,
        translation_key=key,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=value_fn,
    )


POOL_SENSORS: tuple[RkllmPoolSensorEntityDescription, ...] = (
    _pool_figure("pool_boards_online", lambda pool: pool.servers_online),
    _pool_figure("pool_in_flight", lambda pool: pool.in_flight),
    _pool_figure("pool_queue_length", lambda pool: pool.queue_length),
)


async def async_setup_entry(
    hass: HomeAssistant,  # noqa: ARG001 - Home Assistant's platform signature
    entry: RkllmConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the server's sensors and the pool's."""
    coordinator = entry.runtime_data.coordinator
    async_add_entities(RkllmSensor(coordinator, description) for description in SENSORS)
    async_add_entities(
        RkllmPoolSensor(coordinator, entry.runtime_data.pool, description)
        for description in POOL_SENSORS
    )


class RkllmSensor(RkllmEntity, SensorEntity):
    """One figure of the rkllama server."""

    entity_description: RkllmSensorEntityDescription

    @property
    @override
    def native_value(self) -> StateType:
        """Return the sensor's value from the coordinator's data."""
        return self.entity_description.value_fn(self.coordinator.data)


class RkllmPoolSensor(RkllmEntity, SensorEntity):
    """One figure of the pool of every rkllm server, shown on each server's device."""

    entity_description: RkllmPoolSensorEntityDescription
    _available_during_outage = True  # the pool goes on without this server

    def __init__(
        self,
        coordinator: RkllmDataUpdateCoordinator,
        pool: NpuPool,
        description: RkllmPoolSensorEntityDescription,
    ) -> None:
        """Describe the sensor, attach it to the server's device and follow the pool."""
        super().__init__(coordinator, description)
        self._pool = pool

    async def async_added_to_hass(self) -> None:
        """Follow the pool as well as the server."""
        await super().async_added_to_hass()
        self.async_on_remove(self._pool.async_add_listener(self._async_pool_changed))

    @callback
    def _async_pool_changed(self) -> None:
        self.async_write_ha_state()

    @property
    @override
    def native_value(self) -> int:
        """Return the pool's figure."""
        return self.entity_description.value_fn(self._pool)
