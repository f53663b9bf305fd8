"""Fault injection: which misbehaviour is active and how often."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import StrEnum


class Fault(StrEnum):
    """A misbehaviour the emulator can be told to show."""

    REFUSE = "refuse"
    SILENT_PORT = "silent_port"
    """The port accepts connections and never answers (a crashed server's worker holds it)."""
    HANG = "hang"
    DROP_MID_STREAM = "drop_mid_stream"
    HTTP_500 = "http_500"
    MALFORMED_JSON = "malformed_json"
    SLOW_FIRST_TOKEN = "slow_first_token"  # noqa: S105 - not a password
    LOAD_FAILURE = "load_failure"
    INVALID_MAGIC = "invalid_magic"
    HUGE_LINE = "huge_line"
    NOT_RKLLAMA = "not_rkllama"
    ERROR_200 = "error_200"
    STALL_AFTER_HEADERS = "stall_after_headers"
    STALL_MID_STREAM = "stall_mid_stream"
    KEEPALIVE_TRICKLE = "keepalive_trickle"
    BAD_JSON_LATER = "bad_json_later"
    DEEP_JSON = "deep_json"
    NON_UTF8 = "non_utf8"
    TASK_ERROR = "task_error"
    UNLOAD_KILLS = "unload_kills"
    PROXY_502 = "proxy_502"
    PROXY_504 = "proxy_504"
    POLL_HTTP_500 = "poll_http_500"
    POLL_HANG = "poll_hang"
    POLL_BAD_JSON = "poll_bad_json"
    UNLISTED_TOOL_CALL = "unlisted_tool_call"


SERVER_FAULTS = frozenset({Fault.REFUSE, Fault.SILENT_PORT, Fault.NOT_RKLLAMA})
LOAD_FAULTS = frozenset({Fault.LOAD_FAILURE, Fault.INVALID_MAGIC})
HELD_FAULTS = frozenset(
    {
        Fault.HANG,
        Fault.STALL_AFTER_HEADERS,
        Fault.STALL_MID_STREAM,
        Fault.KEEPALIVE_TRICKLE,
        Fault.POLL_HANG,
    }
)
"""Faults that hold a request until clear_faults() (or the emulator stops)."""


@dataclass
class FaultSetting:
    """One active fault: remaining uses (None = until cleared) and its delay."""

    times: int | None
    delay: float


class FaultBoard:
    """The set of active faults, consumed per affected request or model load."""

    def __init__(self) -> None:
        """Start with no faults."""
        self._active: dict[Fault, FaultSetting] = {}
        self._hang_release = asyncio.Event()

    def set(self, fault: Fault, times: int | None, delay: float) -> None:
        """Activate a fault."""
        self._active[fault] = FaultSetting(times=times, delay=delay)
        if fault in HELD_FAULTS and self._hang_release.is_set():
            self._hang_release = asyncio.Event()

    def clear(self) -> None:
        """Deactivate every fault and release hung requests."""
        self._active.clear()
        self._hang_release.set()

    def is_active(self, fault: Fault) -> bool:
        """Return True if the fault is active (without consuming it)."""
        return fault in self._active

    def active(self) -> list[Fault]:
        """Return the active faults."""
        return list(self._active)

    def consume(self, fault: Fault) -> FaultSetting | None:
        """Use one occurrence of a fault; return its setting if it was active."""
        setting = self._active.get(fault)
        if setting is None:
            return None
        if setting.times is not None:
            setting.times -= 1
            if setting.times <= 0:
                del self._active[fault]
        return setting

    async def wait_hang_release(self) -> None:
        """Wait until the held faults are cleared."""
        await self._hang_release.wait()

    @property
    def released(self) -> bool:
        """Return True once clear_faults() released held requests."""
        return self._hang_release.is_set()
