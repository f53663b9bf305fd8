"""The form of an agent (conversation or AI task): its fields and the data it stores."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.const import CONF_LLM_HASS_API, CONF_MODEL, CONF_NAME, CONF_PROMPT
from homeassistant.core import HomeAssistant
from homeassistant.helpers import llm
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
)
import probatio

from .const import (
    CONF_ENTITIES_IN_PROMPT,
    CONF_KEEP_LOADED,
    CONF_MAX_HISTORY,
    CONF_NUM_CTX,
    CONF_PATIENCE,
    CONF_QUICK_CONFIRMATION,
    CONF_SHOW_THINKING,
    CONF_TEMPERATURE,
    CONF_THINK,
    CONF_TURN_TIMEOUT,
    DEFAULT_ENTITIES_IN_PROMPT,
    DEFAULT_KEEP_LOADED,
    DEFAULT_MAX_HISTORY,
    DEFAULT_PATIENCE,
    DEFAULT_QUICK_CONFIRMATION,
    DEFAULT_SHOW_THINKING,
    DEFAULT_TEMPERATURE,
    DEFAULT_THINK,
    DEFAULT_TURN_TIMEOUT,
    ENTITIES_ALL,
    ENTITIES_RELEVANT,
)
from .models import KNOWN_MODELS, find_known_model, model_profile
from .validation import NUMBER_LIMITS

CONVERSATION = "conversation"
"""The subentry type of a conversation agent; only it has the prompt fields."""

PROMPT_FIELDS = (CONF_PROMPT, CONF_LLM_HASS_API, CONF_ENTITIES_IN_PROMPT, CONF_QUICK_CONFIRMATION)
"""Fields of a conversation agent that an AI task does not have."""

type Fields = dict[probatio.Marker, Any]


def subentry_schema(
    hass: HomeAssistant,
    *,
    is_new: bool,
    subentry_type: str,
    options: Mapping[str, Any],
    server_models: list[str],
) -> probatio.Schema:
    """Return an agent's form, with current or default values suggested."""
    choices = model_options(server_models)
    model = suggested_model(options, server_models)
    fields = _model_fields(choices, model, is_new=is_new)
    if subentry_type == CONVERSATION:
        fields |= _prompt_fields(hass, options, is_new=is_new)
    fields |= _context_fields(options, model)
    fields |= _answer_fields(options)
    return probatio.Schema(fields)


def suggested_model(options: Mapping[str, Any], server_models: list[str]) -> str:
    """Return the agent's model, else the first choice of the form."""
    if model := options.get(CONF_MODEL):
        return str(model)
    choices = model_options(server_models)
    return str(choices[0]["value"]) if choices else ""


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


def clean_subentry_input(user_input: Mapping[str, Any], subentry_type: str) -> dict[str, Any]:
    """Return the subentry data: counts as integers, empty or stale fields dropped."""
    data = dict(user_input)
    data[CONF_MODEL] = str(data[CONF_MODEL]).strip()
    for key, (_low, _high, whole) in NUMBER_LIMITS.items():
        if data.get(key) is not None:
            data[key] = int(data[key]) if whole else float(data[key])
    if subentry_type != CONVERSATION:
        for key in PROMPT_FIELDS:
            data.pop(key, None)
    elif not data.get(CONF_LLM_HASS_API):
        data.pop(CONF_LLM_HASS_API, None)
    return data


def _suggested(key: str, value: Any) -> probatio.Optional:
    """Return an optional field with `value` suggested."""
    return probatio.Optional(key, description={"suggested_value": value})


def _number(
    key: str,
    *,
    step: float = 1,
    mode: NumberSelectorMode = NumberSelectorMode.BOX,
    unit: str | None = None,
) -> NumberSelector:
    """Return the number selector of `key`, bounded as the form's checks bound it."""
    low, high, _whole = NUMBER_LIMITS[key]
    config = NumberSelectorConfig(min=low, max=high, step=step, mode=mode)
    if unit is not None:
        config["unit_of_measurement"] = unit
    return NumberSelector(config)


