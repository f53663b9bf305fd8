"""AI task entities: one per `ai_task_data` subentry; plain or JSON-structured data."""

from __future__ import annotations

import json
import logging
import re
from typing import Any, override

from homeassistant.components import ai_task, conversation
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import llm
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
import probatio

from .api import ApiFlavour
from .const import DOMAIN
from .llm_entity import RkllmLLMEntity
from .runtime import RkllmConfigEntry

_LOGGER = logging.getLogger(__name__)

# The NPU answers one request of a model at a time; the pool queues the rest.
PARALLEL_UPDATES = 0

STRUCTURE_RETRIES = 1  # corrective retries when the answer does not fit the structure
_FENCED = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)


async def async_setup_entry(
    hass: HomeAssistant,  # noqa: ARG001 - Home Assistant's platform signature
    entry: RkllmConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add one AI task entity per ai_task_data subentry."""
    for subentry in entry.subentries.values():
        if subentry.subentry_type != "ai_task_data":
            continue
        async_add_entities(
            [RkllmAITaskEntity(entry, subentry)],
            config_subentry_id=subentry.subentry_id,
        )


class RkllmAITaskEntity(ai_task.AITaskEntity, RkllmLLMEntity):
    """Generates data with a model on the rkllama server."""

    _attr_supported_features = ai_task.AITaskEntityFeature.GENERATE_DATA

    @override
    async def _async_generate_data(
        self,
        task: ai_task.GenDataTask,
        chat_log: conversation.ChatLog,
    ) -> ai_task.GenDataTaskResult:
        """Run a data task; with a structure, the answer must be JSON that fits it."""
        if task.structure is None:
            await self._async_handle_chat_log(chat_log)
            return ai_task.GenDataTaskResult(
                conversation_id=chat_log.conversation_id, data=_last_text(chat_log)
            )

        serializer = (
            chat_log.llm_api.custom_serializer if chat_log.llm_api else llm.selector_serializer
        )
        schema: dict[str, Any] = probatio.to_openapi(
            task.structure, custom_serializer=serializer, openapi_version="3.1.0"
        )
        # Ollama-style servers add their own JSON instruction for `format`; the legacy
        # API ignores `format`, so the instruction goes into the prompt.
        use_format = self._flavour is not ApiFlavour.LEGACY
        instruction = None if use_format else json_instruction(schema)
        response_format = schema if use_format else None

        retries = STRUCTURE_RETRIES
        while True:
            await self._async_handle_chat_log(
                chat_log, response_format=response_format, format_instruction=instruction
            )
            text = _last_text(chat_log)
            try:
                data = read_structured(text, task.structure)
            except ValueError as err:
                if retries <= 0:
                    _LOGGER.debug("Structured answer rejected: %s", text)
                    raise HomeAssistantError(
                        translation_domain=DOMAIN,
                        translation_key="invalid_structured_output",
                        translation_placeholders={"error": str(err)},
                    ) from err
                retries -= 1
                chat_log.async_add_user_content(
                    conversation.UserContent(
                        f"That answer was not valid: {err}. Reply with only the JSON object."
                    )
                )
                continue
            return ai_task.GenDataTaskResult(conversation_id=chat_log.conversation_id, data=data)


def json_instruction(schema: dict[str, Any]) -> str:
    """Return the prompt text asking for a JSON object with the schema's keys."""
    properties: dict[str, Any] = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    keys = ", ".join(
        f"{key} ({_kind(value)}{'' if key in required else ', optional'})"
        for key, value in properties.items()
    )
    return f"Answer with only a JSON object with the keys: {keys}."


def _kind(schema: Any) -> str:
    if not isinstance(schema, dict):
        return "any"
    if enum := schema.get("enum"):
        return " or ".join(json.dumps(value) for value in enum)
    kind = schema.get("type")
    if kind == "array" and isinstance(items := schema.get("items"), dict):
        return f"list of {_kind(items)}"
    return str(kind or "any")


def read_structured(text: str, structure: probatio.Schema) -> Any:
    """Return the JSON value in `text`, validated against `structure`.

    Raises:
        ValueError: no JSON value, or one that does not fit the structure.

    """
    value = extract_json(text)
    try:
        return structure(value)
    except probatio.Invalid as err:
        raise ValueError(f"the JSON does not fit the structure: {err}") from err


def extract_json(text: str) -> Any:
    """Return the first JSON object or array in `text` (fenced or bare).

    Raises:
        ValueError: there is none.

    """
    fenced = _FENCED.search(text)
    body = fenced.group(1) if fenced else text
    decoder = json.JSONDecoder()
    for index, char in enumerate(body):
        if char not in "{[":
            continue
        try:
            value, _ = decoder.raw_decode(body, index)
        except ValueError:
            continue
        return value
    raise ValueError("the answer holds no JSON object")


def _last_text(chat_log: conversation.ChatLog) -> str:
    """Return the text of the final answer in the chat log."""
    last = chat_log.content[-1]
    if not isinstance(last, conversation.AssistantContent):
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="invalid_response",
            translation_placeholders={"error": "the model gave no answer"},
        )
    return last.content or ""
