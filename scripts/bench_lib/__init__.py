"""scripts/bench: the first spoken word and more, rkllm vs Home Assistant's ollama integration."""
