"""Measure 8, load: many conversations at once on one board, and one very long conversation.

Concurrent: N conversations sent at the same moment to our agent. Each must be answered (the
right sum) or told "busy" within its bound; none lost (no answer and no busy), none answered
twice (the server saw each question once), and the server started them in arrival order.

Sequential: T turns in one conversation. Home Assistant's resident memory (RSS) and its open
file descriptors (sockets of leaked sessions would show here) before and after, after a warm-up.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
import time
from typing import Any

from bench_lib.server import Recorder
from bench_lib.timed import TimedTurn, converse
from demo_lib.hass import HassClient

BUSY_WORDS = ("busy",)
WARM_UP_TURNS = 20


@dataclass(frozen=True)
class LoadPlan:
    """How much load to put on one board."""

    concurrent: tuple[int, ...] = (10, 50)
    bound_seconds: float = 180.0
    """Each conversation's bound: the agent's default time limit."""
    sequential_turns: int = 1000


def open_fds(pid: int) -> int:
    """Return how many file descriptors a process holds (Linux)."""
    return len(list(Path(f"/proc/{pid}/fd").iterdir()))


def rss_bytes(pid: int) -> int:
    """Return the resident set size of a process in bytes (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _question(index: int) -> tuple[str, int]:
    a, b = 1000 + index, 7 * index + 3
    return f"What is {a} + {b}?", a + b


async def concurrent(
    client: HassClient, agent_id: str, records: Recorder, count: int, bound: float
) -> dict[str, Any]:
    """Send `count` conversations at once; count answered, busy, lost and duplicated."""
    questions = [_question(i) for i in range(count)]
    mark = await records.mark()

    async def one(text: str) -> TimedTurn | None:
        try:
            async with asyncio.timeout(bound + 30):
                return await converse(client, agent_id, text)
        except TimeoutError:
            return None

    turns = await asyncio.gather(*(one(text) for text, _ in questions))
    snap = await records.settled(mark, timeout=60)
    answered = busy = lost = late = 0
    for turn, (_text, total) in zip(turns, questions, strict=True):
        if turn is None:
            lost += 1
            continue
        late += turn.seconds > bound
        if turn.ok and str(total) in turn.speech:
            answered += 1
        elif any(word in turn.speech.lower() for word in BUSY_WORDS):
            busy += 1
        else:
            lost += 1
    chats = [r for r in snap.requests if r.route == "/api/chat"]
    asked = Counter(_last_question(r.messages) for r in chats)
    by_arrival = [r.index for r in sorted(chats, key=lambda r: r.arrived_at)]
    by_start = [r.index for r in sorted(chats, key=lambda r: r.started_at or 0.0)]
    finished = [t for t in turns if t is not None]
    return {
        "conversations": count,
        "answered": answered,
        "busy": busy,
        "lost": lost,
        "over_bound": late,
        "duplicated": sum(n - 1 for n in asked.values() if n > 1),
        "fifo": by_arrival == by_start,
        "server_requests": len(chats),
        "slowest_seconds": round(max((t.seconds for t in finished), default=0.0), 2),
    }


def _last_question(messages: list[dict[str, Any]]) -> str:
    """Return the first line of the last user message (the question, without per-turn notes)."""
    for message in reversed(messages):
        if message.get("role") == "user":
            return str(message.get("content") or "").split("\n", 1)[0]
    return ""


async def sequential(client: HassClient, agent_id: str, pid: int, turns: int) -> dict[str, Any]:
    """Run `turns` turns in one conversation; compare RSS and open files before and after."""
    body = {"text": "My name is Ada", "agent_id": agent_id, "language": "en"}
    first: dict[str, Any] = await client.request("POST", "/api/conversation/process", json=body)
    conversation_id = str(first.get("conversation_id") or "") or None
    wrong = 0
    for index in range(WARM_UP_TURNS):
        await converse(client, agent_id, _question(index)[0], conversation_id)
    rss_before, fds_before = rss_bytes(pid), open_fds(pid)
    started = time.monotonic()
    for index in range(turns):
        text, total = _question(index)
        turn = await converse(client, agent_id, text, conversation_id)
        wrong += not (turn.ok and str(total) in turn.speech)
    seconds = time.monotonic() - started
    await asyncio.sleep(1.0)  # let background drains and refreshes settle
    rss_after, fds_after = rss_bytes(pid), open_fds(pid)
    return {
        "turns": turns,
        "not_answered": wrong,
        "rss_before_mib": round(rss_before / 2**20, 1),
        "rss_after_mib": round(rss_after / 2**20, 1),
        "rss_growth_mib": round((rss_after - rss_before) / 2**20, 2),
        "open_files_before": fds_before,
        "open_files_after": fds_after,
        "seconds_per_turn": round(seconds / max(turns, 1), 3),
    }


async def run(
    client: HassClient, agent_id: str, records: Recorder, pid: int, plan: LoadPlan
) -> dict[str, Any]:
    """Run every load measure on one agent; return plain data for the report."""
    result: dict[str, Any] = {
        f"concurrent_{count}": await concurrent(
            client, agent_id, records, count, plan.bound_seconds
        )
        for count in plan.concurrent
    }
    result["sequential"] = await sequential(client, agent_id, pid, plan.sequential_turns)
    return result


def summary(result: dict[str, Any]) -> list[str]:
    """Return one line per load measure, for the progress output and the report."""
    lines = [
        f"{data['conversations']} at once: {data['answered']} answered, {data['busy']} busy, "
        f"{data['lost']} lost, {data['duplicated']} duplicated, FIFO {data['fifo']}, "
        f"slowest {data['slowest_seconds']} s"
        for key, data in result.items()
        if key.startswith("concurrent_")
    ]
    seq = result.get("sequential")
    if seq:
        lines.append(
            f"{seq['turns']} turns in one conversation: RSS {seq['rss_before_mib']} → "
            f"{seq['rss_after_mib']} MiB ({seq['rss_growth_mib']:+} MiB), open files "
            f"{seq['open_files_before']} → {seq['open_files_after']}, "
            f"{seq['not_answered']} not answered, {seq['seconds_per_turn']} s per turn"
        )
    return lines
