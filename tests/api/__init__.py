"""Tests of the HA-free rkllama client."""
