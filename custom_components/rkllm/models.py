"""Known-model catalogue: HA model choice ↔ RKLLAMA directory ↔ tokenizer; pure data."""

from __future__ import annotations

from dataclasses import dataclass, replace
import re
from typing import Any

from .api import ModelDetails

DEFAULT_CONTEXT_LENGTH = 4096  # tokens: rkllama's NUM_CTX default and the fork's fixed window


@dataclass(frozen=True, slots=True)
class Vision:
    """A model's vision encoder (the `.rknn` file beside the `.rkllm` one)."""

    width: int
    """Pixels the encoder takes (Modelfile IMAGE_WIDTH); images are resized to fit."""
    height: int
    tokens: int
    """Prompt tokens one image takes (Modelfile N_IMAGE_TOKENS)."""
    encoder_seconds: float = 1.5
    """The encoder's time per image on an RK3588 (estimate; rkllama loads it per request)."""
    max_images: int = 4
    """Images one request may hold."""


# The vision encoders as rknn-llm's multimodal demos convert them.
QWEN_VL = Vision(392, 392, 196, encoder_seconds=1.8)
QWEN3_VL = Vision(448, 448, 196, encoder_seconds=1.6)
MINICPM_V = Vision(448, 448, 64, encoder_seconds=2.0)
INTERNVL = Vision(448, 448, 256, encoder_seconds=1.2, max_images=2)


@dataclass(frozen=True, slots=True)
class KnownModel:
    """One entry of the catalogue (the seed's model table)."""

    key: str
    """The model choice offered in Home Assistant."""
    directory: str
    """The RKLLAMA model directory (`~/RKLLAMA/models/<directory>/`)."""
    tokenizer: str
    """Hugging Face repository of the tokenizer and chat template."""
    name: str
    """Friendly name shown in the UI."""
    context_length: int = DEFAULT_CONTEXT_LENGTH
    reasoning: bool = False
    """Answers start with a reasoning part (see `api.model_text`)."""
    hybrid_thinking: bool = False
    """Thinks unless the request says `think: false` (Qwen3's template `enable_thinking`)."""
    vision: Vision | None = None
    """The model reads images (rkllama: with its `.rknn` encoder in the model's folder)."""


def _sizes(
    owner: str, directory: str, name: str, sizes: tuple[str, ...], **facts: Any
) -> tuple[KnownModel, ...]:
    """Return one entry per size of a model family published as `<owner>/<directory>`."""
    return tuple(
        KnownModel(
            directory.format(size).lower(),
            directory.format(size),
            f"{owner}/{directory.format(size)}",
            name.format(size),
            **facts,
        )
        for size in sizes
    )


KNOWN_MODELS: tuple[KnownModel, ...] = (
    KnownModel(
        "deepseek-r1-1.5b",
        "DeepSeek-R1-1.5B",
        "Qwen/Qwen2.5-1.5B-Instruct",
        "DeepSeek-R1 1.5B (reasoning)",
        reasoning=True,
    ),
    KnownModel(
        "qwen2.5-1.5b-instruct",
        "Qwen2.5-1.5B-Instruct",
        "Qwen/Qwen2.5-1.5B-Instruct",
        "Qwen2.5 1.5B Instruct",
    ),
    KnownModel("qwen2.5-1.5b", "Qwen2.5-1.5B", "Qwen/Qwen2.5-1.5B-Instruct", "Qwen2.5 1.5B"),
    KnownModel("qwen2.5-3b", "Qwen2.5-3B", "Qwen/Qwen2.5-3B-Instruct", "Qwen2.5 3B"),
    KnownModel("phi-3-mini", "Phi-3-mini", "microsoft/Phi-3-mini-4k-instruct", "Phi-3 mini"),
    # Qwen3 (trained for 32,768 tokens; rkllama runs them with its NUM_CTX default of 4,096).
    *_sizes("Qwen", "Qwen3-{}", "Qwen3 {}", ("0.6B", "1.7B", "4B"), hybrid_thinking=True),
    # rknn-llm 1.3.0's benchmark models, served by rkllama from `.gguf` folders (llama.cpp).
    # Vision there needs an `mmproj` file the integration cannot see: they count as text-only.
    *_sizes("Qwen", "Qwen3.5-{}", "Qwen3.5 {}", ("0.8B", "2B", "4B"), hybrid_thinking=True),
    *_sizes("google", "gemma-4-{}-it", "Gemma 4 {}", ("E2B", "E4B")),
    # Vision models: a `.rkllm` language model and a `.rknn` encoder.
    *_sizes("Qwen", "Qwen2-VL-{}-Instruct", "Qwen2-VL {} (vision)", ("2B",), vision=QWEN_VL),
    *_sizes(
        "Qwen", "Qwen2.5-VL-{}-Instruct", "Qwen2.5-VL {} (vision)", ("3B", "7B"), vision=QWEN_VL
    ),
    *_sizes("Qwen", "Qwen3-VL-{}-Instruct", "Qwen3-VL {} (vision)", ("2B", "4B"), vision=QWEN3_VL),
    KnownModel(
        "minicpm-v-4",
        "MiniCPM-V-4",
        "openbmb/MiniCPM-V-4",
        "MiniCPM-V 4 (vision)",
        vision=MINICPM_V,
    ),
    KnownModel(
        "minicpm-v-4.5",
        "MiniCPM-V-4_5",
        "openbmb/MiniCPM-V-4_5",
        "MiniCPM-V 4.5 (vision)",
        hybrid_thinking=True,
        vision=MINICPM_V,
    ),
    *_sizes(
        "OpenGVLab", "InternVL3_5-{}", "InternVL 3.5 {} (vision)", ("1B", "2B"), vision=INTERNVL
    ),
)

