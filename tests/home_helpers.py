"""A test home with lights, switches and sensors exposed to Assist, and a tiny tokenizer."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.components.light import ColorMode, LightEntity
from homeassistant.components.sensor import SensorDeviceClass, SensorEntity
from homeassistant.components.switch import SwitchEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar, entity_registry as er
from homeassistant.helpers.discovery import async_load_platform
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import setup_test_component_platform

# A 53-entity home: (name, domain, area).
HOME: tuple[tuple[str, str, str], ...] = (
    ("Kitchen Ceiling", "light", "Kitchen"),
    ("Counter Lights", "light", "Kitchen"),
    ("Pantry Light", "light", "Kitchen"),
    ("Coffee Maker", "switch", "Kitchen"),
    ("Kettle", "switch", "Kitchen"),
    ("Dishwasher", "switch", "Kitchen"),
    ("Fridge Temperature", "sensor", "Kitchen"),
    ("Kitchen Humidity", "sensor", "Kitchen"),
    ("Oven Power", "sensor", "Kitchen"),
    ("Living Room Ceiling", "light", "Living Room"),
    ("Sofa Lamp", "light", "Living Room"),
    ("TV Backlight", "light", "Living Room"),
    ("Reading Lamp", "light", "Living Room"),
    ("TV Plug", "switch", "Living Room"),
    ("Air Purifier", "switch", "Living Room"),
    ("Living Room Temperature", "sensor", "Living Room"),
    ("Living Room Humidity", "sensor", "Living Room"),
    ("Bedroom Ceiling", "light", "Bedroom"),
    ("Bed Lamp Left", "light", "Bedroom"),
    ("Bed Lamp Right", "light", "Bedroom"),
    ("Wardrobe Light", "light", "Bedroom"),
    ("Electric Blanket", "switch", "Bedroom"),
    ("Bedroom Fan", "switch", "Bedroom"),
    ("Bedroom Temperature", "sensor", "Bedroom"),
    ("Bedroom Humidity", "sensor", "Bedroom"),
    ("Desk Lamp", "light", "Office"),
    ("Office Ceiling", "light", "Office"),
    ("Monitor Plug", "switch", "Office"),
    ("Printer", "switch", "Office"),
    ("Office Heater", "switch", "Office"),
    ("Office Temperature", "sensor", "Office"),
    ("Office CO2", "sensor", "Office"),
    ("PC Power", "sensor", "Office"),
    ("Bathroom Mirror", "light", "Bathroom"),
    ("Bathroom Ceiling", "light", "Bathroom"),
    ("Towel Warmer", "switch", "Bathroom"),
    ("Extractor Fan", "switch", "Bathroom"),
    ("Bathroom Humidity", "sensor", "Bathroom"),
    ("Bathroom Temperature", "sensor", "Bathroom"),
    ("Hallway Light", "light", "Hallway"),
    ("Porch Light", "light", "Hallway"),
    ("Hallway Temperature", "sensor", "Hallway"),
    ("Garden Lights", "light", "Garden"),
    ("Garden Pump", "switch", "Garden"),
    ("Outdoor Temperature", "sensor", "Garden"),
    ("Outdoor Humidity", "sensor", "Garden"),
    ("Garage Light", "light", "Garage"),
    ("Garage Heater", "switch", "Garage"),
    ("Car Charger", "switch", "Garage"),
    ("Solar Power", "sensor", "Garage"),
    ("Grid Power", "sensor", "Garage"),
    ("Garage Temperature", "sensor", "Garage"),
    ("Car Charger Power", "sensor", "Garage"),
)
_SENSOR_CLASSES = (
    ("Temperature", SensorDeviceClass.TEMPERATURE, 21.5, "°C"),
    ("Humidity", SensorDeviceClass.HUMIDITY, 45, "%"),
    ("Power", SensorDeviceClass.POWER, 35, "W"),
    ("CO2", SensorDeviceClass.CO2, 600, "ppm"),
)

# A Qwen-2.5-like chat template, written for the tests (tools after the system text).
CHAT_TEMPLATE = (
    "{%- if messages[0].role == 'system' %}<|im_start|>system\n{{ messages[0].content }}"
    "{%- if tools %}\n\n# Tools\n\nYou may call one or more functions to assist with the user "
    "query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n"
    "<tools>{%- for tool in tools %}\n{{ tool | tojson }}{%- endfor %}\n</tools>\n\nFor each "
    "function call, return a json object with function name and arguments within "
    '<tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": '
    "<args-json-object>}\n</tool_call>{%- endif %}<|im_end|>\n{%- endif %}"
    "{%- for message in messages %}{%- if message.role != 'system' %}"
    "<|im_start|>{{ 'user' if message.role == 'tool' else message.role }}\n"
    "{{ message.content }}<|im_end|>\n{%- endif %}{%- endfor %}"
    "{%- if add_generation_prompt %}<|im_start|>assistant\n{%- endif %}"
)


class _OnOff:
    """On/off behaviour shared by the test lights and switches: it really switches."""

    _attr_should_poll = False
    _attr_is_on: bool | None

    def __init__(self, name: str) -> None:
        """Start switched off."""
        self._attr_name = name
        self._attr_unique_id = name.lower().replace(" ", "_")
        self._attr_is_on = False

    async def async_turn_on(self, **kwargs: Any) -> None:  # noqa: ARG002
        """Switch on."""
        self._attr_is_on = True
        self.async_write_ha_state()  # type: ignore[attr-defined]  # from the entity class

    async def async_turn_off(self, **kwargs: Any) -> None:  # noqa: ARG002
        """Switch off."""
        self._attr_is_on = False
        self.async_write_ha_state()  # type: ignore[attr-defined]  # from the entity class


class HomeLight(_OnOff, LightEntity):
    """An on/off light."""

    _attr_supported_color_modes: ClassVar[set[ColorMode]] = {ColorMode.ONOFF}
    _attr_color_mode = ColorMode.ONOFF


class HomeSwitch(_OnOff, SwitchEntity):
    """A switch."""


class HomeSensor(SensorEntity):
    """A sensor with a fixed value."""

    _attr_should_poll = False

    def __init__(self, name: str, device_class: SensorDeviceClass, value: float, unit: str) -> None:
        """Set the value."""
        self._attr_name = name
        self._attr_unique_id = name.lower().replace(" ", "_")
        self._attr_device_class = device_class
        self._attr_native_value = value
        self._attr_native_unit_of_measurement = unit


async def async_build_home(hass: HomeAssistant, *, size: int = len(HOME)) -> list[str]:
    """Create the first `size` devices of HOME in their areas, exposed to Assist."""
    entities: dict[str, list[Any]] = {"light": [], "switch": [], "sensor": []}
    area_of: dict[str, str] = {}
    for name, domain, area in HOME[:size]:
        area_of[name] = area
        if domain == "light":
            entities[domain].append(HomeLight(name))
        elif domain == "switch":
            entities[domain].append(HomeSwitch(name))
        else:
            _, device_class, value, unit = next(c for c in _SENSOR_CLASSES if c[0] in name)
            entities[domain].append(HomeSensor(name, device_class, value, unit))
    for domain, group in entities.items():
        setup_test_component_platform(hass, domain, group)
        assert await async_setup_component(hass, domain, {})
        await async_load_platform(hass, domain, "test", {}, {domain: {}})
    await hass.async_block_till_done()

    areas = ar.async_get(hass)
    registry = er.async_get(hass)
    entity_ids: list[str] = []
    for entity in (entity for group in entities.values() for entity in group):
        assert entity.entity_id
        area_name = area_of[str(entity.name)]
        area = areas.async_get_area_by_name(area_name) or areas.async_create(area_name)
        registry.async_update_entity(entity.entity_id, area_id=area.id)
        async_expose_entity(hass, "conversation", entity.entity_id, True)
        entity_ids.append(entity.entity_id)
    return entity_ids


def build_tiny_tokenizer(directory: Path, template: str = CHAT_TEMPLATE) -> Path:
    """Save a whitespace word-level tokenizer with a ChatML template (no downloads)."""
    from tokenizers import Tokenizer, models, pre_tokenizers  # noqa: PLC0415
    from transformers import PreTrainedTokenizerFast  # noqa: PLC0415

    backend = Tokenizer(models.WordLevel(vocab={"[UNK]": 0}, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]")
    tokenizer.chat_template = template
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(str(directory))
    return directory


def count_words(text: str) -> int:
    """Count tokens the way the tiny tokenizer does (words and punctuation runs)."""
    import re  # noqa: PLC0415

    return len(re.findall(r"\w+|[^\w\s]+", text))
