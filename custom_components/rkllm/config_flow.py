"""Config flow of rkllm: one entry per rkllama server, subentries per agent."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
import logging
import math
from typing import Any, override

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    SOURCE_USER,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.const import (
    CONF_LLM_HASS_API,
    CONF_MODEL,
    CONF_NAME,
    CONF_PASSWORD,
    CONF_URL,
    CONF_USERNAME,
)
from homeassistant.core import callback
from homeassistant.data_entry_flow import AbortFlow
from homeassistant.helpers import llm
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import probatio

from .agent_form import (
    CONVERSATION,
    clean_subentry_input,
    model_title,
    subentry_schema,
    suggested_model,
)
from .api import RkllamaAuthError, RkllamaClient, RkllamaError, RkllamaUnsupportedError
from .api.urls import (
    InvalidServerUrlError,
    default_server_url,
    has_credentials,
    host_and_port,
    normalize_url,
    token_travels_in_clear,
    url_host,
    url_user,
    with_credentials,
    without_credentials,
)
from .const import CONF_BOARDS, CONF_TOKEN, DEFAULT_BOARDS, DOMAIN, MAX_BOARDS, PROBE_TIMEOUT
from .prompt_preview import async_prompt_preview
from .runtime import RkllmConfigEntry
from .validation import subentry_errors

_LOGGER = logging.getLogger(__name__)

STEP_USER_DATA_SCHEMA = probatio.Schema(
    {
        probatio.Required(CONF_URL): TextSelector(TextSelectorConfig(type=TextSelectorType.URL)),
        probatio.Optional(CONF_TOKEN): TextSelector(
            TextSelectorConfig(type=TextSelectorType.PASSWORD)
        ),
        probatio.Optional(CONF_BOARDS, default=DEFAULT_BOARDS): NumberSelector(
            NumberSelectorConfig(min=1, max=MAX_BOARDS, step=1, mode=NumberSelectorMode.BOX)
        ),
    }
)


STEP_REAUTH_DATA_SCHEMA = probatio.Schema(
    {
        probatio.Optional(CONF_TOKEN): TextSelector(
            TextSelectorConfig(type=TextSelectorType.PASSWORD)
        ),
    }
)


STEP_REAUTH_CREDENTIALS_SCHEMA = probatio.Schema(
    {
        probatio.Required(CONF_USERNAME): TextSelector(
            TextSelectorConfig(type=TextSelectorType.TEXT, autocomplete="username")
        ),
        probatio.Optional(CONF_PASSWORD): TextSelector(
            TextSelectorConfig(type=TextSelectorType.PASSWORD, autocomplete="current-password")
        ),
    }
)


def _boards(value: Any) -> int:
    """Return the number of boards behind the address (a whole number within bounds)."""
    try:
        number = float(value if value is not None else DEFAULT_BOARDS)
    except TypeError, ValueError:
        return DEFAULT_BOARDS
    if not math.isfinite(number):
        return DEFAULT_BOARDS
    return min(MAX_BOARDS, max(1, round(number)))


def server_title(url: str) -> str:
    """Return the entry title: `rkllama (host:port)`."""
    return f"rkllama ({host_and_port(url)})"


class RkllmConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add or reconfigure an rkllama server."""

    VERSION = 1
    MINOR_VERSION = 1

    def __init__(self) -> None:
        """Start without a server waiting for confirmation."""
        self._pending: tuple[dict[str, Any], str] | None = None

    @override
    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the server address and an optional access token."""
        return await self._async_step_server(user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the server address or token of an existing entry."""
        return await self._async_step_server(user_input)

    @property
    def _server_step_id(self) -> str:
        """Return the step that asks for the server: user or reconfigure."""
        return "reconfigure" if self.source == SOURCE_RECONFIGURE else "user"

    def _async_show_server_form(
        self, suggested: Mapping[str, Any], errors: dict[str, str] | None = None
    ) -> ConfigFlowResult:
        """Show the server form with `suggested` filled in."""
        return self.async_show_form(
            step_id=self._server_step_id,
            data_schema=self.add_suggested_values_to_schema(STEP_USER_DATA_SCHEMA, suggested),
            errors=errors,
        )

    async def _async_step_server(self, user_input: dict[str, Any] | None) -> ConfigFlowResult:
        """Validate an address by connecting to it, then create or update the entry."""
        if user_input is None:
            if self.source == SOURCE_RECONFIGURE:
                return self._async_show_server_form(self._get_reconfigure_entry().data)
            return self._async_show_server_form({CONF_URL: default_server_url()})

        token = str(user_input.get(CONF_TOKEN) or "").strip()
        try:
            url = normalize_url(str(user_input[CONF_URL]))
        except InvalidServerUrlError:
            return self._async_show_server_form(user_input, {"base": "invalid_url"})
        if token and has_credentials(url):
            # aiohttp cannot send URL credentials and a bearer token together.
            return self._async_show_server_form(user_input, {"base": "token_with_credentials"})
        unique_id = without_credentials(url)
        if self.source == SOURCE_RECONFIGURE:
            self._abort_if_other_entry_has(unique_id)
        else:
            await self.async_set_unique_id(unique_id)
            self._abort_if_unique_id_configured()
        if errors := await self._async_validate_connection(url, token):
            return self._async_show_server_form(user_input, errors)

        data: dict[str, Any] = {CONF_URL: url}
        if token:
            data[CONF_TOKEN] = token
        if (boards := _boards(user_input.get(CONF_BOARDS))) != DEFAULT_BOARDS:
            data[CONF_BOARDS] = boards
        if token and token_travels_in_clear(url):
            # Warn before the token goes over plain http to another network.
            self._pending = (data, unique_id)
            return await self.async_step_insecure_token()
        return self._async_finish_server(data, unique_id)

    async def async_step_insecure_token(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Warn that the access token would travel unencrypted; go on when confirmed."""
        if self._pending is None:
            # Nothing to confirm (the step is reached from the server step only): ask again.
            return await self._async_step_server(None)
        data, unique_id = self._pending
        if user_input is None:
            return self.async_show_form(
                step_id="insecure_token",
                description_placeholders={"host": url_host(data[CONF_URL])},
            )
        return self._async_finish_server(data, unique_id)

    def _async_finish_server(self, data: dict[str, Any], unique_id: str) -> ConfigFlowResult:
        """Create the entry, or update it when reconfiguring."""
        if self.source == SOURCE_RECONFIGURE:
            return self._async_finish_reconfigure(data, unique_id)
        return self.async_create_entry(title=server_title(data[CONF_URL]), data=data)

    async def async_step_reauth(
        self,
        entry_data: Mapping[str, Any],  # noqa: ARG002 - the entry is read in the next step
    ) -> ConfigFlowResult:
        """Start re-authentication when the server (its proxy) refuses the token."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a new access token (or user name and password) and check it."""
        entry = self._get_reauth_entry()
        url = entry.data[CONF_URL]
        errors: dict[str, str] = {}
        if user_input is not None:
            data = self._reauth_data(entry.data, user_input)
            errors = await self._async_validate_connection(data[CONF_URL], data.get(CONF_TOKEN, ""))
            if not errors:
                return self.async_update_reload_and_abort(entry, data=data)
        schema = STEP_REAUTH_DATA_SCHEMA
        if has_credentials(url):
            schema = self.add_suggested_values_to_schema(
                STEP_REAUTH_CREDENTIALS_SCHEMA, {CONF_USERNAME: url_user(url)}
            )
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=schema,
            description_placeholders={"url": without_credentials(url)},
            errors=errors,
        )

    @staticmethod
    def _reauth_data(current: Mapping[str, Any], user_input: Mapping[str, Any]) -> dict[str, Any]:
        """Return the entry data with the new credentials: in the address, else the token."""
        url = current[CONF_URL]
        if has_credentials(url):
            # The address carries basic-auth credentials: those are what was refused.
            new_url = with_credentials(
                url,
                str(user_input.get(CONF_USERNAME) or ""),
                str(user_input.get(CONF_PASSWORD) or ""),
            )
            return {**current, CONF_URL: new_url}
        data = {key: value for key, value in current.items() if key != CONF_TOKEN}
        if token := str(user_input.get(CONF_TOKEN) or "").strip():
            data[CONF_TOKEN] = token
        return data

    def _abort_if_other_entry_has(self, unique_id: str) -> None:
        """Abort a reconfigure that would point this entry at another entry's server."""
        current = self._get_reconfigure_entry()
        for entry in self._async_current_entries(include_ignore=False):
            if entry.entry_id != current.entry_id and entry.unique_id == unique_id:
                raise AbortFlow("already_configured")

    def _async_finish_reconfigure(self, data: dict[str, Any], unique_id: str) -> ConfigFlowResult:
        """Store the new data; reload unless the entry's update listener does it."""
        entry = self._get_reconfigure_entry()
        title = server_title(data[CONF_URL])
        if entry.update_listeners:
            # Loaded: the entry's update listener reloads it when the data changed.
            return self.async_update_and_abort(entry, unique_id=unique_id, title=title, data=data)
        return self.async_update_reload_and_abort(
            entry, unique_id=unique_id, title=title, data=data
        )

    async def _async_validate_connection(self, url: str, token: str) -> dict[str, str]:
        """Connect to `url` and return form errors (empty when it is an rkllama server)."""
        client = RkllamaClient(url, session=async_get_clientsession(self.hass), token=token or None)
        shown = without_credentials(url)
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):
                info = await client.detect()
        except RkllamaAuthError as err:
            _LOGGER.debug("%s refused the access token: %s", shown, err)
            return {"base": "invalid_auth"}
        except RkllamaUnsupportedError as err:
            _LOGGER.debug("%s is not an rkllama server: %s", shown, err)
            return {"base": "not_rkllama"}
        except (RkllamaError, TimeoutError) as err:
            _LOGGER.debug("Cannot connect to %s: %s", shown, err)
            return {"base": "cannot_connect"}
        except Exception:
            _LOGGER.exception("Unexpected exception")
            return {"base": "unknown"}
        _LOGGER.debug("Found rkllama %s (%s API) at %s", info.version, info.flavour, shown)
        return {}

    @classmethod
    @callback
    @override
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Return the agent types a server can have."""
        return {
            CONVERSATION: RkllmSubentryFlowHandler,
            "ai_task_data": RkllmSubentryFlowHandler,
        }


class RkllmSubentryFlowHandler(ConfigSubentryFlow):
    """Add or reconfigure a conversation agent or an AI task."""

    @property
    def _is_new(self) -> bool:
        """Return True when the flow creates a subentry."""
        return self.source == SOURCE_USER

    async def async_step_set_options(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Ask for the model and how the agent uses it."""
        entry: RkllmConfigEntry = self._get_entry()
        if entry.state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="entry_not_loaded")
        coordinator = entry.runtime_data.coordinator
        if not coordinator.last_update_success or coordinator.data is None:
            return self.async_abort(reason="cannot_connect")
        server_models = coordinator.data.model_names

        if user_input is None:
            options = {} if self._is_new else self._get_reconfigure_subentry().data
            return await self._async_show_options_form(options, server_models)
        if errors := subentry_errors(user_input, server_models):
            return await self._async_show_options_form(user_input, server_models, errors)
        data = clean_subentry_input(user_input, self._subentry_type)
        name = str(data.pop(CONF_NAME, "") or "").strip()
        if self._is_new:
            return self.async_create_entry(title=name or model_title(data[CONF_MODEL]), data=data)
        return self.async_update_and_abort(
            self._get_entry(), self._get_reconfigure_subentry(), data=data
        )

    async_step_user = async_step_set_options
    async_step_reconfigure = async_step_set_options

    async def _async_show_options_form(
        self,
        options: Mapping[str, Any],
        server_models: list[str],
        errors: dict[str, str] | None = None,
    ) -> SubentryFlowResult:
        """Show the agent's form with `options` suggested (a conversation: with its prompt)."""
        schema = subentry_schema(
            self.hass,
            is_new=self._is_new,
            subentry_type=self._subentry_type,
            options=options,
            server_models=server_models,
        )
        if errors:
            schema = self.add_suggested_values_to_schema(schema, options)
        placeholders: dict[str, str] | None = None
        if self._subentry_type == CONVERSATION:
            # A refused value (an unsafe model name) is not sent to the server for the preview.
            usable = {key: value for key, value in options.items() if key not in (errors or {})}
            placeholders = await self._async_prompt_preview(usable, server_models)
        return self.async_show_form(
            step_id="set_options",
            data_schema=schema,
            description_placeholders=placeholders,
            errors=errors,
        )

    async def _async_prompt_preview(
        self, options: Mapping[str, Any], server_models: list[str]
    ) -> dict[str, str]:
        """Return the prompt preview of the agent as configured (defaults for a new one)."""
        coordinator = self._get_entry().runtime_data.coordinator
        defaults = {CONF_LLM_HASS_API: [llm.LLM_API_ASSIST]} if self._is_new else {}
        return await async_prompt_preview(
            self.hass,
            {**defaults, **options},
            await coordinator.async_profile(suggested_model(options, server_models)),
            coordinator.figures.prefill_rate,
        )
