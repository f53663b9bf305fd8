"""Prompt preview for the agent form: the fixed part's size and what it costs to read."""

from __future__ import annotations

from collections.abc import Mapping
import logging
from typing import Any

from homeassistant.components import conversation
from homeassistant.const import CONF_LLM_HASS_API, CONF_PROMPT
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import chat_session, llm

from .const import CONF_ENTITIES_IN_PROMPT, DEFAULT_ENTITIES_IN_PROMPT, DOMAIN, ENTITIES_ALL
from .models import ModelProfile
from .prompt import async_fixed_prompt_tokens

_LOGGER = logging.getLogger(__name__)

TYPICAL_PREFILL_RATE = 340.0  # prompt tokens a second: an RK3588 with Qwen2.5 1.5B (w8a8)


async def async_prompt_preview(
    hass: HomeAssistant,
    options: Mapping[str, Any],
    profile: ModelProfile,
    prefill_rate: float | None,
) -> dict[str, str]:
    """Return the form's placeholders: fixed prompt tokens, seconds to read them, the rate.

    The fixed part is rendered as a turn would render it, for the entities exposed now; its
    tokens are counted with the model's tokenizer when it is loaded, else estimated.
    """
    rate = prefill_rate or TYPICAL_PREFILL_RATE
    with (
        chat_session.async_get_chat_session(hass) as session,
        conversation.async_get_chat_log(hass, session) as chat_log,
    ):
        try:
            await chat_log.async_provide_llm_data(
                llm.LLMContext(DOMAIN, Context(), hass.config.language, conversation.DOMAIN, None),
                options.get(CONF_LLM_HASS_API) or None,
                options.get(CONF_PROMPT),
                None,
            )
        except conversation.ConverseError as err:  # a prompt template that does not render
            _LOGGER.debug("No prompt preview: %s", err)
            return {"prompt_tokens": "?", "prompt_seconds": "?", "prefill_rate": f"{rate:.0f}"}
        tokens = await async_fixed_prompt_tokens(
            hass,
            chat_log,
            profile,
            relevant_entities=options.get(CONF_ENTITIES_IN_PROMPT, DEFAULT_ENTITIES_IN_PROMPT)
            != ENTITIES_ALL,
        )
    return {
        "prompt_tokens": str(tokens),
        "prompt_seconds": f"{tokens / rate:.1f}",
        "prefill_rate": f"{rate:.0f}",
    }
