"""Delivery faults of one streamed answer: stalls, keep-alive trickles and broken lines."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .faults import Fault

if TYPE_CHECKING:
    from .config import EmulatorConfig
    from .faults import FaultBoard
    from .wire import LazyStream

DEEP_JSON_DEPTH = 200_000  # beyond the JSON parser's recursion limit, under 1 MiB
TASK_ERROR_TEXT = "<RKLLM_TASK_ERROR>"
BAD_JSON_LINE = b'{"message": {"role": "assistant", "content": "x"}, "done": fal\n'


@dataclass(frozen=True)
class StreamFaults:
    """Delivery faults of one stream (consumed when the stream starts)."""

    drop_after: int | None = None
    malformed: bool = False
    huge_bytes: int | None = None
    stall_after_headers: bool = False
    stall_after: int | None = None
    """Pieces sent before the stream stalls until the faults are cleared."""
    trickle_seconds: float | None = None
    """Send a blank line this often, and nothing else, until the faults are cleared."""
    bad_json_later: bool = False
    deep_json: bool = False
    non_utf8: bool = False
    task_error_after: int | None = None
    """Pieces sent before the worker fails: `<RKLLM_TASK_ERROR>`, then the stream is cut."""

    def first_line(self, payload: bytes) -> bytes:
        """Return what goes out instead of the first line."""
        if self.deep_json:
            return b"[" * DEEP_JSON_DEPTH + b"]" * DEEP_JSON_DEPTH + b"\n"
        if self.non_utf8:
            marker = b'"content": "'
            at = payload.find(marker)
            if at < 0:
                marker = b'"response": "'
                at = payload.find(marker)
            cut = at + len(marker)
            return payload[:cut] + b"\xff\xfe\xfd" + payload[cut:]
        if self.malformed:
            return payload[: len(payload) // 2] + b"\n"
        return payload

    def later_line(self, index: int, payload: bytes) -> bytes:
        """Return what goes out instead of line `index` (0-based) after the first."""
        if self.bad_json_later and index == 1:
            return BAD_JSON_LINE
        return payload


def consume_stream_faults(board: FaultBoard, config: EmulatorConfig) -> StreamFaults:
    """Consume the delivery faults that apply to the stream about to start."""
    drop = board.consume(Fault.DROP_MID_STREAM)
    huge = board.consume(Fault.HUGE_LINE)
    trickle = board.consume(Fault.KEEPALIVE_TRICKLE)
    stall_mid = board.consume(Fault.STALL_MID_STREAM)
    task_error = board.consume(Fault.TASK_ERROR)
    return StreamFaults(
        drop_after=config.drop_after_pieces if drop else None,
        malformed=board.consume(Fault.MALFORMED_JSON) is not None,
        huge_bytes=config.huge_line_bytes if huge else None,
        stall_after_headers=board.consume(Fault.STALL_AFTER_HEADERS) is not None,
        stall_after=config.drop_after_pieces if stall_mid else None,
        trickle_seconds=(trickle.delay or 0.05) if trickle else None,
        bad_json_later=board.consume(Fault.BAD_JSON_LATER) is not None,
        deep_json=board.consume(Fault.DEEP_JSON) is not None,
        non_utf8=board.consume(Fault.NON_UTF8) is not None,
        task_error_after=config.drop_after_pieces if task_error else None,
    )


async def hold_before_first_line(faults: StreamFaults, out: LazyStream, board: FaultBoard) -> None:
    """Send the headers, then stall or trickle blank lines until the faults are cleared."""
    if faults.stall_after_headers:
        await out.start()
        await board.wait_hang_release()
    if faults.trickle_seconds is not None:
        await out.start()
        while not board.released and not out.broken:
            await out.send(b"\n")
            try:
                async with asyncio.timeout(faults.trickle_seconds):
                    await board.wait_hang_release()
            except TimeoutError:
                continue
