"""Configuration of the emulator: flavour, timing and behaviour knobs."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class Flavour(StrEnum):
    """Which generation of the rkllama server to behave like."""

    OLLAMA = "ollama"
    OLLAMA_SINGLE = "ollama-single"
    LEGACY = "legacy"


@dataclass(frozen=True)
class Timing:
    """Speed of the emulated NPU."""

    load_seconds: float
    prefill_tokens_per_second: float
    decode_tokens_per_second: float
    request_overhead_seconds: float = 0.0
    """Upstream's work per request before the queue and the prefill: it reloads the tokenizer
    from disk, renders the chat template and tokenises (about 0.45 s on an RK3588)."""
    encoder_seconds_per_image: float = 0.0
    """A vision model's encoder per image (loaded anew for every request upstream)."""


BOARD_TIMING = Timing(
    load_seconds=4.0,
    prefill_tokens_per_second=340.0,
    decode_tokens_per_second=7.8,
    request_overhead_seconds=0.45,
    encoder_seconds_per_image=1.8,
)
FAST_TIMING = Timing(
    load_seconds=0.01, prefill_tokens_per_second=1e6, decode_tokens_per_second=2000.0
)

_DEFAULT_VERSIONS = {Flavour.OLLAMA: "0.0.74", Flavour.OLLAMA_SINGLE: "0.5.1"}


@dataclass(frozen=True)
class EmulatorConfig:
    """All knobs of one emulator instance."""

    models_dir: Path
    flavour: Flavour = Flavour.OLLAMA
    timing: Timing = FAST_TIMING
    tool_holdback: bool = True
    # Send tool calls as structured `tool_calls` even when the request lists no tools, as a
    # server that parses them from the text would.
    structured_tool_calls: bool = False
    holdback_pieces: int = 100
    holdback_replay_seconds: float = 0.1
    stranded_piece: bool = False
    idle_unload_seconds: float = 1800.0
    idle_check_seconds: float = 60.0
    max_resident: int = 9
    token_timeout_seconds: float = 300.0
    dead_worker_seconds: float = 60.0
    system_prompt_cache: bool = True
    version: str | None = None
    drop_after_pieces: int = 3
    huge_line_bytes: int = 4 * 1024 * 1024
    context_window: int | None = None
    """The runtime's context in tokens for every model; None: each model's Modelfile NUM_CTX
    (default 4096; the fork: always 4096). A longer prompt is refused as the runtime does."""
    proxy_token: str | None = None
    """Answer 401 unless `Authorization: Bearer <token>` is sent (a reverse proxy in front)."""
    tool_call_chatter: str = ""
    """Text the model writes after its tool calls (small models often guess the result)."""

    @property
    def effective_version(self) -> str | None:
        """Return the /api/version value, or None when the route does not exist."""
        if self.version is not None:
            return self.version
        return _DEFAULT_VERSIONS.get(self.flavour)

    @property
    def multi_model(self) -> bool:
        """Return True for the flavour that keeps several models resident."""
        return self.flavour is Flavour.OLLAMA

    @property
    def effective_max_resident(self) -> int:
        """Return how many models may be resident at once."""
        return max(1, self.max_resident) if self.multi_model else 1
