"""One Assist pipeline run (text in, intent stage only), with the tool calls it made."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
import json
from typing import Any

from demo_lib.hass import HassWebSocket
from demo_lib.procs import DemoError


@dataclass
class PipelineRun:
    """What an Assist pipeline run showed: tool calls and their results, the answer."""

    tool_calls: list[str] = field(default_factory=list)
    tool_results: list[str] = field(default_factory=list)
    speech: str = ""


def _describe_call(call: dict[str, Any]) -> str:
    args = ", ".join(f"{k}={json.dumps(v)}" for k, v in (call.get("tool_args") or {}).items())
    return f"{call.get('tool_name')}({args})"


def _describe_result(delta: dict[str, Any]) -> str:
    result = delta.get("tool_result") or {}
    if isinstance(result, dict) and "response_type" in result:
        targets = [t.get("name") for t in (result.get("data") or {}).get("success") or []]
        return f"{result['response_type']} {targets}" if targets else str(result["response_type"])
    return json.dumps(result)[:200]


async def run_pipeline(ws: HassWebSocket, pipeline_id: str, text: str) -> PipelineRun:
    """Run ``text`` through the pipeline's conversation agent; return what happened."""
    run = PipelineRun()
    events = ws.events(
        "assist_pipeline/run",
        start_stage="intent",
        end_stage="intent",
        input={"text": text},
        pipeline=pipeline_id,
        conversation_id=None,
    )
    async with contextlib.aclosing(events):
        async for event in events:
            kind, data = event.get("type"), event.get("data") or {}
            if kind == "error":
                raise DemoError(
                    f"the Assist pipeline failed: {data.get('code')}: {data.get('message')}"
                )
            if kind == "intent-progress":
                delta = data.get("chat_log_delta") or {}
                run.tool_calls += [_describe_call(c) for c in delta.get("tool_calls") or []]
                if "tool_result" in delta:
                    run.tool_results.append(_describe_result(delta))
            elif kind == "intent-end":
                response = (data.get("intent_output") or {}).get("response") or {}
                speech = ((response.get("speech") or {}).get("plain") or {}).get("speech", "")
                run.speech = str(speech)
            elif kind == "run-end":
                break
    return run
