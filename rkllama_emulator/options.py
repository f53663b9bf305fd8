"""Request options as upstream merges them: config defaults, Modelfile, then `options`."""

from __future__ import annotations

from typing import Any

DEFAULT_OPTIONS = {
    "temperature": "0.5",
    "num_ctx": "4096",
    "max_new_tokens": "1024",
    "top_k": "7",
    "top_p": "0.5",
    "repeat_penalty": "1.1",
    "frequency_penalty": "0.0",
    "presence_penalty": "0.0",
    "mirostat": "0",
    "mirostat_tau": "3",
    "mirostat_eta": "0.1",
}
INTEGER_OPTIONS = ("top_k", "mirostat", "max_new_tokens")
DEFAULT_CONTEXT_TOKENS = 4096
"""The runtime's `max_context_len` when the Modelfile sets no NUM_CTX (and the fork's, always)."""


def merge_options(modelfile: dict[str, str], request: dict[str, Any] | None) -> dict[str, str]:
    """Merge defaults, Modelfile keys and request options; values become strings."""
    merged = dict(DEFAULT_OPTIONS)
    merged.update(modelfile)
    for key, value in (request or {}).items():
        name = str(key).lower()
        if name == "num_predict":
            name = "max_new_tokens"
        merged[name] = str(value)
    return merged


def bad_integer_option(options: dict[str, str]) -> str | None:
    """Return the first integer option the worker's int() would reject (e.g. "40.0")."""
    for key in INTEGER_OPTIONS:
        value = options.get(key)
        if value is None:
            continue
        try:
            int(value)
        except ValueError:
            return key
    return None


def max_new_tokens(options: dict[str, str]) -> int:
    """Return the per-request piece limit; 0 means "use the init value" (no limit here)."""
    try:
        value = int(options.get("max_new_tokens", "0"))
    except ValueError:
        return 0
    return max(0, value)


def context_tokens(modelfile: dict[str, str]) -> int:
    """Return the `max_context_len` a load sets from the Modelfile's NUM_CTX (default 4096)."""
    try:
        return int(float(modelfile.get("num_ctx", DEFAULT_CONTEXT_TOKENS)))
    except ValueError:
        return DEFAULT_CONTEXT_TOKENS
