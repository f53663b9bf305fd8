"""A load balancer in front of several boards is one board to us: a real HAProxy, three boards."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

from homeassistant.components import conversation
from homeassistant.config_entries import SOURCE_USER, ConfigSubentry
from homeassistant.const import CONF_MODEL, CONF_PROMPT, CONF_URL
from homeassistant.core import Context, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
import pytest

from custom_components.rkllm.const import CONF_BOARDS, DOMAIN
from rkllama_emulator import EmulatorConfig, RkllamaEmulator, Timing
from rkllama_emulator.balancer import HaproxyBalancer, find_haproxy

from .conftest import TEST_MODEL
from .ports import free_port

pytestmark = pytest.mark.skipif(
    find_haproxy() is None,
    reason="haproxy is not installed (scripts/haproxy-debian installs it on Debian as root)",
)

SLOW = Timing(load_seconds=0.0, prefill_tokens_per_second=1e6, decode_tokens_per_second=150.0)


@pytest.fixture
async def balancer(
    emulator_config: EmulatorConfig,
    socket_enabled: None,  # phcc blocks sockets otherwise
) -> AsyncIterator[tuple[HaproxyBalancer, list[RkllamaEmulator]]]:
    """Run three emulated boards behind a real HAProxy (maxconn 1 per board)."""
    boards = [RkllamaEmulator(replace(emulator_config, timing=SLOW)) for _ in range(3)]
    for board in boards:
        await board.start()
    proxy = HaproxyBalancer(free_port(), [board.url.removeprefix("http://") for board in boards])
    try:
        await proxy.start()
        yield proxy, boards
    finally:
        await proxy.stop()
        for board in boards:
            await board.stop()


@pytest.mark.usefixtures("setup_ha")
async def test_proxy_entry_spreads_answers(
    hass: HomeAssistant, balancer: tuple[HaproxyBalancer, list[RkllamaEmulator]]
) -> None:
    """Added through the flow with "3 boards", the proxy gets three answers at once."""
    proxy, boards = balancer
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: proxy.url, CONF_BOARDS: 3}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_URL: proxy.url, CONF_BOARDS: 3}
    entry = result["result"]
    await hass.async_block_till_done(wait_background_tasks=True)

    hass.config_entries.async_add_subentry(
        entry,
        ConfigSubentry(
            data={CONF_MODEL: TEST_MODEL, CONF_PROMPT: "Be brief."},
            subentry_type="conversation",
            title="Through the proxy",
            unique_id=None,
        ),
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    entry = hass.config_entries.async_get_entry(entry.entry_id)
    agent_id = next(
        e.entity_id
        for e in er.async_get(hass).entities.values()
        if e.domain == "conversation" and e.config_entry_id == entry.entry_id
    )

    async def ask(text: str) -> str:
        result = await asyncio.create_task(
            conversation.async_converse(hass, text, None, Context(), agent_id=agent_id)
        )
        return str(result.response.speech["plain"]["speech"])

    answers = await asyncio.gather(*(ask(f"Write a haiku about AI ({i}).") for i in range(3)))
    assert all(answers)
    chats = [sum(1 for r in board.requests if r.route == "/api/chat") for board in boards]
    assert chats == [1, 1, 1]  # HAProxy gave each board one answer; none queued behind another
    assert max(board.max_concurrent_inferences for board in boards) == 1
    await hass.config_entries.async_unload(entry.entry_id)
