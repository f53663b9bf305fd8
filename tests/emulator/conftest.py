"""Fixtures for the rkllama emulator tests: a started emulator on 127.0.0.1.

`socket_enabled` (pytest-socket) lets the tests open sockets; the Home Assistant test plugin
still only allows connections to 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from rkllama_emulator import (
    FAST_TIMING,
    EmulatorConfig,
    RkllamaEmulator,
)

type EmulatorFactory = Callable[..., Awaitable[RkllamaEmulator]]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Override the root fixture: emulator tests need no `hass`."""


@pytest.fixture
async def make_emulator(models_dir: Path, socket_enabled: None) -> AsyncIterator[EmulatorFactory]:
    """Return a factory that starts emulators with FAST_TIMING plus overrides."""
    started: list[RkllamaEmulator] = []

    async def factory(**overrides: Any) -> RkllamaEmulator:
        overrides.setdefault("timing", FAST_TIMING)
        config = EmulatorConfig(models_dir=models_dir, **overrides)
        emulator = RkllamaEmulator(config)
        await emulator.start("127.0.0.1", 0)
        started.append(emulator)
        return emulator

    yield factory
    for emulator in started:
        await emulator.stop()


@pytest.fixture
async def emulator(make_emulator: EmulatorFactory) -> RkllamaEmulator:
    """Return a started upstream-flavour emulator with FAST_TIMING and the seed models."""
    return await make_emulator()


@pytest.fixture
async def http(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """Return an HTTP client session."""
    async with aiohttp.ClientSession() as session:
        yield session
