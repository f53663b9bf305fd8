"""Home Assistant's own response templates of its intents, per language.

The `home-assistant-intents` package holds, for every language it speaks, the sentence HA's
default agent says after an intent ("Allumé", "ライトがオンになりました"). The templates of a
language are read once, in the executor, and kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
import logging

from homeassistant.core import HomeAssistant
from homeassistant.util.hass_dict import HassKey

from ..const import DOMAIN
from ..prompt.language_words import match_language

_LOGGER = logging.getLogger(__name__)

type Responses = Mapping[str, Mapping[str, str]]
"""Intent type → response name → template text."""

_CACHE: HassKey[_ResponseCache] = HassKey(f"{DOMAIN}_intent_responses")


class _ResponseCache:
    """The package's languages and each loaded language's response templates."""

    def __init__(self) -> None:
        self.languages: asyncio.Future[frozenset[str]] | None = None
        self.responses: dict[str, asyncio.Future[Responses]] = {}


def _cache(hass: HomeAssistant) -> _ResponseCache:
    if (cache := hass.data.get(_CACHE)) is None:
        cache = hass.data[_CACHE] = _ResponseCache()
    return cache


def _load_languages() -> frozenset[str]:
    """Return the package's languages (empty without the package)."""
    try:
        from home_assistant_intents import get_languages  # noqa: PLC0415 - reads files

        return frozenset(get_languages())
    except ImportError, OSError:
        _LOGGER.warning("Home Assistant's intents are not installed: English confirmations")
        return frozenset()


def _load_responses(language: str) -> Responses:
    """Return the response templates of `language` (empty where the data is unreadable)."""
    try:
        from home_assistant_intents import get_intents  # noqa: PLC0415 - reads files

        data = get_intents(language) or {}
    except ImportError, OSError, ValueError:
        _LOGGER.warning("Cannot read Home Assistant's responses in %s", language)
        return {}
    intents = data.get("responses", {}).get("intents", {})
    return {
        intent_type: {name: text for name, text in responses.items() if isinstance(text, str)}
        for intent_type, responses in intents.items()
        if isinstance(responses, Mapping)
    }


async def async_responses(hass: HomeAssistant, language: str | None) -> Responses | None:
    """Return the response templates that serve `language`, or None where HA has none.

    Only the first request of a language waits for its file; every later one finds it kept.
    """
    cache = _cache(hass)
    if cache.languages is None:
        cache.languages = hass.async_add_executor_job(_load_languages)
    code = match_language(language, await cache.languages)
    if code is None:
        return None
    if (loading := cache.responses.get(code)) is None:
        loading = cache.responses[code] = hass.async_add_executor_job(_load_responses, code)
    return await loading or None
