"""Scratch smoke test (removed later)."""
from homeassistant.components import conversation
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
import time


async def test_smoke(hass: HomeAssistant, init_integration, emulator) -> None:
    assert await async_setup_component(hass, "light", {"light": [{"platform": "demo"}]})
    await hass.async_block_till_done()
    for eid in hass.states.async_entity_ids("light"):
        async_expose_entity(hass, "conversation", eid, True)
    ent = er.async_get(hass)
    agent = [e.entity_id for e in ent.entities.values() if e.domain == "conversation"][0]
    t = time.monotonic()
    result = await conversation.async_converse(hass, "What is 145 + 278?", None, Context(), agent_id=agent)
    print(time.monotonic() - t, result.response.speech, result.response.response_type)
    print(emulator.requests[-1].prompt)
    print(len(emulator.requests[-1].prompt), emulator.requests[-1].prompt_tokens)
    print(hass.states.async_entity_ids("light"))
    result = await conversation.async_converse(hass, "Turn on the Kitchen Lights", result.conversation_id, Context(), agent_id=agent)
    print(result.response.speech, result.response.response_type)
    print(hass.states.get("light.kitchen_lights"))
    for r in emulator.requests: print(r.messages[1:], r.reply)
