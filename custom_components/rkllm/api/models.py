"""Typed values the rkllama client returns and accepts; built once from JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
import json
import re

type JsonValue = str | int | float | bool | list[JsonValue] | dict[str, JsonValue] | None
type JsonObject = dict[str, JsonValue]

_PS_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


class ApiFlavour(StrEnum):
    """Which rkllama API a server speaks (see docs: flavours and timeline)."""

    LEGACY = "legacy"
    """`/generate` API of the early-2025 builds and the jfreed-dev fork: one model, no `/api/*`."""
    OLLAMA_SINGLE = "ollama_single"
    """Ollama-compatible `/api/*` with one resident model (2025-02-27 to 2025-08-30)."""
    OLLAMA = "ollama"
    """Ollama-compatible `/api/*` with several resident models (current upstream)."""

    @property
    def single_model(self) -> bool:
        """Return True when the server holds one model at a time."""
        return self is not ApiFlavour.OLLAMA

    @property
    def ollama_routes(self) -> bool:
        """Return True when the server has the `/api/*` routes."""
        return self is not ApiFlavour.LEGACY


class MessageRole(StrEnum):
    """Roles of chat messages."""

    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """What `detect()` learned about a server."""

    flavour: ApiFlavour
    version: str | None
    """rkllama's own version string (`0.0.x`, or the fake `0.5.1`); None for the legacy API."""
    message: str
    """The welcome message of `GET /`."""


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """A model available on the server (`/api/tags` or `/models`)."""

    name: str
    size: int | None = None
    """Bytes of the model file."""
    parameter_size: str | None = None
    quantization: str | None = None
    family: str | None = None

    @classmethod
    def from_tags_entry(cls, data: JsonObject) -> ModelInfo:
        """Build from one `/api/tags` entry."""
        details = data.get("details")
        details = details if isinstance(details, dict) else {}
        return cls(
            name=str(data.get("name") or data.get("model") or ""),
            size=_int_or_none(data.get("size")),
            parameter_size=_str_or_none(details.get("parameter_size")),
            quantization=_str_or_none(details.get("quantization_level")),
            family=_str_or_none(details.get("family")),
        )


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """A model resident on the NPU (`/api/ps` or `/current_model`)."""

    name: str
    loaded_at: datetime | None = None
    """Server local time, naive."""
    expires_at: datetime | None = None
    """When the server's idle timer unloads it (server local time, naive)."""
    last_call: datetime | None = None

    @classmethod
    def from_ps_entry(cls, data: JsonObject) -> LoadedModel:
        """Build from one `/api/ps` entry."""
        return cls(
            name=str(data.get("name") or data.get("model") or ""),
            loaded_at=_ps_time(data.get("loaded_at")),
            expires_at=_ps_time(data.get("expires_at")),
            last_call=_ps_time(data.get("last_call")),
        )


@dataclass(frozen=True, slots=True)
class ModelDetails:
    """What the server tells about one model (`/api/show`)."""

    name: str
    huggingface_path: str | None = None
    """Hugging Face repository of the tokenizer and chat template (Modelfile HUGGINGFACE_PATH)."""
    context_length: int | None = None
    family: str | None = None
    parameter_size: str | None = None
    capabilities: tuple[str, ...] = ()
    system: str = ""
    image_size: tuple[int, int] | None = None
    """Width and height the model's vision encoder takes (Modelfile IMAGE_WIDTH/IMAGE_HEIGHT)."""
    image_tokens: int | None = None
    """Prompt tokens one image takes (Modelfile N_IMAGE_TOKENS)."""

    @classmethod
    def from_show(cls, name: str, data: JsonObject) -> ModelDetails:
        """Build from an `/api/show` body."""
        details = data.get("details")
        details = details if isinstance(details, dict) else {}
        model_info = data.get("model_info")
        model_info = model_info if isinstance(model_info, dict) else {}
        context = next(
            (
                _int_or_none(value)
                for key, value in model_info.items()
                if key.endswith(".context_length")
            ),
            None,
        )
        capabilities = data.get("capabilities")
        vision = _modelfile_numbers(str(data.get("modelfile") or ""))
        width, height = vision.get("image_width"), vision.get("image_height")
        return cls(
            name=name,
            huggingface_path=_str_or_none(details.get("parent_model")),
            context_length=context,
            family=_str_or_none(details.get("family")),
            parameter_size=_str_or_none(details.get("parameter_size")),
            capabilities=tuple(str(c) for c in capabilities)
            if isinstance(capabilities, list)
            else (),
            system=str(data.get("system") or ""),
            image_size=(width, height) if width and height else None,
            image_tokens=vision.get("n_image_tokens"),
        )


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A function call the model asked for."""

    name: str
    arguments: JsonObject = field(default_factory=dict)

    def as_json(self) -> JsonObject:
        """Return the Ollama wire shape (arguments stay an object)."""
        return {"function": {"name": self.name, "arguments": self.arguments}}


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message of a chat request."""

    role: MessageRole
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_name: str | None = None
    """For role `tool`: which tool produced this result."""
    images: tuple[str, ...] = ()
    """Base64-encoded images (JPEG/PNG) for a vision model; user messages only."""

    def as_json(self) -> JsonObject:
        """Return the Ollama wire shape."""
        data: JsonObject = {"role": self.role.value, "content": self.content}
        if self.images:
            data["images"] = list(self.images)
        if self.tool_calls:
            data["tool_calls"] = [call.as_json() for call in self.tool_calls]
        if self.tool_name:
            data["tool_name"] = self.tool_name
        return data


