"""Model store: the models directory, seed models and per-model facts (spec 5.1, 5.4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
import re
from typing import TYPE_CHECKING

from .modelfile import Modelfile, read_modelfile

if TYPE_CHECKING:
    from pathlib import Path

MODEL_SUFFIXES = (".rkllm", ".rknn", ".gguf")
_PARAM_RE = re.compile(r"(\d+(?:\.\d+)?)B")
_QUANT_RULES = (
    (re.compile(r"w8a8_g(128|256|512)", re.IGNORECASE), "Q8_K_M"),
    (re.compile(r"w4a16_g(32|64|128)", re.IGNORECASE), "Q4_K_M"),
    (re.compile(r"w8a8", re.IGNORECASE), "Q8_0"),
    (re.compile(r"w4a16", re.IGNORECASE), "Q4_0"),
)
_FAMILIES = (
    ("qwen", "qwen2"),
    ("mistral", "mistral"),
    ("deepseek", "deepseek"),
    ("phi", "phi"),
    ("gemma", "gemma"),
    ("tinyllama", "tinyllama"),
    ("llama2", "llama2"),
    ("llama3", "llama3"),
)
TOOL_FAMILIES = frozenset({"qwen2", "phi", "llama3", "mistral"})
_DUMMY_SIZE = 4096


@dataclass(frozen=True)
class SeedModel:
    """One model directory of the seed's model table."""

    name: str
    huggingface_path: str
    file_name: str
    enable_thinking: bool = False


SEED_MODELS: tuple[SeedModel, ...] = (
    SeedModel(
        "DeepSeek-R1-1.5B",
        "Qwen/Qwen2.5-1.5B-Instruct",
        "DeepSeek-R1-1.5B-rk3588-w8a8.rkllm",
        enable_thinking=True,
    ),
    SeedModel(
        "Qwen2.5-1.5B-Instruct",
        "Qwen/Qwen2.5-1.5B-Instruct",
        "Qwen2.5-1.5B-Instruct-rk3588-w8a8.rkllm",
    ),
    SeedModel("Qwen2.5-1.5B", "Qwen/Qwen2.5-1.5B-Instruct", "Qwen2.5-1.5B-rk3588-w8a8.rkllm"),
    SeedModel("Qwen2.5-3B", "Qwen/Qwen2.5-3B-Instruct", "Qwen2.5-3B-rk3588-w8a8.rkllm"),
    SeedModel(
        "Phi-3-mini", "microsoft/Phi-3-mini-4k-instruct", "Phi-3-mini-3.8B-rk3588-w8a8.rkllm"
    ),
    # Qwen3 as rkllama users convert it: thinking on in the Modelfile (the model's own default),
    # so only a request's `think: false` turns it off.
    *(
        SeedModel(
            f"Qwen3-{size}",
            f"Qwen/Qwen3-{size}",
            f"Qwen3-{size}-rk3588-w8a8.rkllm",
            enable_thinking=True,
        )
        for size in ("0.6B", "1.7B", "4B")
    ),
)


def seed_modelfile_text(seed: SeedModel) -> str:
    """Return the Modelfile written for a seed model."""
    lines = [
        f'FROM="{seed.file_name}"',
        f'HUGGINGFACE_PATH="{seed.huggingface_path}"',
        'SYSTEM=""',
        "TEMPERATURE=0.5",
        "NUM_CTX=4096",
        "MAX_NEW_TOKENS=1024",
    ]
    if seed.enable_thinking:
        lines.append("ENABLE_THINKING=True")
    return "\n".join(lines) + "\n"


def create_seed_models(models_dir: Path) -> list[str]:
    """Write the seed's five model directories (dummy .rkllm + Modelfile); return their names."""
    models_dir.mkdir(parents=True, exist_ok=True)
    for seed in SEED_MODELS:
        model_dir = models_dir / seed.name
        model_dir.mkdir(exist_ok=True)
        header = f"RKLLM-EMULATOR dummy weights for {seed.name}\n".encode()
        (model_dir / seed.file_name).write_bytes(header.ljust(_DUMMY_SIZE, b"\0"))
        (model_dir / "Modelfile").write_text(seed_modelfile_text(seed), encoding="utf-8")
    return [seed.name for seed in SEED_MODELS]


