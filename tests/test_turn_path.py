"""The modules one device command runs through, from the agent to the server and back.

A turn should read as it is described in docs/architecture.md: few modules, each with one
job. The path is traced with Python's profiler hook while Assist handles "turn on the
kitchen ceiling" on a warm agent (model resident, tokenizer and parser loaded); a package
(`prompt/`, `pool/`, `api/`) counts as one module, as it is one owner.
"""

from __future__ import annotations

from pathlib import Path
import sys
from types import FrameType
from typing import Any

from homeassistant.const import CONF_LLM_HASS_API, CONF_MODEL, CONF_PROMPT
from homeassistant.core import HomeAssistant
from homeassistant.helpers import llm
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

import custom_components.rkllm as component
from rkllama_emulator import RkllamaEmulator

from .conftest import say, speech
from .home_helpers import async_build_home

COMPONENT = Path(component.__file__).parent
MAX_MODULES = 8
# Entities that show what a turn did (sensors, connectivity) follow the pool and the coordinator
# as listeners: they are told of the turn, the turn does not pass through them.
OBSERVERS = frozenset({"sensor.py", "binary_sensor.py", "entity.py"})
AGENT = {
    CONF_MODEL: "Qwen2.5-1.5B-Instruct",
    CONF_PROMPT: "Be brief.",
    CONF_LLM_HASS_API: [llm.LLM_API_ASSIST],
}


def _module(filename: str) -> str | None:
    """Return the integration's module (a package counts as one) a code file belongs to."""
    try:
        parts = Path(filename).relative_to(COMPONENT).parts
    except ValueError:
        return None
    return f"{parts[0]}/" if len(parts) > 1 else parts[0]


@pytest.mark.parametrize("conversation_subentry_data", [AGENT])
@pytest.mark.usefixtures("init_integration")
async def test_device_command_path(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """A device command runs through at most eight modules, the ones the design names."""
    await async_build_home(hass, size=12)
    await say(hass, mock_config_entry, "Turn off the Kitchen Ceiling")  # warm everything up
    await hass.async_block_till_done(wait_background_tasks=True)
    path: list[str] = []

    def trace(frame: FrameType, event: str, _arg: Any) -> None:
        if event != "call" or (module := _module(frame.f_code.co_filename)) is None:
            return
        if not path and frame.f_code.co_name != "_async_handle_message":
            return  # before the turn starts
        if module not in path and module not in OBSERVERS:
            path.append(module)

    sys.setprofile(trace)
    try:
        result = await say(hass, mock_config_entry, "Turn on the Kitchen Ceiling")
    finally:
        sys.setprofile(None)
    assert speech(result) == "Turned on the light"
    assert hass.states.get("light.kitchen_ceiling").state == "on"
    assert len(path) <= MAX_MODULES, path
    assert path[:2] == ["conversation.py", "llm_entity.py"], path
    assert set(path) == {
        "conversation.py",
        "llm_entity.py",
        "coordinator.py",
        "prompt/",
        "stream_parser.py",
        "pool/",
        "api/",
        "speech/",
    }, path
