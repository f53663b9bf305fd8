"""AI task entities: one per `ai_task_data` subentry; plain or JSON-structured data."""

from __future__ import annotations

import json
import logging
from typing import Any, override

from homeassistant.components import ai_task, conversation
from homeassistant.const import CONF_MODEL
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import llm
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
import probatio

from .api.model_text import strip_code_fence
from .const import DOMAIN
from .images import PreparedImages, async_prepare_images
from .llm_entity import RkllmLLMEntity, add_subentry_entities
from .models import find_known_model
from .runtime import RkllmConfigEntry

_LOGGER = logging.getLogger(__name__)

# The NPU answers one request of a model at a time; the pool queues the rest.
PARALLEL_UPDATES = 0

STRUCTURE_RETRIES = 1  # corrective retries when the answer does not fit the structure


async def async_setup_entry(
    hass: HomeAssistant,  # noqa: ARG001 - Home Assistant's platform signature
    entry: RkllmConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add one AI task entity per ai_task_data subentry."""
    add_subentry_entities(entry, async_add_entities, "ai_task_data", RkllmAITaskEntity)


class RkllmAITaskEntity(ai_task.AITaskEntity, RkllmLLMEntity):
    """Generates data with a model on the rkllama server; a vision model reads attachments."""

    @property
    @override
    def supported_features(self) -> ai_task.AITaskEntityFeature:
        """Return data generation, and attachments where the model can see."""
        features = ai_task.AITaskEntityFeature.GENERATE_DATA
        if self._can_see():
            features |= ai_task.AITaskEntityFeature.SUPPORT_ATTACHMENTS
        return features

    def _can_see(self) -> bool:
        """Return True when the model reads images (the server's facts over the catalogue's)."""
        choice = str(self._settings[CONF_MODEL])
        profile = self._coordinator.cached_profile(choice)
        if profile is not None:
            return profile.vision is not None
        known = find_known_model(choice)
        return known is not None and known.vision is not None

    @override
    async def _async_generate_data(
        self,
        task: ai_task.GenDataTask,
        chat_log: conversation.ChatLog,
    ) -> ai_task.GenDataTaskResult:
        """Run a data task; with a structure, the answer must be JSON that fits it.

        Attachments are read and encoded for the model before anything is sent.
        """
        images = await self._async_images(task)
        if task.structure is None:
            await self._async_handle_chat_log(chat_log, images=images)
            return ai_task.GenDataTaskResult(
                conversation_id=chat_log.conversation_id, data=_last_text(chat_log)
            )

        serializer = (
            chat_log.llm_api.custom_serializer if chat_log.llm_api else llm.selector_serializer
        )
        schema: dict[str, Any] = probatio.to_openapi(
            task.structure, custom_serializer=serializer, openapi_version="3.1.0"
        )
        # The board that serves the request asks for the structure its own way.
        retries = STRUCTURE_RETRIES
        while True:
            await self._async_handle_chat_log(chat_log, response_format=schema, images=images)
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

    async def _async_images(self, task: ai_task.GenDataTask) -> PreparedImages | None:
        """Return the task's attachments encoded for the model, or None without any."""
        if not task.attachments:
            return None
        choice = str(self._settings[CONF_MODEL])
        profile = await self._coordinator.async_profile(choice)
        return await async_prepare_images(self.hass, task.attachments, profile.vision, choice)


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
    body = strip_code_fence(text)
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
