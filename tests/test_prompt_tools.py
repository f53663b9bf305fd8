"""The tools as the model sees them: compact definitions, short names, the tool block."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv, llm
import probatio

from custom_components.rkllm.prompt.tools import (
    compact_tool,
    compact_tools,
    lean_schema,
    model_tool_names,
    short_description,
    tool_block,
)


class _LightTool(llm.Tool):
    """A tool with every kind of parameter HA tools use."""

    name = "light__HassLightSet"
    description = (
        "Sets the brightness percentage or color of a light. Use it when the user asks to "
        "dim or brighten a light."
    )
    parameters = probatio.Schema(
        {
            probatio.Optional("name", description="Name of the light"): cv.string,
            probatio.Optional("domain"): probatio.Any(cv.string, [cv.string]),
            probatio.Optional("brightness"): probatio.All(
                probatio.Coerce(int), probatio.Range(0, 100)
            ),
            probatio.Optional("color"): probatio.In(["red", "green"]),
            probatio.Optional("device_class"): [probatio.In([f"c{i}" for i in range(20)])],
            probatio.Required("area"): cv.string,
        }
    )

    async def async_call(
        self,
        hass: HomeAssistant,  # noqa: ARG002
        tool_input: llm.ToolInput,  # noqa: ARG002
        llm_context: llm.LLMContext,  # noqa: ARG002
    ) -> llm.ToolResult:
        """Do nothing."""
        return llm.ToolResult(data={})


def test_compact_tool() -> None:
    """Names stay exact; descriptions shrink to a sentence; schemas keep only what matters."""
    spec = compact_tool(_LightTool(), llm.selector_serializer, drop=frozenset())
    assert spec.name == "light__HassLightSet"
    assert spec.description == "Sets the brightness percentage or color of a light"
    props = spec.parameters["properties"]
    assert props["name"] == {"type": "string"}  # no description
    assert props["domain"] == {"type": "array", "items": {"type": "string"}}
    assert props["brightness"] == {"type": "integer", "minimum": 0, "maximum": 100}
    assert props["color"] == {"type": "string", "enum": ["red", "green"]}
    assert props["device_class"] == {"type": "array", "items": {"type": "string"}}  # long enum
    assert spec.parameters["required"] == ["area"]
    assert "additionalProperties" not in spec.parameters

    # One line: text parameters by name, others with what they take.
    assert spec.signature("HassLightSet") == (
        "HassLightSet(name, domain, brightness: 0-100, color: red|green, device_class, area): "
        "Sets the brightness percentage or color of a light"
    )
    assert spec.signature().startswith("light__HassLightSet(")


def test_unneeded_parameters_dropped() -> None:
    """Optional parameters the model does not need are left out; required ones stay."""
    spec = compact_tool(_LightTool(), None, drop=frozenset({"device_class", "area"}))
    assert set(spec.parameters["properties"]) == {"name", "domain", "brightness", "color", "area"}


def test_redundant_description_dropped() -> None:
    """A description that only repeats the tool name is not sent."""

    class _Timers(_LightTool):
        name = "intent__HassCancelAllTimers"
        description = "Cancels all timers."

    assert compact_tool(_Timers(), None).description == ""


def test_tool_block_is_qwen_style() -> None:
    """The tool block uses Qwen's own wording around one signature line per tool."""
    block = tool_block([compact_tool(_LightTool(), None)], {"light__HassLightSet": "HassLightSet"})
    assert block.startswith("# Tools\n")
    assert "<tools>\nHassLightSet(name, " in block
    assert block.endswith(
        '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
    )


def test_model_tool_names() -> None:
    """The namespace is dropped where the rest of the name is unique."""
    assert model_tool_names(
        ["intent__HassTurnOn", "homeassistant__GetLiveContext", "a__Same", "b__Same"]
    ) == {
        "intent__HassTurnOn": "HassTurnOn",
        "homeassistant__GetLiveContext": "GetLiveContext",
        "a__Same": "a__Same",
        "b__Same": "b__Same",
    }


def test_tools_without_usable_settings_dropped() -> None:
    """Parameters the home cannot use are dropped; a tool left with no setting goes too."""
    specs = compact_tools(
        [_LightTool()], None, drop_by_tool={"HassLightSet": {"color", "device_class"}}
    )
    assert set(specs[0].parameters["properties"]) == {"name", "domain", "brightness", "area"}
    assert not compact_tools(
        [_LightTool()], None, drop_by_tool={"HassLightSet": {"color", "brightness"}}
    )


def test_short_description() -> None:
    """Long single sentences are cut at a word boundary."""
    assert short_description("") == ""
    assert short_description("No full stop") == "No full stop"
    long = " ".join(["word"] * 60)
    cut = short_description(long)
    assert cut.endswith("…")
    assert len(cut) <= 121


def test_lean_schema_unions() -> None:
    """Nullable and `one or many` unions collapse to one type."""
    assert lean_schema({"anyOf": [{"type": "null"}, {"type": "string"}]}) == {"type": "string"}
    assert lean_schema({"type": ["integer", "null"]}) == {"type": "integer"}
    assert lean_schema({"type": "object", "properties": {}}) == {
        "type": "object",
        "properties": {},
    }
