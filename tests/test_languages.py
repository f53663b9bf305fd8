"""Every language Home Assistant's intents speak: confirmations and spoken errors in it.

The quick confirmation is HA's own response template of the intent in the request's language
(from `home-assistant-intents`), and every spoken error is our sentence in that language,
answered as the conversation result (HA would render a raised error in its own language).
"""

from __future__ import annotations

import json
from pathlib import Path
import string
from typing import Any

import home_assistant_intents
from home_assistant_intents import get_languages
from homeassistant.components import conversation
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import chat_session, llm
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.rkllm.const import DOMAIN
from custom_components.rkllm.prompt.language_words import match_language
from custom_components.rkllm.speech import async_confirmation
from rkllama_emulator import RkllamaEmulator

from .conftest import agent_id, assert_speakable
from .home_helpers import async_build_home

COMPONENT = Path(__file__).parents[1] / "custom_components/rkllm"
ENGLISH = json.loads((COMPONENT / "translations/en.json").read_text(encoding="utf-8"))
SPOKEN_KEYS = sorted(
    key
    for key in json.loads((COMPONENT / "strings.json").read_text(encoding="utf-8"))["exceptions"]
    if key.startswith("spoken_")
)
COMMON_KEYS = sorted(ENGLISH["common"])
SAMPLE = {
    "targets": "Kitchen Light",
    "position": "40",
    "brightness": "60",
    "first": "A",
    "last": "B",
}


def _translation(language: str) -> dict[str, Any]:
    path = COMPONENT / f"translations/{language}.json"
    assert path.is_file(), f"no translation file for {language}"
    return dict(json.loads(path.read_text(encoding="utf-8")))


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("language", get_languages())
def test_every_language_has_every_spoken_sentence(language: str) -> None:
    """Each language of HA's intents: every spoken error and confirmation, each speakable."""
    data = _translation(language)
    for key in SPOKEN_KEYS:
        message = data["exceptions"][key]["message"]
        assert_speakable(message)
    for key in COMMON_KEYS:
        text = data["common"][key]
        assert _placeholders(text) == _placeholders(ENGLISH["common"][key]), (language, key)
        assert_speakable(text.format(**SAMPLE))


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("fr-FR", "fr"),
        ("zh-CN", "zh-CN"),
        ("zh-cn", "zh-CN"),
        ("zh-Hant", "zh-TW"),
        ("pt-BR", "pt-BR"),
        ("pt-PT", "pt"),
        ("de-CH", "de-CH"),
        ("de-AT", "de"),
        ("sr-Latn", "sr-Latn"),
        ("en-GB", "en"),
        ("zh", "zh-CN"),
        ("eo", None),
        ("", None),
    ],
)
def test_regional_codes_find_their_language(language: str, expected: str | None) -> None:
    """The exact code first, then the base language, then its first regional variant."""
    assert match_language(language, [*get_languages()]) == expected


