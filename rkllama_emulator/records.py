"""What the emulator remembers about each inference request, for tests."""

from __future__ import annotations

from dataclasses import dataclass, field
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