def parameter_size(file_name: str) -> str:
    """Return the first `<n>B` of a model file name, or "Unknown"."""
    match = _PARAM_RE.search(file_name)
    return f"{match.group(1)}B" if match else "Unknown"


def quantization_level(file_name: str) -> str:
    """Map the w8a8/w4a16 marker of a file name to an Ollama-like level."""
    for pattern, level in _QUANT_RULES:
        if pattern.search(file_name):
            return level
    return "Unknown"


def family_of(name: str) -> str:
    """Guess the family from a model name as /api/show does."""
    lowered = name.lower()
    for marker, family in _FAMILIES:
        if marker in lowered:
            return family
    return "llama"


def local_timestamp(epoch: float, *, iso: bool = True) -> str:
    """Format an epoch as local time: ISO with a literal Z, or the /api/ps style."""
    moment = datetime.fromtimestamp(epoch, tz=UTC).astimezone()
    if iso:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


@dataclass(frozen=True)
class ModelInfo:
    """Facts about one model directory."""

    name: str
    path: Path
    model_files: tuple[Path, ...]

    @property
    def main_file(self) -> Path | None:
        """Return the first model file (what /api/tags describes)."""
        return self.model_files[0] if self.model_files else None

    @property
    def first_size(self) -> int:
        """Return the size of the first model file."""
        main = self.main_file
        return main.stat().st_size if main else 0

    @property
    def total_size(self) -> int:
        """Return the summed size of all model files."""
        return sum(path.stat().st_size for path in self.model_files)

    @property
    def modified_at(self) -> str:
        """Return the first model file's mtime as rkllama formats it."""
        main = self.main_file
        return local_timestamp(main.stat().st_mtime if main else 0.0)

    @property
    def parameter_size(self) -> str:
        """Return the parameter size read from the file name."""
        main = self.main_file
        return parameter_size(main.name) if main else "Unknown"

    @property
    def quantization_level(self) -> str:
        """Return the quantisation read from the file name."""
        main = self.main_file
        return quantization_level(main.name) if main else "Unknown"

    @property
    def modelfile_path(self) -> Path:
        """Return where the Modelfile lives."""
        return self.path / "Modelfile"

    def modelfile(self) -> Modelfile | None:
        """Read the Modelfile, or None if missing."""
        path = self.modelfile_path
        return read_modelfile(path) if path.is_file() else None

    @property
    def tokenizer_dir(self) -> Path:
        """Return the optional local tokenizer directory."""
        return self.path / "tokenizer"


class ModelStore:
    """The models directory."""

    def __init__(self, root: Path) -> None:
        """Use `root` as the models directory."""
        self.root = root

    @staticmethod
    def strip_namespace(name: str) -> str:
        """Drop a `namespace/` prefix as upstream does."""
        return name.split("/", 1)[1] if "/" in name else name

    def move_loose_files(self) -> None:
        """Move a loose `X.rkllm` in the root into `X/`, as /models does."""
        for loose in self.root.glob("*.rkllm"):
            if loose.is_file():
                target = self.root / loose.stem
                target.mkdir(exist_ok=True)
                loose.rename(target / loose.name)

    def list_models(self) -> list[str]:
        """Return sorted directory names that hold a .rkllm or .gguf file."""
        if not self.root.is_dir():
            return []
        names = [
            entry.name
            for entry in self.root.iterdir()
            if entry.is_dir() and (any(entry.rglob("*.rkllm")) or any(entry.rglob("*.gguf")))
        ]
        return sorted(names)

    def info(self, name: str) -> ModelInfo | None:
        """Return facts about a model directory, or None if it does not exist."""
        path = self.root / name
        if not name or not path.is_dir():
            return None
        files = tuple(
            sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in MODEL_SUFFIXES)
        )
        return ModelInfo(name=name, path=path, model_files=files)