async def _process(hass: HomeAssistant, entry: MockConfigEntry, language: str) -> str:
    """Ask through `conversation.process`, as an automation or a pipeline does."""
    response = await hass.services.async_call(
        "conversation",
        "process",
        {"agent_id": agent_id(hass, entry), "text": "What is 1 + 1?", "language": language},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    assert response["response"]["response_type"] == "error"
    assert response["response"]["language"] == language
    return str(response["response"]["speech"]["plain"]["speech"])


@pytest.mark.usefixtures("init_integration")
async def test_server_down_is_said_in_the_request_language(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """The server is down: French, Japanese and Swiss users hear it in their language."""
    await emulator.stop()
    for language, file in (("fr", "fr"), ("fr-FR", "fr"), ("ja", "ja"), ("de-CH", "de-CH")):
        expected = _translation(file)["exceptions"]["spoken_cannot_connect"]["message"]
        assert await _process(hass, mock_config_entry, language) == expected
    # A language we have no file for: English, never a key or nothing.
    english = ENGLISH["exceptions"]["spoken_cannot_connect"]["message"]
    assert await _process(hass, mock_config_entry, "eo") == english


async def _confirm(
    hass: HomeAssistant, language: str, calls: list[tuple[str, dict[str, Any]]]
) -> str | None:
    """Run `calls` as the model's tool calls of one step; return the confirmation."""
    with (
        chat_session.async_get_chat_session(hass) as session,
        conversation.async_get_chat_log(hass, session) as chat_log,
    ):
        await chat_log.async_provide_llm_data(
            llm.LLMContext(DOMAIN, Context(), language, "conversation", None),
            [llm.LLM_API_ASSIST],
        )
        chat_log.async_add_user_content(conversation.UserContent("…"))
        content = conversation.AssistantContent(
            agent_id="conversation.x",
            tool_calls=[
                llm.ToolInput(tool_name=f"intent__{name}", tool_args=args) for name, args in calls
            ],
        )
        async for _result in chat_log.async_add_assistant_content(content):
            pass
        return await async_confirmation(hass, chat_log, language)


KETTLE_OFF = [("HassTurnOff", {"name": "Kettle"})]
CEILING_ON = [("HassTurnOn", {"name": "Kitchen Ceiling"})]


@pytest.mark.parametrize(
    ("language", "calls", "expected"),
    [
        ("en", CEILING_ON, "Turned on the light"),
        ("fr-FR", CEILING_ON, "Allumé"),
        ("ja", CEILING_ON, "ライトがオンになりました"),
        ("ru", KETTLE_OFF, "Kettle выключен"),
        ("zh-CN", KETTLE_OFF, "Kettle已关闭"),
        ("pt-BR", CEILING_ON, "luz ligado"),
        ("de-CH", KETTLE_OFF, "Ha Kettle abgsteut."),
        ("ko", KETTLE_OFF, "Kettle 껐습니다"),
        ("eo", CEILING_ON, "Turned on Kitchen Ceiling."),
        ("en", [("HassTurnOn", {"area": "Kitchen", "domain": "light"})], "Turned on the lights"),
        (
            "it",
            [("HassTurnOn", {"area": "Kitchen", "domain": "light"})],
            "Ho acceso le luci in Kitchen",
        ),
    ],
)
@pytest.mark.usefixtures("init_integration", "setup_ha")
async def test_confirmation_is_home_assistants_own_sentence(
    hass: HomeAssistant, language: str, calls: list[tuple[str, dict[str, Any]]], expected: str
) -> None:
    """HA's response template of the intent, in the request's language, with its slots."""
    await async_build_home(hass, size=12)
    assert await _confirm(hass, language, calls) == expected


@pytest.mark.usefixtures("init_integration", "setup_ha")
async def test_confirmation_without_a_template(hass: HomeAssistant) -> None:
    """Where HA has no sentence, our translated one names the targets; English if no file."""
    await async_build_home(hass, size=12)
    both = [("HassTurnOn", {"name": "Kitchen Ceiling"}), ("HassTurnOn", {"name": "Sofa Lamp"})]
    assert await _confirm(hass, "fr", both) == "Kitchen Ceiling et Sofa Lamp allumé."
    assert await _confirm(hass, "ja", both) == "Kitchen CeilingとSofa Lampをオンにしました。"
    # Esperanto is not among HA's intents nor our files: the English sentence, nothing lost.
    assert await _confirm(hass, "eo", KETTLE_OFF) == "Turned off Kettle."
    assert await _confirm(hass, "eo", both) == "Turned on Kitchen Ceiling and Sofa Lamp."


@pytest.fixture
def intents_read(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record each language whose intents file is read (set up before the integration)."""
    read: list[str] = []
    real = home_assistant_intents.get_intents

    def spy(language: str, *args: Any, **kwargs: Any) -> Any:
        read.append(language)
        return real(language, *args, **kwargs)

    monkeypatch.setattr(home_assistant_intents, "get_intents", spy)
    return read


@pytest.mark.usefixtures("setup_ha")
async def test_intents_read_once_per_language(
    hass: HomeAssistant, intents_read: list[str], init_integration: MockConfigEntry
) -> None:
    """HA's language is read at set-up; another language once, on its first confirmation."""
    assert init_integration.state is ConfigEntryState.LOADED
    assert intents_read == ["en"]
    await async_build_home(hass, size=12)
    for language in ("en", "fr-FR", "fr", "fr-BE"):
        assert await _confirm(hass, language, KETTLE_OFF)
    assert intents_read == ["en", "fr"]
