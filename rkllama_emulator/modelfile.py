"""Modelfile parsing as rkllama does it (spec section 5.1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

NUMERIC_KEYS = frozenset(
    {
        "temperature",
        "num_ctx",
        "max_new_tokens",
        "top_k",
        "top_p",
        "repeat_penalty",
        "frequency_penalty",
        "presence_penalty",
        "mirostat",
        "mirostat_tau",
        "mirostat_eta",
    }
)
_TRUE_WORDS = frozenset({"true", "yes", "1"})


@dataclass(frozen=True)
class Modelfile:
    """The parsed content of one Modelfile."""

    from_file: str
    huggingface_path: str
    options: dict[str, str] = field(default_factory=dict)

    @property
    def enable_thinking(self) -> bool:
        """Return the ENABLE_THINKING default (unquoted true/yes/1)."""
        return self.options.get("enable_thinking", "").strip().lower() in _TRUE_WORDS

    @property
    def system(self) -> str:
        """Return SYSTEM as the naive splitter keeps it (quotes included)."""
        return self.options.get("system", "")

    def numeric_error(self) -> str | None:
        """Return the error a quoted or non-numeric value causes at load time, if any."""
        for key in NUMERIC_KEYS:
            value = self.options.get(key)
            if value is None:
                continue
            try:
                float(value)
            except ValueError:
                return f"could not convert string to float: {value!r}"
        return None


def _dotenv_value(raw: str) -> str:
    """Return a value the way python-dotenv reads it (quotes removed, comments cut)."""
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in {"'", '"'}:  # noqa: PLR2004
        return value[1:-1]
    return value.split(" #", 1)[0].strip()


def parse_modelfile_text(text: str) -> Modelfile:
    """Parse Modelfile text: FROM/HUGGINGFACE_PATH dotenv-style, other keys naively."""
    from_file = ""
    hf_path = ""
    options: dict[str, str] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or "=" not in stripped:
            continue
        key, value = stripped.split("=", 1)
        dotenv_key = key.strip().removeprefix("export ").strip()
        if dotenv_key == "FROM":
            from_file = _dotenv_value(value)
        elif dotenv_key == "HUGGINGFACE_PATH":
            hf_path = _dotenv_value(value)
        else:
            options[key.strip().lower()] = value.strip()
    return Modelfile(from_file=from_file, huggingface_path=hf_path, options=options)


def read_modelfile(path: Path) -> Modelfile:
    """Read and parse a Modelfile."""
    return parse_modelfile_text(path.read_text(encoding="utf-8"))