@dataclass(frozen=True, slots=True)
class ChatOptions:
    """Sampling options; integers stay integers on the wire (rkllama breaks on `40.0`)."""

    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    repeat_penalty: float | None = None
    num_predict: int | None = None
    """Maximum new tokens."""
    num_ctx: int | None = None
    """Context window; applied by the server only when it loads the model."""

    def as_json(self) -> JsonObject:
        """Return the options that are set, with integer fields as JSON integers."""
        data: JsonObject = {}
        for name in ("temperature", "top_p", "repeat_penalty"):
            value = getattr(self, name)
            if value is not None:
                data[name] = float(value)
        for name in ("top_k", "num_predict", "num_ctx"):
            value = getattr(self, name)
            if value is not None:
                data[name] = int(value)
        return data


@dataclass(frozen=True, slots=True)
class GenerationStats:
    """Figures of one finished generation, in the units named by each field."""

    prompt_tokens: int
    completion_tokens: int
    prompt_eval_seconds: float | None
    """Server prefill time (upstream sends milliseconds under an Ollama nanosecond name)."""
    eval_seconds: float | None
    """Server decode time (converted the same way)."""
    total_seconds: float | None
    """Server-side wall time including queue wait (upstream sends nanoseconds)."""
    time_to_first_chunk: float
    """Client-measured seconds from sending the request to the first text chunk."""
    wall_seconds: float
    """Client-measured seconds from sending the request to the end of the stream."""
    done_reason: str | None = None

    @property
    def tokens_per_second(self) -> float | None:
        """Return the decode rate, from server figures when present, else client timing."""
        if self.completion_tokens <= 0:
            return None
        if self.eval_seconds:
            return self.completion_tokens / self.eval_seconds
        streaming = self.wall_seconds - self.time_to_first_chunk
        if streaming > 0 and self.completion_tokens > 1:
            return (self.completion_tokens - 1) / streaming
        return None

    @property
    def prompt_tokens_per_second(self) -> float | None:
        """Return the prefill rate when the server reported its prefill time."""
        if self.prompt_tokens and self.prompt_eval_seconds:
            return self.prompt_tokens / self.prompt_eval_seconds
        return None


@dataclass(frozen=True, slots=True)
class ChatChunk:
    """One piece of a streamed answer; the last one has `done` and `stats`."""

    content: str = ""
    thinking: str = ""
    """Separate reasoning text, when the server sends it apart (rkllama keeps it inline)."""
    tool_calls: tuple[ToolCall, ...] = ()
    done: bool = False
    stats: GenerationStats | None = None


def parse_tool_calls(raw: JsonValue) -> tuple[ToolCall, ...]:
    """Read Ollama/OpenAI-shaped tool calls; string arguments are parsed as JSON."""
    if not isinstance(raw, list):
        return ()
    calls: list[ToolCall] = []
    for item in raw:
        if not isinstance(item, dict):
            continue
        function = item.get("function", item)
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            continue
        arguments = function.get("arguments", function.get("parameters"))
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except ValueError:
                arguments = {}
        calls.append(
            ToolCall(
                name=str(function["name"]),
                arguments=arguments if isinstance(arguments, dict) else {},
            )
        )
    return tuple(calls)


_VISION_KEY_RE = re.compile(
    r"^\s*(?:PARAMETER\s+)?(image_width|image_height|n_image_tokens)\s*[=\s]\s*\"?(\d+)\"?\s*$",
    re.IGNORECASE | re.MULTILINE,
)


def _modelfile_numbers(text: str) -> dict[str, int]:
    """Return the vision encoder's figures a Modelfile text names (keys in lower case)."""
    return {key.lower(): int(value) for key, value in _VISION_KEY_RE.findall(text)}


def _int_or_none(value: JsonValue) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\d+", value):
        return int(value)
    return None


def _str_or_none(value: JsonValue) -> str | None:
    return value if isinstance(value, str) and value else None


def _ps_time(value: JsonValue) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, _PS_TIME_FORMAT)  # noqa: DTZ007 - server local time
    except ValueError:
        return None