def _model_fields(choices: list[SelectOptionDict], model: str, *, is_new: bool) -> Fields:
    """Return the name (new agents only) and model fields."""
    fields: Fields = {}
    if is_new:
        fields[probatio.Optional(CONF_NAME)] = TextSelector()
    fields[probatio.Required(CONF_MODEL, description={"suggested_value": model})] = SelectSelector(
        SelectSelectorConfig(options=choices, custom_value=True, sort=False)
    )
    return fields


def _prompt_fields(hass: HomeAssistant, options: Mapping[str, Any], *, is_new: bool) -> Fields:
    """Return a conversation agent's fields: instructions, tools and what the prompt shows."""
    selected_apis = [llm.LLM_API_ASSIST] if is_new else list(options.get(CONF_LLM_HASS_API) or [])
    apis = [SelectOptionDict(value=api.id, label=api.name) for api in llm.async_get_apis(hass)]
    return {
        _suggested(
            CONF_PROMPT, options.get(CONF_PROMPT, llm.DEFAULT_INSTRUCTIONS_PROMPT)
        ): TemplateSelector(),
        _suggested(CONF_LLM_HASS_API, filter_invalid_llm_apis(hass, selected_apis)): SelectSelector(
            SelectSelectorConfig(options=apis, multiple=True)
        ),
        _suggested(
            CONF_ENTITIES_IN_PROMPT,
            options.get(CONF_ENTITIES_IN_PROMPT, DEFAULT_ENTITIES_IN_PROMPT),
        ): SelectSelector(
            SelectSelectorConfig(
                options=[ENTITIES_RELEVANT, ENTITIES_ALL],
                translation_key=CONF_ENTITIES_IN_PROMPT,
                mode=SelectSelectorMode.DROPDOWN,
            )
        ),
        _suggested(
            CONF_QUICK_CONFIRMATION,
            options.get(CONF_QUICK_CONFIRMATION, DEFAULT_QUICK_CONFIRMATION),
        ): BooleanSelector(),
    }


def _context_fields(options: Mapping[str, Any], model: str) -> Fields:
    """Return the history and context-window fields (the window defaults to the model's)."""
    return {
        _suggested(CONF_MAX_HISTORY, options.get(CONF_MAX_HISTORY, DEFAULT_MAX_HISTORY)): _number(
            CONF_MAX_HISTORY
        ),
        _suggested(
            CONF_NUM_CTX, options.get(CONF_NUM_CTX, model_profile(model).context_length)
        ): _number(CONF_NUM_CTX),
    }


def _answer_fields(options: Mapping[str, Any]) -> Fields:
    """Return the fields of how the model answers: sampling, time limit, residency, thinking."""
    return {
        _suggested(CONF_TEMPERATURE, options.get(CONF_TEMPERATURE, DEFAULT_TEMPERATURE)): _number(
            CONF_TEMPERATURE, step=0.05, mode=NumberSelectorMode.SLIDER
        ),
        _suggested(
            CONF_TURN_TIMEOUT, options.get(CONF_TURN_TIMEOUT, DEFAULT_TURN_TIMEOUT)
        ): _number(CONF_TURN_TIMEOUT, unit="s"),
        _suggested(CONF_PATIENCE, options.get(CONF_PATIENCE, DEFAULT_PATIENCE)): _number(
            CONF_PATIENCE, step=0.5, unit="x"
        ),
        _suggested(
            CONF_KEEP_LOADED, options.get(CONF_KEEP_LOADED, DEFAULT_KEEP_LOADED)
        ): BooleanSelector(),
        _suggested(
            CONF_SHOW_THINKING, options.get(CONF_SHOW_THINKING, DEFAULT_SHOW_THINKING)
        ): BooleanSelector(),
        _suggested(CONF_THINK, options.get(CONF_THINK, DEFAULT_THINK)): BooleanSelector(),
    }
