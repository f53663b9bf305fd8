"""Conversation agents: one per `conversation` subentry of an rkllama server."""

from __future__ import annotations

import logging
from typing import Literal, override

from homeassistant.components import conversation
from homeassistant.components.conversation.models import AbstractConversationAgent
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import CONF_LLM_HASS_API, CONF_PROMPT, MATCH_ALL
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import intent
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN
from .llm_entity import RkllmLLMEntity, TurnError, add_subentry_entities
from .runtime import RkllmConfigEntry

_LOGGER = logging.getLogger(__name__)

# The NPU answers one request of a model at a time; the pool queues the rest.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,  # noqa: ARG001 - Home Assistant's platform signature
    entry: RkllmConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add one conversation agent per conversation subentry."""
    add_subentry_entities(entry, async_add_entities, "conversation", RkllmConversationEntity)


class RkllmConversationEntity(
    conversation.ConversationEntity,
    AbstractConversationAgent,
    RkllmLLMEntity,
):
    """A voice-assistant agent answered by a model on the rkllama server."""

    _attr_supports_streaming = True

    def __init__(self, entry: RkllmConfigEntry, subentry: ConfigSubentry) -> None:
        """Create the agent; it may control Home Assistant when an LLM API is chosen."""
        super().__init__(entry, subentry)
        if subentry.data.get(CONF_LLM_HASS_API):
            self._attr_supported_features = conversation.ConversationEntityFeature.CONTROL

    @property
    @override
    def supported_languages(self) -> list[str] | Literal["*"]:
        """Return the languages the agent answers in (the model's choice)."""
        return MATCH_ALL

    @override
    async def async_added_to_hass(self) -> None:
        """Register as a conversation agent."""
        await super().async_added_to_hass()
        conversation.async_set_agent(self.hass, self.entry, self)

    @override
    async def async_will_remove_from_hass(self) -> None:
        """Unregister the conversation agent."""
        conversation.async_unset_agent(self.hass, self.entry)
        await super().async_will_remove_from_hass()

    @override
    async def _async_handle_message(
        self,
        user_input: conversation.ConversationInput,
        chat_log: conversation.ChatLog,
    ) -> conversation.ConversationResult:
        """Answer one user message."""
        settings = self._settings
        try:
            await chat_log.async_provide_llm_data(
                user_input.as_llm_context(DOMAIN),
                settings.get(CONF_LLM_HASS_API),
                settings.get(CONF_PROMPT),
                user_input.extra_system_prompt,
            )
        except conversation.ConverseError as err:
            return err.as_conversation_result()

        try:
            await self._async_handle_chat_log(chat_log, language=user_input.language)
        except TurnError as err:
            if not err.kept_partial:
                raise  # Home Assistant says it; the failed turn leaves no trace in the history
            # The streamed part of the answer stays in the history, marked as cut short;
            # the user hears why it stopped.
            response = intent.IntentResponse(language=user_input.language)
            response.async_set_error(intent.IntentResponseErrorCode.UNKNOWN, str(err))
            return conversation.ConversationResult(
                response=response, conversation_id=chat_log.conversation_id
            )
        except HomeAssistantError:
            raise
        except Exception as err:
            # A defect must still end in one spoken sentence, never in a server error.
            _LOGGER.exception("Unexpected error in the answer of %s", self.entity_id)
            raise HomeAssistantError(
                translation_domain=DOMAIN, translation_key="spoken_unknown"
            ) from err
        return conversation.async_get_result_from_chat_log(user_input, chat_log)
