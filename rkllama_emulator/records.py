"""What the emulator remembers about each inference request, for tests."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
import time
from typing import Any


@dataclass
class RecordedRequest:
    """One chat/generate request as the emulator saw and answered it."""

    route: str
    model: str | None
    messages: list[dict[str, Any]] = field(default_factory=list)
    tools: list[dict[str, Any]] | None = None
    options: dict[str, Any] | None = None
    format: Any = None
    think: bool | None = None
    stream: bool = False
    prompt: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reply: str = ""
    queue_wait_seconds: float = 0.0
    status: int = 200
    done: bool = False
    refusal: str | None = None
    """Why the runtime generated nothing, e.g. `prompt over the context (5192 > 4096 tokens)`."""
    # Wall-clock times (time.time(), seconds) for benchmarks, see GET /_emulator/requests:
    # arrival of the request, start of its generation (after the queue and any model load),
    # first piece generated, first piece written to the wire, last piece generated, response end.
    arrived_at: float = field(default_factory=time.time)
    started_at: float | None = None
    first_token_at: float | None = None
    first_sent_at: float | None = None
    last_token_at: float | None = None
    ended_at: float | None = None
    prefill_seconds: float = 0.0
    encoder_seconds: float = 0.0
    """The vision encoder's time for the request's images (before the prefill)."""
    images: int = 0
    overhead_seconds: float = 0.0
    """Upstream's own work before the queue (tokenizer, template, tokenize): the timing knob."""

    def as_json(self) -> dict[str, Any]:
        """Return the record as JSON-ready data."""
        return asdict(self)
