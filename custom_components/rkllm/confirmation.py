"""The spoken fast path: confirm successful device actions without asking the model again.

When every tool call of a step is a Home Assistant intent action that succeeded on all its
targets, the turn ends with a short confirmation in the pipeline's language: HA's own response
speech where the intent gave one, else a translated sentence naming the targets. Anything else
(a failure, a partial success, a query, a tool that returns data) goes back to the model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from homeassistant.components import conversation
from homeassistant.core import HomeAssistant
from homeassistant.helpers import intent
from homeassistant.helpers.translation import async_get_translations

from .api.model_text import tool_base_name
from .const import DOMAIN
from .prompt.tools import (
    DATA_INTENTS,
    LIGHT_SET,
    SET_POSITION,
    STOP_MOVING,
    TURN_OFF,
    TURN_ON,
)

# (intent, domain of the targets) → translation key of the sentence; domain "" = any.
_SENTENCES: dict[tuple[str, str], str] = {
    (TURN_ON, "cover"): "opened",
    (TURN_ON, "valve"): "opened",
    (TURN_ON, "lock"): "locked",
    (TURN_ON, ""): "turned_on",
    (TURN_OFF, "cover"): "closed",
    (TURN_OFF, "valve"): "closed",
    (TURN_OFF, "lock"): "unlocked",
    (TURN_OFF, ""): "turned_off",
    (SET_POSITION, ""): "set_position",
    (LIGHT_SET, ""): "set_light",
    (STOP_MOVING, ""): "stopped",
}


def _path(data: Any, *keys: str) -> Any:
    """Return `data[k1][k2]…`, or None where a level is missing or not a mapping."""
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def succeeded_action(result: conversation.ToolResultContent) -> bool:
    """Return True for an intent action that succeeded on every target it matched."""
    data = result.result.data
    if result.result.error or not isinstance(data, Mapping):
        return False
    if tool_base_name(result.tool_name) in DATA_INTENTS:
        return False
    if data.get("response_type") != intent.IntentResponseType.ACTION_DONE.value:
        return False
    targets = data.get("data")
    if not isinstance(targets, Mapping):
        return False
    return bool(targets.get("success")) and not targets.get("failed")


def _last_step(
    chat_log: conversation.ChatLog,
) -> tuple[list[conversation.ToolResultContent], dict[str, dict[str, Any]]]:
    """Return the tool results of the last step and its calls' arguments by call id."""
    results: list[conversation.ToolResultContent] = []
    arguments: dict[str, dict[str, Any]] = {}
    for content in reversed(chat_log.content):
        if isinstance(content, conversation.ToolResultContent):
            results.insert(0, content)
            continue
        if isinstance(content, conversation.AssistantContent):
            arguments = {call.id: dict(call.tool_args) for call in content.tool_calls or ()}
        break
    return results, arguments


async def async_confirmation(
    hass: HomeAssistant, chat_log: conversation.ChatLog, language: str
) -> str | None:
    """Return the spoken confirmation of the last step's actions, or None to ask the model."""
    results, arguments = _last_step(chat_log)
    if not results or not all(succeeded_action(result) for result in results):
        return None
    spoken: list[str] = []
    said: dict[tuple[str, str, str], list[str]] = {}  # sentence → the targets it names
    for result in results:
        data: Mapping[str, Any] = result.result.data
        speech = _path(data, "speech", "plain", "speech")
        if isinstance(speech, str) and speech.strip():
            spoken.append(speech.strip())
            continue
        success = _path(data, "data", "success")
        args = arguments.get(result.tool_call_id, {})
        key = _sentence_key(tool_base_name(result.tool_name), success, args)
        entities = [target for target in success if target.get("type") == "entity"]
        names = [str(target.get("name") or target.get("id")) for target in entities or success]
        said.setdefault(
            (key, str(args.get("position", "")), str(args.get("brightness", ""))), []
        ).extend(names)
    if said:
        strings = await _async_strings(hass, language)
        for (key, position, brightness), names in said.items():
            template = strings.get(f"confirm_{key}") or strings.get("confirm_done", "{targets}")
            spoken.append(
                template.format(
                    targets=_join(strings, names), position=position, brightness=brightness
                )
            )
    return " ".join(spoken)


async def _async_strings(hass: HomeAssistant, language: str) -> dict[str, str]:
    """Return the confirmation strings in `language` (English where it has none)."""
    base = (language or hass.config.language).split("-", maxsplit=1)[0].lower()
    prefix = f"component.{DOMAIN}.common."
    loaded = await async_get_translations(hass, base, "common", [DOMAIN])
    return {
        key.removeprefix(prefix): text for key, text in loaded.items() if key.startswith(prefix)
    }


def _sentence_key(
    intent_type: str, success: Sequence[Mapping[str, Any]], arguments: Mapping[str, Any]
) -> str:
    """Return the translation key (without `confirm_`) of the sentence for one action."""
    domains = {str(target.get("id", "")).partition(".")[0] for target in success}
    domain = domains.pop() if len(domains) == 1 else ""
    key = _SENTENCES.get((intent_type, domain)) or _SENTENCES.get((intent_type, ""), "done")
    if key == "set_light" and "brightness" not in arguments:
        return "set_light_plain"
    return key


def _join(strings: Mapping[str, str], names: Sequence[str]) -> str:
    """Return `A`, `A and B`, `A, B and C` in the language of `strings`."""
    unique = list(dict.fromkeys(names))
    if len(unique) == 1:
        return unique[0]
    joined = strings.get("list_and", "{first} and {last}")
    return joined.format(first=", ".join(unique[:-1]), last=unique[-1])
