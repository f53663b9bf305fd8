"""Config flow of rkllm: one entry per rkllama server, subentries per agent."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
import logging
import math
import os
import re
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
    CONF_PROMPT,
    CONF_URL,
    CONF_USERNAME,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import AbortFlow
from homeassistant.helpers import llm
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TemplateSelector,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import probatio
from yarl import URL

from .api import RkllamaAuthError, RkllamaClient, RkllamaError, RkllamaUnsupportedError
from .api.urls import (
    InvalidServerUrlError,
    has_credentials,
    normalize_url,
    token_travels_in_clear,
    without_credentials,
    without_credentials as url_without_credentials,
)
from .const import (
    CONF_BOARDS,
    CONF_ENTITIES_IN_PROMPT,
    CONF_KEEP_LOADED,
    CONF_MAX_HISTORY,
    CONF_NUM_CTX,
    CONF_QUICK_CONFIRMATION,
    CONF_SHOW_THINKING,
    CONF_TEMPERATURE,
    CONF_THINK,
    CONF_TOKEN,
    CONF_TURN_TIMEOUT,
    DEFAULT_BOARDS,
    DEFAULT_ENTITIES_IN_PROMPT,
    DEFAULT_HOST,
    DEFAULT_KEEP_LOADED,
    DEFAULT_MAX_HISTORY,
    DEFAULT_QUICK_CONFIRMATION,
    DEFAULT_SHOW_THINKING,
    DEFAULT_TEMPERATURE,
    DEFAULT_THINK,
    DEFAULT_TURN_TIMEOUT,
    DEFAULT_URL,
    DOMAIN,
    ENTITIES_ALL,
    ENTITIES_RELEVANT,
    ENV_SERVER_HOST,
    ENV_SERVER_PORT,
    MAX_BOARDS,
    MAX_MAX_HISTORY,
    MAX_NUM_CTX,
    MAX_TEMPERATURE,
    MAX_TURN_TIMEOUT,
    MIN_MAX_HISTORY,
    MIN_NUM_CTX,
    MIN_TEMPERATURE,
    MIN_TURN_TIMEOUT,
    PROBE_TIMEOUT,
)
from .models import KNOWN_MODELS, find_known_model, model_profile
from .prompt_preview import async_prompt_preview
from .runtime import RkllmConfigEntry
from .validation import subentry_errors

_LOGGER = logging.getLogger(__name__)

_HOSTNAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?$")
_HTTPS_PORT = 443

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
    parsed = URL(url)
    host = f"[{parsed.host}]" if parsed.host and ":" in parsed.host else parsed.host
    return f"rkllama ({host}:{parsed.port})"


def default_server_url() -> str:
    """Return the URL suggested in the form: from the environment, else localhost:8080."""
    host = os.environ.get(ENV_SERVER_HOST, "").strip() or DEFAULT_HOST
    port = os.environ.get(ENV_SERVER_PORT, "").strip()
    try:
        url = URL(normalize_url(host))
        written = URL(host if "://" in host else f"http://{host}")
        if port and written.explicit_port is None:
            url = url.with_port(int(port))
        return normalize_url(str(url))
    except ValueError:
        return DEFAULT_URL


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
        return await self._async_step_server("user", user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the server address or token of an existing entry."""
        return await self._async_step_server("reconfigure", user_input)

    async def _async_step_server(
        self, step_id: str, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        """Validate an address by connecting to it, then create or update the entry."""
        if user_input is None:
            if self.source == SOURCE_RECONFIGURE:
                suggested: Mapping[str, Any] = self._get_reconfigure_entry().data
            else:
                suggested = {CONF_URL: default_server_url()}
            return self.async_show_form(
                step_id=step_id,
                data_schema=self.add_suggested_values_to_schema(STEP_USER_DATA_SCHEMA, suggested),
            )

        token = str(user_input.get(CONF_TOKEN) or "").strip()
        url = ""
        unique_id = ""
        errors: dict[str, str] = {}
        try:
            url = normalize_url(str(user_input[CONF_URL]))
        except InvalidServerUrlError:
            errors["base"] = "invalid_url"
        else:
            unique_id = url_without_credentials(url)
            if token and unique_id != url:
                # aiohttp cannot send URL credentials and a bearer token together.
                errors["base"] = "token_with_credentials"
        if not errors:
            if self.source == SOURCE_RECONFIGURE:
                self._abort_if_other_entry_has(unique_id)
            else:
                await self.async_set_unique_id(unique_id)
                self._abort_if_unique_id_configured()
            errors = await self._async_validate_connection(url, token)

        if errors:
            return self.async_show_form(
                step_id=step_id,
                data_schema=self.add_suggested_values_to_schema(STEP_USER_DATA_SCHEMA, user_input),
                errors=errors,
            )

        data: dict[str, Any] = {CONF_URL: url}
        if token:
            data[CONF_TOKEN] = token
        boards = _boards(user_input.get(CONF_BOARDS))
        if boards != DEFAULT_BOARDS:
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
        assert self._pending is not None  # noqa: S101 - only reached from the server step
        data, unique_id = self._pending
        if user_input is None:
            return self.async_show_form(
                step_id="insecure_token",
                description_placeholders={"host": str(URL(data[CONF_URL]).host)},
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
        with_credentials = has_credentials(url)
        errors: dict[str, str] = {}
        if user_input is not None:
            if with_credentials:
                # The address carries basic-auth credentials: those are what was refused.
                new_url = str(
                    URL(url)
                    .with_user(str(user_input.get(CONF_USERNAME) or ""))
                    .with_password(str(user_input.get(CONF_PASSWORD) or "") or None)
                )
                errors = await self._async_validate_connection(new_url, "")
                if not errors:
                    return self.async_update_reload_and_abort(
                        entry, data={**entry.data, CONF_URL: new_url}
                    )
            else:
                token = str(user_input.get(CONF_TOKEN) or "").strip()
                errors = await self._async_validate_connection(url, token)
                if not errors:
                    data = {**entry.data, CONF_TOKEN: token}
                    if not token:
                        data.pop(CONF_TOKEN)
                    return self.async_update_reload_and_abort(entry, data=data)
        schema = STEP_REAUTH_DATA_SCHEMA
        if with_credentials:
            schema = self.add_suggested_values_to_schema(
                STEP_REAUTH_CREDENTIALS_SCHEMA, {CONF_USERNAME: URL(url).user}
            )
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=schema,
            description_placeholders={"url": without_credentials(url)},
            errors=errors,
        )

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
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):
                info = await client.detect()
        except RkllamaAuthError as err:
            _LOGGER.debug("%s refused the access token: %s", url_without_credentials(url), err)
            return {"base": "invalid_auth"}
        except RkllamaUnsupportedError as err:
            _LOGGER.debug("%s is not an rkllama server: %s", url_without_credentials(url), err)
            return {"base": "not_rkllama"}
        except (RkllamaError, TimeoutError) as err:
            _LOGGER.debug("Cannot connect to %s: %s", url_without_credentials(url), err)
            return {"base": "cannot_connect"}
        except Exception:
            _LOGGER.exception("Unexpected exception")
            return {"base": "unknown"}
        _LOGGER.debug(
            "Found rkllama %s (%s API) at %s",
            info.version,
            info.flavour,
            url_without_credentials(url),
        )
        return {}

    @classmethod
    @callback
    @override
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Return the agent types a server can have."""
        return {
            "conversation": RkllmSubentryFlowHandler,
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
            options: Mapping[str, Any] = (
                {} if self._is_new else self._get_reconfigure_subentry().data
            )
            placeholders: dict[str, str] | None = None
            if self._subentry_type == "conversation":
                placeholders = await self._async_prompt_preview(options, server_models)
            return self.async_show_form(
                step_id="set_options",
                data_schema=probatio.Schema(
                    subentry_schema(
                        self.hass,
                        is_new=self._is_new,
                        subentry_type=self._subentry_type,
                        options=options,
                        server_models=server_models,
                    )
                ),
                description_placeholders=placeholders,
            )

        if errors := subentry_errors(user_input, server_models):
            return self.async_show_form(
                step_id="set_options",
                data_schema=self.add_suggested_values_to_schema(
                    probatio.Schema(
                        subentry_schema(
                            self.hass,
                            is_new=self._is_new,
                            subentry_type=self._subentry_type,
                            options=user_input,
                            server_models=server_models,
                        )
                    ),
                    user_input,
                ),
                errors=errors,
            )
        data = clean_subentry_input(user_input, self._subentry_type)
        name = str(data.pop(CONF_NAME, "") or "").strip()
        if self._is_new:
            return self.async_create_entry(
                title=name or model_title(data[CONF_MODEL]),
                data=data,
            )
        return self.async_update_and_abort(
            self._get_entry(), self._get_reconfigure_subentry(), data=data
        )

    async_step_user = async_step_set_options
    async_step_reconfigure = async_step_set_options

    async def _async_prompt_preview(
        self, options: Mapping[str, Any], server_models: list[str]
    ) -> dict[str, str]:
        """Return the prompt preview of the agent as configured (defaults for a new one)."""
        coordinator = self._get_entry().runtime_data.coordinator
        choices = model_options(server_models)
        choice = str(options.get(CONF_MODEL) or (choices[0]["value"] if choices else ""))
        defaults = {CONF_LLM_HASS_API: [llm.LLM_API_ASSIST]} if self._is_new else {}
        return await async_prompt_preview(
            self.hass,
            {**defaults, **options},
            await coordinator.async_profile(choice),
            coordinator.prefill_rate,
        )


def model_title(model: str) -> str:
    """Return the friendly name of a model choice (the catalogue's, else the choice)."""
    known = find_known_model(model)
    return known.name if known else model


def model_options(server_models: list[str]) -> list[SelectOptionDict]:
    """Return the server's models by friendly name, then the catalogue's other models."""
    options: list[SelectOptionDict] = []
    matched: set[str] = set()
    for name in sorted(server_models):
        known = find_known_model(name)
        if known is None:
            options.append(SelectOptionDict(value=name, label=name))
            continue
        matched.add(known.key)
        label = known.name if known.directory == name else f"{known.name} ({name})"
        options.append(SelectOptionDict(value=name, label=label))
    options.extend(
        SelectOptionDict(value=known.key, label=f"{known.name} (not on this server)")
        for known in KNOWN_MODELS
        if known.key not in matched
    )
    return options


def filter_invalid_llm_apis(hass: HomeAssistant, selected: list[str]) -> list[str]:
    """Keep only the LLM API ids Home Assistant still offers."""
    valid = {api.id for api in llm.async_get_apis(hass)}
    return [api_id for api_id in selected if api_id in valid]


def subentry_schema(
    hass: HomeAssistant,
    *,
    is_new: bool,
    subentry_type: str,
    options: Mapping[str, Any],
    server_models: list[str],
) -> dict[probatio.Marker, Any]:
    """Return the fields of an agent's form, with current or default values suggested."""
    choices = model_options(server_models)
    model = str(options.get(CONF_MODEL) or (choices[0]["value"] if choices else ""))
    schema: dict[probatio.Marker, Any] = {}
    if is_new:
        schema[probatio.Optional(CONF_NAME)] = TextSelector()
    schema[probatio.Required(CONF_MODEL, description={"suggested_value": model})] = SelectSelector(
        SelectSelectorConfig(options=choices, custom_value=True, sort=False)
    )
    if subentry_type == "conversation":
        selected_apis = (
            [llm.LLM_API_ASSIST] if is_new else list(options.get(CONF_LLM_HASS_API) or [])
        )
        schema[
            probatio.Optional(
                CONF_PROMPT,
                description={
                    "suggested_value": options.get(CONF_PROMPT, llm.DEFAULT_INSTRUCTIONS_PROMPT)
                },
            )
        ] = TemplateSelector()
        schema[
            probatio.Optional(
                CONF_LLM_HASS_API,
                description={"suggested_value": filter_invalid_llm_apis(hass, selected_apis)},
            )
        ] = SelectSelector(
            SelectSelectorConfig(
                options=[
                    SelectOptionDict(value=api.id, label=api.name)
                    for api in llm.async_get_apis(hass)
                ],
                multiple=True,
            )
        )
        schema[
            probatio.Optional(
                CONF_ENTITIES_IN_PROMPT,
                description={
                    "suggested_value": options.get(
                        CONF_ENTITIES_IN_PROMPT, DEFAULT_ENTITIES_IN_PROMPT
                    )
                },
            )
        ] = SelectSelector(
            SelectSelectorConfig(
                options=[ENTITIES_RELEVANT, ENTITIES_ALL],
                translation_key=CONF_ENTITIES_IN_PROMPT,
                mode=SelectSelectorMode.DROPDOWN,
            )
        )
        schema[
            probatio.Optional(
                CONF_QUICK_CONFIRMATION,
                description={
                    "suggested_value": options.get(
                        CONF_QUICK_CONFIRMATION, DEFAULT_QUICK_CONFIRMATION
                    )
                },
            )
        ] = BooleanSelector()
    schema.update(
        {
            probatio.Optional(
                CONF_MAX_HISTORY,
                description={"suggested_value": options.get(CONF_MAX_HISTORY, DEFAULT_MAX_HISTORY)},
            ): NumberSelector(
                NumberSelectorConfig(
                    min=MIN_MAX_HISTORY, max=MAX_MAX_HISTORY, step=1, mode=NumberSelectorMode.BOX
                )
            ),
            probatio.Optional(
                CONF_NUM_CTX,
                description={
                    "suggested_value": options.get(
                        CONF_NUM_CTX, model_profile(model).context_length
                    )
                },
            ): NumberSelector(
                NumberSelectorConfig(
                    min=MIN_NUM_CTX, max=MAX_NUM_CTX, step=1, mode=NumberSelectorMode.BOX
                )
            ),
            probatio.Optional(
                CONF_TEMPERATURE,
                description={"suggested_value": options.get(CONF_TEMPERATURE, DEFAULT_TEMPERATURE)},
            ): NumberSelector(
                NumberSelectorConfig(
                    min=MIN_TEMPERATURE,
                    max=MAX_TEMPERATURE,
                    step=0.05,
                    mode=NumberSelectorMode.SLIDER,
                )
            ),
            probatio.Optional(
                CONF_TURN_TIMEOUT,
                description={
                    "suggested_value": options.get(CONF_TURN_TIMEOUT, DEFAULT_TURN_TIMEOUT)
                },
            ): NumberSelector(
                NumberSelectorConfig(
                    min=MIN_TURN_TIMEOUT,
                    max=MAX_TURN_TIMEOUT,
                    step=1,
                    unit_of_measurement="s",
                    mode=NumberSelectorMode.BOX,
                )
            ),
            probatio.Optional(
                CONF_KEEP_LOADED,
                description={"suggested_value": options.get(CONF_KEEP_LOADED, DEFAULT_KEEP_LOADED)},
            ): BooleanSelector(),
            probatio.Optional(
                CONF_SHOW_THINKING,
                description={
                    "suggested_value": options.get(CONF_SHOW_THINKING, DEFAULT_SHOW_THINKING)
                },
            ): BooleanSelector(),
            probatio.Optional(
                CONF_THINK,
                description={"suggested_value": options.get(CONF_THINK, DEFAULT_THINK)},
            ): BooleanSelector(),
        }
    )
    return schema


def clean_subentry_input(user_input: Mapping[str, Any], subentry_type: str) -> dict[str, Any]:
    """Return the subentry data: counts as integers, empty or stale fields dropped."""
    data = dict(user_input)
    data[CONF_MODEL] = str(data[CONF_MODEL]).strip()
    for key in (CONF_MAX_HISTORY, CONF_NUM_CTX):
        if data.get(key) is not None:
            data[key] = int(data[key])
    for key in (CONF_TEMPERATURE, CONF_TURN_TIMEOUT):
        if data.get(key) is not None:
            data[key] = float(data[key])
    if subentry_type != "conversation":
        for key in (
            CONF_PROMPT,
            CONF_LLM_HASS_API,
            CONF_ENTITIES_IN_PROMPT,
            CONF_QUICK_CONFIRMATION,
        ):
            data.pop(key, None)
    elif not data.get(CONF_LLM_HASS_API):
        data.pop(CONF_LLM_HASS_API, None)
    return data
