"""Constants for the rkllm integration."""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Final

DOMAIN: Final = "rkllm"
LOGGER = logging.getLogger(__package__)

MANUFACTURER: Final = "Rockchip NPU (rkllama)"
DEFAULT_NAME: Final = "rkllama"
DEFAULT_CONVERSATION_NAME: Final = "rkllm conversation"
DEFAULT_AI_TASK_NAME: Final = "rkllm AI task"

CONF_TOKEN: Final = "token"  # noqa: S105 - a key name; optional bearer token for a reverse proxy in front of rkllama
CONF_BOARDS: Final = "boards"  # answers per model at once: boards behind a load balancer
DEFAULT_BOARDS: Final = 1
MAX_BOARDS: Final = 16
CONF_MAX_HISTORY: Final = "max_history"
DEFAULT_MAX_HISTORY: Final = 10  # user turns kept, besides the context-window budget
MIN_MAX_HISTORY: Final = 0
MAX_MAX_HISTORY: Final = 100
CONF_NUM_CTX: Final = "num_ctx"  # context window in tokens
MIN_NUM_CTX: Final = 512
MAX_NUM_CTX: Final = 131072
CONF_TEMPERATURE: Final = "temperature"
DEFAULT_TEMPERATURE: Final = 0.5
MIN_TEMPERATURE: Final = 0.0
MAX_TEMPERATURE: Final = 2.0
CONF_KEEP_LOADED: Final = "keep_loaded"
DEFAULT_KEEP_LOADED: Final = True
CONF_SHOW_THINKING: Final = "show_thinking"
DEFAULT_SHOW_THINKING: Final = False
CONF_TURN_TIMEOUT: Final = "turn_timeout"  # seconds one answer may take, tools included
CONF_PATIENCE: Final = "patience"  # times the expected time to the first word and between words
DEFAULT_PATIENCE: Final = 1.0
MIN_PATIENCE: Final = 1.0
MAX_PATIENCE: Final = 10.0
DEFAULT_TURN_TIMEOUT: Final = 180  # a 7B model on a busy RK3588: load + prefill + 512 tokens
MIN_TURN_TIMEOUT: Final = 1
MAX_TURN_TIMEOUT: Final = 1800
CONF_ENTITIES_IN_PROMPT: Final = "entities_in_prompt"
ENTITIES_RELEVANT: Final = "relevant"  # the entities each request can refer to, with it
ENTITIES_ALL: Final = "all"  # every exposed entity, in the system prompt
DEFAULT_ENTITIES_IN_PROMPT: Final = ENTITIES_RELEVANT
CONF_QUICK_CONFIRMATION: Final = "quick_confirmation"
DEFAULT_QUICK_CONFIRMATION: Final = True  # confirm successful device actions without the model
CONF_THINK: Final = "think"  # let hybrid-thinking models (Qwen3) reason first
DEFAULT_THINK: Final = False

SCAN_INTERVAL: Final = timedelta(seconds=30)
PROBE_TIMEOUT: Final = 10.0  # seconds, config-flow connection test
UNLOAD_DRAIN_LIMIT: Final = 5.0  # seconds an unload waits for abandoned answers to be read
SERVER_IDLE_UNLOAD: Final = timedelta(minutes=30)  # upstream unloads idle models after this
KEEP_LOADED_REFRESH: Final = timedelta(minutes=25)  # touch kept models before that happens
MAX_SWITCH_SKIPS: Final = 3  # waiters for another model passed over before a switch is forced

MAX_TOOL_ITERATIONS: Final = 10
ANSWER_TOKEN_RESERVE: Final = 512  # tokens kept free in the context window for the answer

ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
ATTR_MODEL: Final = "model"
