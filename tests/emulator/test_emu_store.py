"""Seed models, Modelfile parsing and file-name facts (spec 5.1, 5.4)."""

from __future__ import annotations

from pathlib import Path

from emu_helpers import QWEN, chat, user

from rkllama_emulator import SEED_MODELS, create_seed_models
from rkllama_emulator.modelfile import parse_modelfile_text
from rkllama_emulator.models import family_of, parameter_size, quantization_level


def test_seed_models_created(tmp_path: Path) -> None:
    names = create_seed_models(tmp_path / "m")
    assert names == [
        "DeepSeek-R1-1.5B",
        "Qwen2.5-1.5B-Instruct",
        "Qwen2.5-1.5B",
        "Qwen2.5-3B",
        "Phi-3-mini",
        "Qwen3-0.6B",
        "Qwen3-1.7B",
        "Qwen3-4B",
    ]
    paths = {seed.name: seed.huggingface_path for seed in SEED_MODELS}
    assert paths["Phi-3-mini"] == "microsoft/Phi-3-mini-4k-instruct"
    assert paths["Qwen2.5-3B"] == "Qwen/Qwen2.5-3B-Instruct"
    assert paths["DeepSeek-R1-1.5B"] == "Qwen/Qwen2.5-1.5B-Instruct"
    qwen = tmp_path / "m" / "Qwen2.5-1.5B-Instruct"
    assert (qwen / "Qwen2.5-1.5B-Instruct-rk3588-w8a8.rkllm").is_file()
    modelfile = parse_modelfile_text((qwen / "Modelfile").read_text())
    assert modelfile.from_file == "Qwen2.5-1.5B-Instruct-rk3588-w8a8.rkllm"
    assert modelfile.huggingface_path == "Qwen/Qwen2.5-1.5B-Instruct"
    assert modelfile.options == {
        "system": '""',
        "temperature": "0.5",
        "num_ctx": "4096",
        "max_new_tokens": "1024",
    }
    deepseek = (tmp_path / "m" / "DeepSeek-R1-1.5B" / "Modelfile").read_text()
    assert parse_modelfile_text(deepseek).enable_thinking


def test_modelfile_parsing_rules() -> None:
    text = "FROM='a.rkllm'\nHUGGINGFACE_PATH=org/repo # note\nTEMPERATURE=\"0.7\"\nTop_K=5\n"
    modelfile = parse_modelfile_text(text)
    assert modelfile.from_file == "a.rkllm"
    assert modelfile.huggingface_path == "org/repo"
    assert modelfile.options == {"temperature": '"0.7"', "top_k": "5"}
    assert modelfile.numeric_error() is not None


def test_file_name_facts() -> None:
    assert parameter_size("Qwen2.5-1.5B-Instruct-rk3588-w8a8.rkllm") == "1.5B"
    assert parameter_size("model.rkllm") == "Unknown"
    assert quantization_level("x-w8a8.rkllm") == "Q8_0"
    assert quantization_level("x-w8a8_g128.rkllm") == "Q8_K_M"
    assert quantization_level("x-w4a16.rkllm") == "Q4_0"
    assert quantization_level("x-w4a16_g64.rkllm") == "Q4_K_M"
    assert quantization_level("x.rkllm") == "Unknown"
    assert family_of("Qwen2.5-3B") == "qwen2"
    assert family_of("Phi-3-mini") == "phi"
    assert family_of("something") == "llama"


async def test_quoted_number_fails_the_load(emulator, http, models_dir: Path) -> None:
    modelfile = models_dir / QWEN / "Modelfile"
    modelfile.write_text(modelfile.read_text().replace("TEMPERATURE=0.5", 'TEMPERATURE="0.5"'))
    status, [body] = await chat(http, emulator.url, messages=[user("hi")])
    assert status == 500
    assert body["error"].startswith(f"Failed to load model '{QWEN}': could not convert")


async def test_missing_modelfile_and_loose_file(emulator, http, models_dir: Path) -> None:
    (models_dir / QWEN / "Modelfile").unlink()
    _, [body] = await chat(http, emulator.url, messages=[user("hi")])
    assert body["error"].endswith(f"Modelfile not found in '{QWEN}' directory.")
    (models_dir / "Loose-1B-w8a8.rkllm").write_bytes(b"x")
    async with http.get(f"{emulator.url}/models") as response:
        assert "Loose-1B-w8a8" in (await response.json())["models"]
    assert (models_dir / "Loose-1B-w8a8" / "Loose-1B-w8a8.rkllm").is_file()
