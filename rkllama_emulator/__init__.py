"""An rkllama server emulator (RK3588 timing, three API flavours, fault injection)."""

from .config import BOARD_TIMING, FAST_TIMING, EmulatorConfig, Flavour, Timing
from .faults import Fault
from .models import SEED_MODELS, create_seed_models
from .records import RecordedRequest
from .server import RkllamaEmulator
from .vision import VISION_SEED_MODELS, create_vision_models

__all__ = [
    "BOARD_TIMING",
    "FAST_TIMING",
    "SEED_MODELS",
    "VISION_SEED_MODELS",
    "EmulatorConfig",
    "Fault",
    "Flavour",
    "RecordedRequest",
    "RkllamaEmulator",
    "Timing",
    "create_seed_models",
    "create_vision_models",
]
