"""The seed's benchmark through conversation/process, figures from the integration's sensors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from demo_lib.hass import HassClient
from demo_lib.procs import DemoError

# The seed's benchmark method: five prompts, each answered in a new conversation.
PROMPTS: tuple[tuple[str, str], ...] = (
    ("Math", "What is 145 + 278?"),
    ("Explanation", "What is Python in one sentence?"),
    ("Code Generation", "Write a Python function to check if a number is prime."),
    ("Reasoning", "Is 17 a prime number? Explain."),
    ("Creative", "Write a haiku about AI."),
)


@dataclass(frozen=True)
class BenchRow:
    """One benchmark prompt as the integration's sensors measured it."""

    test: str
    tokens_per_second: float
    prompt_tokens: int
    completion_tokens: int
    response_time: float  # seconds
    time_to_first_token: float  # milliseconds
    answer: str

    @property
    def total_tokens(self) -> int:
        """Return prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


async def converse(client: HassClient, agent_id: str, text: str) -> str:
    """Send ``text`` to the agent in a new conversation; return its spoken answer."""
    result: dict[str, Any] = await client.request(
        "POST",
        "/api/conversation/process",
        json={"text": text, "agent_id": agent_id, "language": "en"},
    )
    response = result.get("response") or {}
    speech = str(((response.get("speech") or {}).get("plain") or {}).get("speech", ""))
    if response.get("response_type") == "error":
        raise DemoError(f"the agent answered {text!r} with an error: {speech}")
    return speech


def _number(state: dict[str, Any]) -> float:
    try:
        return float(state["state"])
    except (KeyError, TypeError, ValueError) as err:
        raise DemoError(f"{state.get('entity_id')} has no number: {state.get('state')!r}") from err


async def run_prompt(
    client: HassClient, agent_id: str, sensors: dict[str, str], test: str, text: str
) -> BenchRow:
    """Ask one benchmark prompt and read its figures from the sensors.

    The integration writes the sensors when the answer's last piece arrives, before
    conversation/process returns, so they hold this answer's figures at once. (Waiting for
    `last_reported` to move is not reliable: two answers with the same figures keep the same
    state object, and the REST API may show its earlier `last_reported`.)
    """
    answer = await converse(client, agent_id, text)
    states = {key: await client.state(entity_id) for key, entity_id in sensors.items()}
    return BenchRow(
        test=test,
        tokens_per_second=_number(states["tokens_per_second"]),
        prompt_tokens=round(_number(states["prompt_tokens"])),
        completion_tokens=round(_number(states["completion_tokens"])),
        response_time=_number(states["response_time"]),
        time_to_first_token=_number(states["time_to_first_token"]),
        answer=answer,
    )


def format_seconds(seconds: float) -> str:
    """Format a response time like the seed (``~3s``), keeping sub-second times readable."""
    return f"~{seconds:.0f}s" if seconds >= 1 else f"~{seconds:.2g}s"


def format_table(rows: list[BenchRow]) -> str:
    """Return the seed's Markdown table with an average row."""
    header = ("Test", "Tokens/sec", "Total Tokens", "Completion Tokens", "Response Time")
    body = [
        (
            row.test,
            f"{row.tokens_per_second:.2f}",
            str(row.total_tokens),
            str(row.completion_tokens),
            format_seconds(row.response_time),
        )
        for row in rows
    ]
    count = len(rows) or 1
    average = (
        "**AVERAGE**",
        f"**{sum(r.tokens_per_second for r in rows) / count:.2f}**",
        f"**{round(sum(r.total_tokens for r in rows) / count)}**",
        f"**{round(sum(r.completion_tokens for r in rows) / count)}**",
        f"**{format_seconds(sum(r.response_time for r in rows) / count)}**",
    )
    table = [header, *body, average]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |"
        for line in table
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)
