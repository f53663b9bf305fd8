"""A local Hugging Face tokenizer (`<model>/tokenizer/`) used for exact rendering and counts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path


class HfTokenizer:
    """Thin typed wrapper around a transformers tokenizer."""

    def __init__(self, tokenizer: Any) -> None:
        """Wrap an already loaded tokenizer."""
        self._tokenizer = tokenizer

    @classmethod
    def load(cls, path: Path) -> HfTokenizer:
        """Load a tokenizer directory (blocking; run it in an executor)."""
        from transformers import AutoTokenizer  # noqa: PLC0415 - heavy, only when needed

        return cls(AutoTokenizer.from_pretrained(str(path)))

    @property
    def supports_system(self) -> bool:
        """Return False when the chat template refuses the system role."""
        template = getattr(self._tokenizer, "chat_template", None) or ""
        return "System role not supported" not in str(template)

    def render(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        think: bool | None,
        *,
        add_generation_prompt: bool = True,
    ) -> str:
        """Apply the chat template and return the prompt text."""
        extra: dict[str, Any] = {} if think is None else {"enable_thinking": think}
        text = self._tokenizer.apply_chat_template(
            messages,
            tools=tools or None,
            tokenize=False,
            add_generation_prompt=add_generation_prompt,
            **extra,
        )
        return str(text)

    def encode(self, text: str) -> list[int]:
        """Tokenise without special tokens."""
        return [int(token) for token in self._tokenizer.encode(text, add_special_tokens=False)]

    def count(self, text: str) -> int:
        """Return the number of tokens of a text."""
        return len(self.encode(text))

    def pieces(self, text: str) -> list[str]:
        """Return the decoded text piece of every token (incomplete UTF-8 merged into the next)."""
        ids = self.encode(text)
        pieces: list[str] = []
        emitted = ""
        for end in range(1, len(ids) + 1):
            decoded = str(self._tokenizer.decode(ids[:end]))
            if decoded.endswith("\ufffd") and end < len(ids):
                continue
            if decoded.startswith(emitted):
                piece = decoded[len(emitted) :]
                if piece:
                    pieces.append(piece)
                emitted = decoded
        if emitted != text and text.startswith(emitted):
            pieces.append(text[len(emitted) :])
        return pieces
