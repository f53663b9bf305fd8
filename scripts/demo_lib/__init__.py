"""The embedded demo: a real Home Assistant with the rkllm integration against an rkllama server."""
