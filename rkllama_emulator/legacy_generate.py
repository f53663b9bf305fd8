"""The fork's POST /generate: blank-line-separated rkllm_chat objects, no final chunk (spec 4.6)."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from . import brain
from .bodies import BodyError, json_strict
from .engine import GenerationStats
from .faults import Fault
from .messages import LEGACY_SYSTEM_PROMPT, clean_messages, legacy_messages, message_text
from .ollama_shapes import ERROR_200_TEXT, OVER_CONTEXT
from .options import DEFAULT_CONTEXT_TOKENS
from .records import RecordedRequest
from .routes_legacy import NO_MODEL, current_worker
from .state import STATE_KEY
from .stream_faults import StreamFaults
from .structured import instructed_schema, structured_reply
from .wire import LazyStream, html_error, json_body

if TYPE_CHECKING:
    from aiohttp import web

    from .residency import Worker
    from .state import EmulatorState

DEFAULT_MAX_NEW_TOKENS = 2048


def _chunk(piece: str, prompt_tokens: int, count: int, tps: float) -> bytes:
    """Return one streamed rkllm_chat object followed by a blank line."""
    data = {
        "id": "rkllm_chat",
        "object": "rkllm_chat",
        "created": None,
        "choices": [
            {"role": "assistant", "content": piece, "logprobs": None, "finish_reason": None}
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": count,
            "tokens_per_second": tps,
            "total_tokens": prompt_tokens + count,
        },
    }
    return (json.dumps(data) + "\n\n").encode()


async def _pieces(
    state: EmulatorState, worker: Worker, messages: list[dict[str, Any]]
) -> list[str]:
    """Plan the reply; DeepSeek reasoning becomes the fork's `</think> (N tokens)` marker.

    A first message (where the client folds its system text) asking for a JSON object in
    words gets one: the fork has no `format`.
    """
    answer = brain.answer(messages, [])
    if messages and (schema := instructed_schema(message_text(messages[0].get("content")))):
        answer = structured_reply(answer, schema)
    pieces = await state.renderer.pieces(worker.info, answer)
    if brain.thinks(worker.name, None):
        reasoning = brain.reply(worker.name, messages).split("</think>", 1)[0]
        hidden = len(await state.renderer.pieces(worker.info, reasoning))
        marker = f"</think> ({hidden} tokens)\n"
        first = pieces[0] if pieces else ""
        pieces = ["<think>", *[""] * max(0, hidden - 1), marker + first, *pieces[1:]]
    try:
        limit = int(worker.modelfile.options.get("max_new_tokens", DEFAULT_MAX_NEW_TOKENS))
    except ValueError:
        limit = DEFAULT_MAX_NEW_TOKENS
    return pieces[:limit] if limit > 0 else pieces


class LegacyRun:
    """One /generate request."""

    def __init__(self, state: EmulatorState, request: web.BaseRequest, worker: Worker) -> None:
        """Bind the request to the loaded model."""
        self.state = state
        self.request = request
        self.worker = worker
        self.loop = asyncio.get_running_loop()
        self.stats = GenerationStats()
        self.refused = False
        """The runtime refused the prompt (over its context): nothing is generated."""

    async def _prefill(self) -> None:
        """Spend the prefill time (plus a slow-first-token delay); none for a refused prompt."""
        if self.refused:
            return
        slow = self.state.faults.consume(Fault.SLOW_FIRST_TOKEN)
        seconds = self.state.engine.prefill_seconds(
            self.worker.name, self.stats.prompt_tokens, "", 0
        )
        await self.state.engine.prefill(seconds + (slow.delay if slow else 0.0), self.stats)

    async def body(self, pieces: list[str], record: RecordedRequest) -> web.StreamResponse:
        """Non-stream: serialised by the global lock."""
        started = self.loop.time()
        async with self.state.legacy_lock:
            record.queue_wait_seconds = self.loop.time() - started
            self.state.engine.begin(self.worker)
            try:
                await self._prefill()
                begin = self.loop.time()
                received = [
                    p async for p in self.state.engine.decode(self.worker, pieces, self.stats) if p
                ]
            finally:
                self.state.engine.end(self.worker)
        content = "".join(received)
        elapsed = max(self.loop.time() - begin, 1e-9)
        record.reply, record.completion_tokens, record.done = content, self.stats.eval_count, True
        prompt, count = self.stats.prompt_tokens, self.stats.eval_count
        body = {
            "choices": [
                {"content": content, "finish_reason": "stop", "logprobs": None, "role": "assistant"}
            ],
            "created": None,
            "id": "rkllm_chat",
            "object": "rkllm_chat",
            "usage": {
                "completion_tokens": count,
                "prompt_tokens": prompt,
                "tokens_per_second": round(count / elapsed, 2),
                "total_tokens": prompt + count,
            },
        }
        return self._body_with_faults(body)

    def _body_with_faults(self, body: dict[str, Any]) -> web.StreamResponse:
        """Apply the body faults to a non-stream answer."""
        faults = self.state.faults
        if faults.consume(Fault.DROP_MID_STREAM) is not None:
            transport = self.request.transport
            if transport is not None:
                transport.close()
        if faults.consume(Fault.MALFORMED_JSON) is not None:
            text = json_body(body).text or ""
            return json_body_raw(text[: len(text) // 2])
        if faults.consume(Fault.HUGE_LINE) is not None:
            body["choices"][0]["content"] = "A" * self.state.config.huge_line_bytes
        return json_body(body)

    async def _send(self, out: LazyStream, data: bytes, sent: int, faults: StreamFaults) -> bool:
        """Send one chunk with the delivery faults; return False when the stream must end."""
        if sent == 1 and faults.huge_bytes:
            marker = b'"content": "'
            await out.send(data[: data.find(marker) + len(marker)] + b"A" * faults.huge_bytes)
            return False
        if sent == 1 and faults.malformed:
            data = data[: len(data) // 2] + b"\n\n"
        await out.send(data)
        if faults.drop_after is not None and sent >= faults.drop_after and not out.broken:
            await out.drop()
            return False
        return True

    def _stream_faults(self) -> StreamFaults:
        """Consume the delivery faults of this stream."""
        faults, config = self.state.faults, self.state.config
        drop = faults.consume(Fault.DROP_MID_STREAM) is not None
        malformed = faults.consume(Fault.MALFORMED_JSON) is not None
        huge = faults.consume(Fault.HUGE_LINE) is not None
        return StreamFaults(
            drop_after=config.drop_after_pieces if drop else None,
            malformed=malformed,
            huge_bytes=config.huge_line_bytes if huge else None,
        )

    async def stream(self, pieces: list[str], record: RecordedRequest) -> web.StreamResponse:
        """Stream: the lock is released before generating, so concurrent streams mix."""
        state = self.state
        started = self.loop.time()
        async with state.legacy_lock:
            record.queue_wait_seconds = self.loop.time() - started
        faults = self._stream_faults()
        out = LazyStream(self.request, "text/plain", charset="utf-8")
        if state.legacy_streams == 0:
            state.legacy_shared.clear()
        state.legacy_streams += 1
        state.engine.begin(self.worker)
        cursor, sent, tps, received, going = len(state.legacy_shared), 0, 0.0, [], True
        try:
            await self._prefill()
            begin = self.loop.time()
            async for piece in state.engine.decode(self.worker, pieces, self.stats):
                if not piece:
                    continue
                received.append(piece)
                state.legacy_shared.append(piece)
                fresh, cursor = state.legacy_shared[cursor:], len(state.legacy_shared)
                for text in fresh:
                    sent += 1
                    chunk = _chunk(text, self.stats.prompt_tokens, sent, tps)
                    going = going and await self._send(out, chunk, sent, faults)
                tps = round(sent / max(self.loop.time() - begin, 1e-9), 2)
        finally:
            state.engine.end(self.worker)
            state.legacy_streams -= 1
            record.reply, record.completion_tokens = "".join(received), self.stats.eval_count
            record.done = True
        if faults.drop_after is not None and out.broken:
            return out.response
        if out.broken:
            state.disconnects += 1
        return await out.finish()


def json_body_raw(text: str) -> web.Response:
    """Return raw (possibly invalid) JSON text."""
    response = json_body({})
    response.text = text
    return response


async def generate(request: web.Request) -> web.StreamResponse:
    """POST /generate on the fork (and the single-model era)."""
    state = request.app[STATE_KEY]
    worker = current_worker(state)
    if worker is None:
        return json_body({"error": NO_MODEL}, 400)
    try:
        body = await json_strict(request)
    except BodyError as error:
        return error.response
    if not isinstance(body, dict) or "messages" not in body:
        return json_body({"status": "error", "message": "Données JSON invalides !"}, 400)
    if not isinstance(body["messages"], list):
        return html_error(500)
    messages = clean_messages(body["messages"])
    stream = body.get("stream") not in {None, False}
    record = RecordedRequest(route="/generate", model=worker.name, messages=messages, stream=stream)
    state.requests.append(record)
    tokenizer = await state.renderer.tokenizer_for(worker.info)
    with_system = tokenizer is None or tokenizer.supports_system
    if legacy_messages(messages, with_system=with_system) is None:
        record.status = 500
        return html_error(500)
    faults = state.faults
    if faults.consume(Fault.HTTP_500) is not None:
        return html_error(500)
    if faults.consume(Fault.ERROR_200) is not None:
        return json_body({"error": ERROR_200_TEXT})
    if faults.consume(Fault.HANG) is not None:
        await faults.wait_hang_release()
    system = LEGACY_SYSTEM_PROMPT if with_system else None
    rendered = await state.renderer.render(worker.info, system, messages, None, None)
    record.prompt, record.prompt_tokens = rendered.text, rendered.tokens + 1
    run = LegacyRun(state, request, worker)
    run.stats.prompt_tokens = rendered.tokens + 1
    limit = state.config.context_window or DEFAULT_CONTEXT_TOKENS
    run.refused = run.stats.prompt_tokens > limit
    if run.refused:
        # The runtime's fixed 4096-token context: it generates nothing, and the fork answers
        # an empty reply (stream: no chunk at all).
        record.refusal = OVER_CONTEXT.format(tokens=run.stats.prompt_tokens, limit=limit)
    pieces = [] if run.refused else await _pieces(state, worker, messages)
    if stream:
        response = await run.stream(pieces, record)
    else:
        response = await run.body(pieces, record)
    record.status = response.status
    return response
