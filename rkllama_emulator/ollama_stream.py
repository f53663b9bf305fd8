"""NDJSON delivery of one Ollama-style answer, with the tools hold-back (spec 5.5, 5.6)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
import time
from typing import TYPE_CHECKING

from .ollama_shapes import final_line, piece_line, tool_call_line
from .stream_faults import TASK_ERROR_TEXT, StreamFaults, hold_before_first_line
from .toolcalls import extract_tool_calls
from .wire import LazyStream, stream_line

CUT_DELAY = 0.05  # seconds between a worker's last line and the cut, as on a real board

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from aiohttp import web

    from .faults import FaultBoard


@dataclass(frozen=True)
class HoldBack:
    """Hold-back settings; `pieces` = 0 disables it."""

    pieces: int
    replay_seconds: float


class StreamDelivery:
    """Writes piece lines, a tool-call chunk and the final line of one answer."""

    def __init__(
        self,
        request: web.BaseRequest,
        model: str,
        chat: bool,
        holdback: HoldBack,
        *,
        faults: StreamFaults,
        board: FaultBoard,
    ) -> None:
        """Nothing is sent until the first line."""
        self.out = LazyStream(request, "application/x-ndjson")
        self.model = model
        self.chat = chat
        self.holdback = holdback
        self.faults = faults
        self.board = board
        self.lines_sent = 0
        self.live = holdback.pieces <= 0
        self.held: list[str] = []
        self.thinking = False
        self.sent_pieces = 0
        self.dropped = False
        self.closed = False
        self.first_line = True
        self.first_sent_at: float | None = None
        """Wall-clock time the first piece or tool-call line was written."""

    @property
    def client_gone(self) -> bool:
        """Return True if the client went away (not counting our own drop)."""
        return self.out.broken and not self.dropped

    async def _line(self, data: dict[str, Any]) -> None:
        """Send one line, applying the malformed/huge first-line faults."""
        if self.closed or self.out.broken:
            return
        payload = stream_line(data)
        if self.first_line:
            self.first_line = False
            await hold_before_first_line(self.faults, self.out, self.board)
            if self.faults.huge_bytes:
                marker = b'"content": "' if self.chat else b'"response": "'
                head = payload[: payload.find(marker) + len(marker)]
                await self.out.send(head + b"A" * self.faults.huge_bytes)
                self.closed = True
                return
            payload = self.faults.first_line(payload)
        else:
            payload = self.faults.later_line(self.lines_sent, payload)
        self.lines_sent += 1
        await self.out.send(payload)
        if self.first_sent_at is None and not data.get("done"):
            self.first_sent_at = time.time()

    async def _piece(self, piece: str) -> None:
        """Send one piece line, then drop the connection if that fault says so."""
        await self._line(piece_line(self.model, self.chat, piece))
        self.sent_pieces += 1
        faults = self.faults
        if faults.stall_after is not None and self.sent_pieces == faults.stall_after:
            await self.board.wait_hang_release()
        if faults.task_error_after is not None and self.sent_pieces >= faults.task_error_after:
            await self._line(piece_line(self.model, self.chat, TASK_ERROR_TEXT))
            await self.cut()
            return
        drop_after = self.faults.drop_after
        if drop_after is not None and self.sent_pieces >= drop_after and not self.out.broken:
            self.dropped = True
            await self.out.drop()

    async def cut(self) -> None:
        """Cut the connection without a final line (the worker died)."""
        if not self.out.broken:
            await asyncio.sleep(CUT_DELAY)
            self.dropped = True
            await self.out.drop()

    def _passes_through(self, piece: str) -> bool:
        """Return True for reasoning pieces, which are not held back."""
        if "<think>" in piece:
            self.thinking = "</think>" not in piece.split("<think>", 1)[1]
            return True
        if self.thinking:
            if "</think>" in piece:
                self.thinking = False
            return True
        return False

    async def _replay(self) -> None:
        """Replay the held pieces at the artificial pace."""
        held, self.held = self.held, []
        for piece in held:
            if self.out.broken or self.closed:
                return
            await asyncio.sleep(self.holdback.replay_seconds)
            await self._piece(piece)

    async def piece(self, piece: str) -> None:
        """Deliver (or hold back) one generated piece."""
        if self.live or self._passes_through(piece):
            await self._piece(piece)
            return
        self.held.append(piece)
        if len(self.held) >= self.holdback.pieces and "<tool_call>" not in "".join(self.held):
            await self._replay()
            self.live = True

    async def end(self, figures: Callable[[], dict[str, int]]) -> tuple[web.StreamResponse, str]:
        """Flush held pieces (or one tool-call chunk), send the final line; return done_reason."""
        done_reason = "stop"
        if not self.live:
            calls = extract_tool_calls("".join(self.held))
            if calls:
                self.held = []
                done_reason = "tool_calls"
                await self._line(tool_call_line(self.model, calls))
            else:
                await self._replay()
        await self._line(final_line(self.model, self.chat, done_reason, figures()))
        if self.dropped:
            return self.out.response, done_reason
        return await self.out.finish(), done_reason
