"""Timed turns through Home Assistant: the Assist pipeline over the websocket, and REST."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
import time
from typing import Any

from demo_lib.hass import HassClient, HassWebSocket
from demo_lib.procs import DemoError


@dataclass
class TimedRun:
    """One Assist pipeline run (text in, intent stage), with client-side wall-clock times."""

    text: str
    started: float = 0.0  # time.time() just before the run command is sent
    first_delta: float | None = None  # first chat_log_delta with text content
    last_delta: float | None = None
    deltas: int = 0
    content_after_tool: float | None = None  # first text delta after a tool result
    intent_end: float | None = None
    speech: str = ""
    conversation_id: str | None = None
    tool_calls: list[str] = field(default_factory=list)
    tool_results: int = 0

    @property
    def time_to_first_delta(self) -> float:
        """Return seconds from sending the text to the first streamed text."""
        if self.first_delta is None:
            raise DemoError(f"no streamed text for {self.text!r}")
        return self.first_delta - self.started

    @property
    def time_to_end(self) -> float:
        """Return seconds from sending the text to the end of the answer (intent-end)."""
        if self.intent_end is None:
            raise DemoError(f"no intent-end for {self.text!r}")
        return self.intent_end - self.started


async def run_pipeline(
    ws: HassWebSocket, pipeline_id: str, text: str, conversation_id: str | None = None
) -> TimedRun:
    """Run ``text`` through a pipeline's conversation agent and time what streams back."""
    run = TimedRun(text=text)
    events = ws.events(
        "assist_pipeline/run",
        start_stage="intent",
        end_stage="intent",
        input={"text": text},
        pipeline=pipeline_id,
        conversation_id=conversation_id,
    )
    run.started = time.time()
    async with contextlib.aclosing(events):
        async for event in events:
            now = time.time()
            kind, data = event.get("type"), event.get("data") or {}
            if kind == "error":
                raise DemoError(
                    f"the Assist pipeline failed on {text!r}: {data.get('code')}: "
                    f"{data.get('message')}"
                )
            if kind == "intent-progress":
                delta = data.get("chat_log_delta") or {}
                if delta.get("content"):
                    run.deltas += 1
                    run.last_delta = now
                    if run.first_delta is None:
                        run.first_delta = now
                    if run.tool_results and run.content_after_tool is None:
                        run.content_after_tool = now
                for call in delta.get("tool_calls") or []:
                    run.tool_calls.append(str(call.get("tool_name")))
                if "tool_result" in delta:
                    run.tool_results += 1
            elif kind == "intent-end":
                run.intent_end = now
                output = data.get("intent_output") or {}
                run.conversation_id = output.get("conversation_id")
                response = output.get("response") or {}
                speech = ((response.get("speech") or {}).get("plain") or {}).get("speech", "")
                run.speech = str(speech)
                if response.get("response_type") == "error":
                    raise DemoError(f"the agent answered {text!r} with an error: {speech}")
            elif kind == "run-end":
                break
    if run.intent_end is None:
        raise DemoError(f"the pipeline run for {text!r} ended without an answer")
    return run


@dataclass
class TimedTurn:
    """One conversation/process call over REST."""

    text: str
    started: float
    ended: float
    speech: str
    ok: bool

    @property
    def seconds(self) -> float:
        """Return the round trip time."""
        return self.ended - self.started


async def converse(
    client: HassClient, agent_id: str, text: str, conversation_id: str | None = None
) -> TimedTurn:
    """Send ``text`` to an agent with conversation/process; return the timed answer."""
    body: dict[str, Any] = {"text": text, "agent_id": agent_id, "language": "en"}
    if conversation_id:
        body["conversation_id"] = conversation_id
    started = time.time()
    result: dict[str, Any] = await client.request("POST", "/api/conversation/process", json=body)
    ended = time.time()
    response = result.get("response") or {}
    speech = str(((response.get("speech") or {}).get("plain") or {}).get("speech", ""))
    return TimedTurn(text, started, ended, speech, response.get("response_type") != "error")
