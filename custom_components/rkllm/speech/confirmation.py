"""The spoken fast path: confirm successful device actions without asking the model again.

When every tool call of a step is a Home Assistant intent action that succeeded on all its
targets, the turn ends with a short confirmation in the pipeline's language: HA's own response
speech where the intent gave one, else the response template HA's default agent would say for
the intent in that language (`home-assistant-intents`), rendered with the slots it would fill;
our translated sentence naming the targets where HA has none (several named targets, a language
or an intent without a template). Anything else (a failure, a partial success, a query, a tool
that returns data) goes back to the model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
import re
from typing import Any

from homeassistant.components import conversation
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import TemplateError
from homeassistant.helpers import intent, template

from ..api.model_text import tool_base_name
from ..prompt.tools import (
    DATA_INTENTS,
    LIGHT_SET,
    SET_POSITION,
    STOP_MOVING,
    TURN_OFF,
    TURN_ON,
)
from .intent_responses import Responses, async_responses
from .sentences import async_strings

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


# Arguments of a call that HA's default agent passes to its response templates as slots.
_SLOT_ARGUMENTS = (
    "area",
    "floor",
    "domain",
    "device_class",
    "brightness",
    "color",
    "temperature",
    "position",
)
_OWN_RESPONSE = frozenset({"lock", "valve", "scene", "script"})
_LIGHT_SETTINGS = ("brightness", "color", "temperature")
# A template that found no word for a domain renders "None": not a sentence to say.
_UNRENDERED = re.compile(r"\bNone\b")


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


@dataclass(slots=True)
class _Sentence:
    """One confirmation sentence: an intent, its arguments and the targets it names."""

    intent_type: str
    arguments: dict[str, Any]
    names: list[str] = field(default_factory=list)
    entity_ids: list[str] = field(default_factory=list)
    areas: list[str] = field(default_factory=list)


async def async_confirmation(
    hass: HomeAssistant, chat_log: conversation.ChatLog, language: str
) -> str | None:
    """Return the spoken confirmation of the last step's actions, or None to ask the model."""
    results, arguments = _last_step(chat_log)
    if not results or not all(succeeded_action(result) for result in results):
        return None
    spoken: list[str] = []
    sentences: dict[tuple[str, str, str], _Sentence] = {}
    for result in results:
        data: Mapping[str, Any] = result.result.data
        speech = _path(data, "speech", "plain", "speech")
        if isinstance(speech, str) and speech.strip():
            spoken.append(speech.strip())
            continue
        args = arguments.get(result.tool_call_id, {})
        intent_type = tool_base_name(result.tool_name)
        success = _path(data, "data", "success")
        key = _sentence_key(intent_type, success, args)
        sentence = sentences.setdefault(
            (key, str(args.get("position", "")), str(args.get("brightness", ""))),
            _Sentence(intent_type, args),
        )
        _add_targets(sentence, success)
    responses = await async_responses(hass, language) if sentences else None
    strings: dict[str, str] | None = None
    for (key, position, brightness), sentence in sentences.items():
        said = _render_response(hass, responses, sentence) if responses else None
        if not said:
            strings = strings or await async_strings(hass, language, "common")
            template_text = strings.get(f"confirm_{key}") or strings.get(
                "confirm_done", "{targets}"
            )
            said = template_text.format(
                targets=_join(strings, sentence.names), position=position, brightness=brightness
            )
        if said not in spoken:
            spoken.append(said)
    return " ".join(spoken)


def _add_targets(sentence: _Sentence, success: Sequence[Mapping[str, Any]]) -> None:
    """Add the targets an action reached to its sentence (entities; else whatever it names)."""
    entities = [target for target in success if target.get("type") == "entity"]
    sentence.names.extend(
        str(target.get("name") or target.get("id")) for target in entities or success
    )
    sentence.entity_ids.extend(str(target.get("id")) for target in entities)
    sentence.areas.extend(
        str(target.get("name")) for target in success if target.get("type") == "area"
    )


def _render_response(hass: HomeAssistant, responses: Responses, sentence: _Sentence) -> str | None:
    """Return what HA's default agent would say for the sentence's action, or None.

    HA's templates speak of one target, or of an area or floor: several named targets get
    our sentence, which names them all.
    """
    args = sentence.arguments
    entity_ids = list(dict.fromkeys(sentence.entity_ids))
    scope = (
        ""
        if args.get("name")
        else ("area" if args.get("area") else "floor" if args.get("floor") else "")
    )
    if len(entity_ids) != 1 and not scope:
        return None
    domains = {entity_id.partition(".")[0] for entity_id in entity_ids}
    domain = domains.pop() if len(domains) == 1 else str(args.get("domain") or "")
    names = _response_names(sentence.intent_type, args, domain, scope)
    if len(entity_ids) == 1:
        names.append("default")
    templates = responses.get(sentence.intent_type, {})
    text = next((templates[name] for name in names if name in templates), None)
    if text is None:
        return None
    slots = {key: str(args[key]) for key in _SLOT_ARGUMENTS if args.get(key) not in (None, "")}
    slots.setdefault("domain", domain)
    if len(entity_ids) == 1:
        slots["name"] = sentence.names[0]
    if sentence.areas:
        slots.setdefault("area", sentence.areas[0])
    states = [state for entity_id in entity_ids if (state := hass.states.get(entity_id))]
    matched = [template.TemplateState(hass, state) for state in states]
    try:
        speech = template.Template(text, hass).async_render(
            {
                "slots": slots,
                "state": matched[0] if matched else None,
                "query": {"matched": matched, "unmatched": []},
            },
            parse_result=False,
        )
    except TemplateError:
        return None
    speech = " ".join(str(speech).split())
    return None if not speech or _UNRENDERED.search(speech) else speech


def _response_names(
    intent_type: str, args: Mapping[str, Any], domain: str, scope: str
) -> list[str]:
    """Return the response names HA's sentences give this action, most specific first."""
    if intent_type == LIGHT_SET:
        kind = next((kind for kind in _LIGHT_SETTINGS if args.get(kind) not in (None, "")), None)
        if kind is None:
            return []
        return [f"{kind}_{scope}", kind] if scope else [kind]
    if intent_type == SET_POSITION:
        return ["cover_device_class"] if args.get("device_class") else []
    if intent_type not in (TURN_ON, TURN_OFF):
        return []
    if domain == "cover":
        names = ["cover_device_class"] if args.get("device_class") else []
        return [*names, *(["cover_area"] if scope else []), "cover"]
    if domain in _OWN_RESPONSE:
        return [domain]
    if scope and domain == "light":
        return [f"lights_{scope}", "lights_area"]
    if scope and domain == "fan":
        return ["fans_area"]
    return ["default_area"] if scope else []


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
