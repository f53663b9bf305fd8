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
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN
from .llm_entity import RkllmLLMEntity, TurnError, add_subentry_entities
from .runtime import RkllmConfigEntry
from .speech import async_error_result, async_responses, async_strings

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
        """Register as a conversation agent; read HA's language's sentences in the background."""
        await super().async_added_to_hass()
        conversation.async_set_agent(self.hass, self.entry, self)
        self.entry.async_create_background_task(
            self.hass, self._async_load_sentences(), f"{DOMAIN} sentences {self.entity_id}"
        )

    async def _async_load_sentences(self) -> None:
        """Load the confirmations and error sentences in HA's language before a turn needs them."""
        await async_responses(self.hass, self.hass.config.language)
        await async_strings(self.hass, self.hass.config.language, "exceptions")

    @override
    async def async_will_remove_from_hass(self) -> None:
        """Unregister the conversation agent."""
        conversation.async_unset_agent(self.hass, self.entry)
        await super().async_will_remove_from_hass()

    @override
    async def async_process(
        self, user_input: conversation.ConversationInput
    ) -> conversation.ConversationResult:
        """Answer one user message; a failed turn is said in the request's language.

        The error leaves the chat log first, so the failed turn leaves no trace in the history.
        """
        try:
            return await super().async_process(user_input)
        except TurnError as err:
            return await self._async_spoken_error(user_input, user_input.conversation_id, err)

    async def _async_spoken_error(
        self,
        user_input: conversation.ConversationInput,
        conversation_id: str | None,
        err: TurnError,
    ) -> conversation.ConversationResult:
        return await async_error_result(
            self.hass,
            user_input.language,
            conversation_id,
            err.translation_key or "spoken_unknown",
            err.translation_placeholders,
        )

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
                raise  # said by async_process; the failed turn leaves no trace in the history
            # The streamed part of the answer stays in the history, marked as cut short;
            # the user hears why it stopped.
            return await self._async_spoken_error(user_input, chat_log.conversation_id, err)
        except HomeAssistantError:
            raise
        except Exception as err:
            # A defect must still end in one spoken sentence, never in a server error.
            _LOGGER.exception("Unexpected error in the answer of %s", self.entity_id)
            raise TurnError(translation_domain=DOMAIN, translation_key="spoken_unknown") from err
        return conversation.async_get_result_from_chat_log(user_input, chat_log)
