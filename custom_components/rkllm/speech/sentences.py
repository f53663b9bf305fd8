"""What Assist says in the request's language: our sentences and the spoken error result.

Home Assistant renders a translated `HomeAssistantError` in its own language; a voice request
may come in another one. Here the integration's translation file that serves the request's
language (`fr-FR` → `fr.json`, English for what it lacks) gives the sentence, and one place
turns an error key into the conversation result Assist speaks.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from homeassistant.components import conversation
from homeassistant.core import HomeAssistant
from homeassistant.helpers import intent
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util.hass_dict import HassKey

from ..const import DOMAIN
from ..prompt.language_words import match_language

_TRANSLATIONS = Path(__file__).parents[1] / "translations"
_FILES: HassKey[asyncio.Future[frozenset[str]]] = HassKey(f"{DOMAIN}_translation_languages")
FALLBACK_LANGUAGE = "en"


def _translation_languages() -> frozenset[str]:
    return frozenset(path.stem for path in _TRANSLATIONS.glob("*.json"))


async def async_translation_language(hass: HomeAssistant, language: str | None) -> str:
    """Return the code of our translation file that serves `language` (English if none)."""
    if (files := hass.data.get(_FILES)) is None:
        files = hass.data[_FILES] = hass.async_add_executor_job(_translation_languages)
    return match_language(language or hass.config.language, await files) or FALLBACK_LANGUAGE


async def async_strings(hass: HomeAssistant, language: str | None, category: str) -> dict[str, str]:
    """Return our `category` strings in `language`, keyed below the category.

    Home Assistant fills what the language's file lacks from English.
    """
    code = await async_translation_language(hass, language)
    prefix = f"component.{DOMAIN}.{category}."
    loaded = await async_get_translations(hass, code, category, [DOMAIN])
    return {
        key.removeprefix(prefix): text for key, text in loaded.items() if key.startswith(prefix)
    }


async def async_error_sentence(
    hass: HomeAssistant,
    language: str | None,
    key: str,
    placeholders: dict[str, str] | None = None,
) -> str:
    """Return the `exceptions.<key>` sentence in `language` (the key itself if unknown)."""
    strings = await async_strings(hass, language, "exceptions")
    message = strings.get(f"{key}.message") or key
    if placeholders:
        try:
            return message.format(**placeholders)
        except KeyError, IndexError, ValueError:
            return message
    return message


async def async_error_result(
    hass: HomeAssistant,
    language: str,
    conversation_id: str | None,
    key: str,
    placeholders: dict[str, str] | None = None,
) -> conversation.ConversationResult:
    """Return the conversation result that says the error `key` in `language`."""
    response = intent.IntentResponse(language=language)
    response.async_set_error(
        intent.IntentResponseErrorCode.UNKNOWN,
        await async_error_sentence(hass, language, key, placeholders),
    )
    return conversation.ConversationResult(response=response, conversation_id=conversation_id)
