"""A local `<model>/tokenizer/` directory drives rendering, counting and pieces."""

from __future__ import annotations

from pathlib import Path

from emu_helpers import QWEN, chat, user

TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_tokenizer(target: Path) -> None:
    """Train a tiny byte-level BPE tokenizer and save it with a chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers  # noqa: PLC0415
    from transformers import PreTrainedTokenizerFast  # noqa: PLC0415

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(["hello world, you said hi there"] * 10, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|im_end|>")
    fast.chat_template = TEMPLATE
    fast.save_pretrained(str(target))


async def test_local_tokenizer_is_used(emulator, http, models_dir: Path) -> None:
    build_tokenizer(models_dir / QWEN / "tokenizer")
    _, lines = await chat(http, emulator.url, messages=[user("hello world")])
    record = emulator.requests[-1]
    assert record.prompt == ("<|im_start|>user\nhello world<|im_end|>\n<|im_start|>assistant\n")
    assert 5 <= record.prompt_tokens < len(record.prompt) // 2
    text = "".join(line["message"]["content"] for line in lines[:-1])
    assert text == "You said: hello world"
    assert lines[-1]["eval_count"] == len(lines) - 1
