"""The rkllama client must work without Home Assistant installed."""

from __future__ import annotations

from pathlib import Path
import subprocess
import sys

ROOT = Path(__file__).parents[2]

_BLOCK_HOMEASSISTANT = """
import importlib.abc, sys

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "homeassistant" or name.startswith("homeassistant."):
            raise ImportError(f"blocked import of {name}")
        return None

sys.meta_path.insert(0, Block())
# Load the sub-package without running custom_components/rkllm/__init__.py (which is HA glue).
import importlib.util, pathlib
pkg = pathlib.Path("custom_components/rkllm/api")
spec = importlib.util.spec_from_file_location(
    "rkllm_api", pkg / "__init__.py", submodule_search_locations=[str(pkg)]
)
module = importlib.util.module_from_spec(spec)
sys.modules["rkllm_api"] = module
spec.loader.exec_module(module)
assert module.RkllamaClient.__name__ == "RkllamaClient"
assert not [m for m in sys.modules if m.split(".")[0] == "homeassistant"], "HA got imported"
print("ok")
"""


def test_client_imports_without_home_assistant() -> None:
    """Import the client in a fresh interpreter where any homeassistant import fails."""
    result = subprocess.run(
        [sys.executable, "-c", _BLOCK_HOMEASSISTANT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_client_sources_do_not_mention_home_assistant_imports() -> None:
    """No module of the client imports homeassistant or reaches outside its package."""
    for source in (ROOT / "custom_components/rkllm/api").glob("*.py"):
        text = source.read_text(encoding="utf-8")
        assert "import homeassistant" not in text, source
        assert "from homeassistant" not in text, source
        assert "from .." not in text, source
