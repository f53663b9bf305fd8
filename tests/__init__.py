"""Tests of the rkllm integration, its client and the rkllama emulator."""