# Name parts that describe the build, not the model (rkllama directories often carry them).
_BUILD_SUFFIX = re.compile(
    r"[-_.:](?:rk35\d\d|rk3576|w8a8|w4a16|w8a8_g\d+|w4a16_g\d+|opt|hybrid|ratio|npu\d*|"
    r"\d+\.\d+\.\d+|rkllm|v\d+(?:\.\d+)*|gguf|[bf]?f16|q\d+(?:_[a-z0-9]+)*)(?=$|[-_.:]).*$",
    re.IGNORECASE,
)


def normalize_model_name(name: str) -> str:
    """Return a comparable form: no namespace, lower case, `:` as `-`, build suffixes removed."""
    base = name.split("/", 1)[-1] if "/" in name else name
    base = base.removesuffix(".rkllm").removesuffix("-rkllm")
    base = _BUILD_SUFFIX.sub("", base)
    return base.lower().replace(":", "-").replace("_", "-")


def _same_version(first: str, second: str) -> bool:
    """Return True when two normalized names differ at most in `.` and `-` (3.5 and 3_5)."""
    return first.replace(".", "-") == second.replace(".", "-")


def find_known_model(name: str) -> KnownModel | None:
    """Return the catalogue entry for an HA choice or a server model name, if any.

    Matches the key, the directory, rkllama short names (`qwen2.5:3b`) and directory names
    with platform/quantization suffixes (`Qwen2.5-1.5B-Instruct-rk3588-w8a8`).
    """
    wanted = normalize_model_name(name)
    for model in KNOWN_MODELS:
        if wanted == model.key or _same_version(wanted, normalize_model_name(model.directory)):
            return model
    # Short names: "qwen2.5:1.5b" means the instruct build when the catalogue has one.
    for model in KNOWN_MODELS:
        if model.key.startswith(f"{wanted}-instruct"):
            return model
    return None


@dataclass(frozen=True, slots=True)
class ModelProfile:
    """What the integration needs to know about the model an agent uses."""

    name: str
    """The model name as the server knows it."""
    tokenizer: str | None
    context_length: int
    reasoning: bool
    hybrid_thinking: bool = False
    """Thinking is switched per request (`think`); the agent turns it off for voice."""
    vision: Vision | None = None
    """The model reads images: the encoder's size and cost (the server's Modelfile first)."""


def model_profile(name: str, details: ModelDetails | None = None) -> ModelProfile:
    """Combine the catalogue and the server's own facts about `name`."""
    known = find_known_model(name)
    tokenizer = known.tokenizer if known else None
    if details is not None and details.huggingface_path and tokenizer is None:
        tokenizer = details.huggingface_path
    context = known.context_length if known else DEFAULT_CONTEXT_LENGTH
    reasoning = known.reasoning if known else "deepseek-r1" in name.lower()
    hybrid = known.hybrid_thinking if known else "qwen3" in normalize_model_name(name)
    return ModelProfile(
        name=name,
        tokenizer=tokenizer,
        context_length=context,
        reasoning=reasoning,
        hybrid_thinking=hybrid,
        vision=_vision(known, details),
    )


def _vision(known: KnownModel | None, details: ModelDetails | None) -> Vision | None:
    """Return the model's encoder: the server's Modelfile figures over the catalogue's."""
    default = known.vision if known else None
    if details is None or details.image_size is None:
        return default
    width, height = details.image_size
    tokens = details.image_tokens or (default.tokens if default else (width // 28) * (height // 28))
    if default is None:
        return Vision(width, height, tokens)
    return replace(default, width=width, height=height, tokens=tokens)


def server_model_for_choice(choice: str, available: list[str]) -> str:
    """Return the server's name for an HA model choice (itself when nothing matches)."""
    if choice in available:
        return choice
    known = find_known_model(choice)
    if known is None:
        return choice
    for name in available:
        if find_known_model(name) == known:
            return name
    return choice
