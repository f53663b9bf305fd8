"""The shared flow of /api/chat and /api/generate: load, render, queue, generate, deliver."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import brain, vision
from .engine import GenerationStats
from .faults import Fault
from .jsonformat import formatted_content
from .messages import tool_names_of
from .ollama_shapes import (
    ABORT_TEXT,
    ERROR_200_TEXT,
    OVER_CONTEXT,
    final_line,
    full_body,
    metrics,
    piece_line,
)
from .ollama_stream import CUT_DELAY, HoldBack, StreamDelivery
from .options import bad_integer_option, context_tokens, max_new_tokens, merge_options
from .residency import LoadError
from .stream_faults import TASK_ERROR_TEXT, consume_stream_faults
from .structured import structured_reply
from .toolcalls import extract_tool_calls
from .wire import LazyStream, html_error, json_body, stream_line

if TYPE_CHECKING:
    from .models import ModelInfo
    from .records import RecordedRequest
    from .residency import Worker
    from .state import EmulatorState


@dataclass
class OllamaJob:
    """One parsed /api/chat or /api/generate request."""

    chat: bool
    model: str
    system: str | None
    brain_messages: list[dict[str, Any]]
    prompt_messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None
    think: bool | None
    stream: bool
    fmt: Any
    options: dict[str, Any]
    loaded_by: str
    record: RecordedRequest


UNLISTED_TOOL_CALL = (
    '<tool_call>\n{"name": "fake__HassTurnOn", "arguments": {"name": "lamp"}}\n</tool_call>'
)


def load_error_response(model: str, error: LoadError) -> web.Response:
    """Return the 500 JSON that a failed on-demand load gives."""
    return json_body({"error": f"Failed to load model '{model}': {error.reason}"}, status=500)


class OllamaRun:
    """Runs one job against the emulator state."""

    def __init__(self, state: EmulatorState, request: web.BaseRequest, job: OllamaJob) -> None:
        """Bind the job to the state."""
        self.state = state
        self.request = request
        self.job = job
        self.loop = asyncio.get_running_loop()
        self.stats = GenerationStats()
        self.started = 0.0
        self._system: tuple[str, int] = ("", 0)

    def _total_ns(self) -> int:
        """Return the wall time since the queue entry, in ns (the vision encoder's left out)."""
        return int((self.loop.time() - self.started - self.job.record.encoder_seconds) * 1e9)

    async def _prepare(self) -> web.StreamResponse | tuple[ModelInfo, bool | None, list[str]]:
        """Load (multi-model), render and plan the reply; return a response on early failure."""
        state, job = self.state, self.job
        if state.config.multi_model:
            worker = state.residency.get(job.model)  # a dead worker is waited for in the queue
            try:
                if worker is None:
                    worker = await state.residency.ensure_loaded(job.model, job.loaded_by)
            except LoadError as error:
                return load_error_response(job.model, error)
            state.residency.touch(worker)
            info, modelfile = worker.info, worker.modelfile
        else:
            try:
                info, modelfile = state.residency.check_loadable(job.model)
            except LoadError as error:
                return load_error_response(job.model, error)
        seen = self._seen(info)
        if isinstance(seen, web.Response):
            return seen
        think = job.think if job.think is not None else modelfile.enable_thinking
        job.options = merge_options(modelfile.options, job.options)
        rendered = await state.renderer.render(
            info, job.system, job.prompt_messages, job.tools, think
        )
        record = job.record
        record.think, record.prompt, record.prompt_tokens = think, rendered.text, rendered.tokens
        self.stats.prompt_tokens = rendered.tokens + len(seen) * vision.image_tokens(modelfile)
        record.prompt_tokens = self.stats.prompt_tokens
        if seen:
            text = vision.describe(seen, job.fmt)
        else:
            text = brain.reply(job.model, job.brain_messages, tool_names_of(job.tools), think)
            text = structured_reply(text, job.fmt)
        if state.faults.consume(Fault.UNLISTED_TOOL_CALL) is not None:
            text = UNLISTED_TOOL_CALL  # a small model inventing a tool it was not offered
        if state.config.tool_call_chatter and text.endswith(brain.TOOL_CALL_CLOSE):
            text += state.config.tool_call_chatter
        pieces = await state.renderer.pieces(info, text)
        limit = max_new_tokens(job.options)
        if limit:
            pieces = pieces[:limit]
        self._system = (rendered.system_text, rendered.system_tokens) if job.chat else ("", 0)
        return info, think, pieces

    def _seen(self, info: ModelInfo) -> list[vision.Seen] | web.Response:
        """Read the request's images, or refuse them as upstream does (no encoder, bad image)."""
        images = vision.images_of(self.job.prompt_messages)
        if not images:
            return []
        if not any(path.suffix == vision.ENCODER_SUFFIX for path in info.model_files):
            return json_body(
                {"error": f"No encoder model (.rknn) found for : {self.job.model}"}, status=500
            )
        try:
            seen = [vision.look(image) for image in images]
        except ValueError as error:
            return json_body({"error": str(error)}, status=500)
        self.job.record.images = len(seen)
        return seen

    async def _encode_images(self) -> None:
        """Spend the vision encoder's time on the request's images (before the prefill)."""
        seconds = self.job.record.images * self.state.config.timing.encoder_seconds_per_image
        self.job.record.encoder_seconds = seconds
        if seconds > 0:
            await asyncio.sleep(seconds)

    async def run(self) -> web.StreamResponse:
        """Answer the request."""
        faults = self.state.faults
        if faults.consume(Fault.HTTP_500) is not None:
            return html_error(500)
        if faults.consume(Fault.ERROR_200) is not None:
            return json_body({"error": ERROR_200_TEXT})
        if faults.consume(Fault.HANG) is not None:
            await faults.wait_hang_release()
        prepared = await self._prepare()
        if isinstance(prepared, web.StreamResponse):
            self.job.record.status = prepared.status
            return prepared
        _info, think, pieces = prepared
        await self._request_overhead()
        slow = faults.consume(Fault.SLOW_FIRST_TOKEN)
        self.started = self.loop.time()
        worker: Worker | None = None
        try:
            async with asyncio.timeout(self.state.config.token_timeout_seconds):
                worker = await self.state.engine.acquire(self.job.model, self.job.loaded_by)
                self.job.record.queue_wait_seconds = self.loop.time() - self.started
                self.job.record.started_at = time.time()
                if not self.state.config.multi_model:
                    self.state.residency.touch(worker)
                if bad_integer_option(self.job.options) or self._over_context(worker):
                    return await self._no_generation(worker)
                await self._encode_images()
                seconds = self.state.engine.prefill_seconds(
                    self.job.model, self.stats.prompt_tokens, *self._system
                )
                self.job.record.prefill_seconds = seconds
                await self.state.engine.prefill(seconds + (slow.delay if slow else 0.0), self.stats)
        except LoadError as error:
            return load_error_response(self.job.model, error)
        except TimeoutError:
            return await self._timed_out(worker)
        return await self._generate(worker, pieces, think=bool(think))

    def _over_context(self, worker: Worker) -> bool:
        """Return True when the prompt exceeds the context the model was loaded with."""
        window = self.state.config.context_window
        limit = window if window is not None else context_tokens(worker.modelfile.options)
        if self.stats.prompt_tokens <= limit:
            return False
        self.job.record.refusal = OVER_CONTEXT.format(tokens=self.stats.prompt_tokens, limit=limit)
        return True

    @property
    def _holds_back(self) -> bool:
        """Return True when a streamed answer is held back while tool calls are looked for."""
        config = self.state.config
        offered = bool(self.job.tools) or config.structured_tool_calls
        return offered and config.tool_holdback and self.job.chat

    async def _task_error(self) -> web.StreamResponse:
        """Answer a task a fresh worker failed: it sends `<RKLLM_TASK_ERROR>`, then closes.

        Upstream's handler takes that text for a piece and then fails reading the closed pipe:
        non-stream, a 500 with the empty text of the EOFError; a stream whose piece was held
        back (tools) fails before any byte (Werkzeug's 500 page); otherwise the piece is sent
        and the chunked stream is cut.
        """
        self.job.record.reply = TASK_ERROR_TEXT
        if not self.job.stream:
            return json_body({"error": ""}, status=500)
        if self._holds_back:
            return html_error(500)
        stream = LazyStream(self.request, "application/x-ndjson")
        await stream.send(stream_line(piece_line(self.job.model, self.job.chat, TASK_ERROR_TEXT)))
        await asyncio.sleep(CUT_DELAY)
        return await stream.drop()

    async def _request_overhead(self) -> None:
        """Spend upstream's per-request work before the queue (tokenizer, template, tokenize)."""
        seconds = self.state.config.timing.request_overhead_seconds
        self.job.record.overhead_seconds = seconds
        if seconds > 0:
            await asyncio.sleep(seconds)

    async def _no_generation(self, worker: Worker) -> web.StreamResponse:
        """Answer a task the runtime generated nothing for (bad integer option, prompt too long).

        No piece and no FINISH callback: the worker reports the metrics of the model's previous
        generation (an empty answer), or, on its first task, fails.
        """
        self.state.engine.release(worker)
        previous = worker.last_metrics
        if previous is None:
            return await self._task_error()
        figures = dict(previous)
        figures["total_duration"] = self._total_ns()
        self.job.record.done = True
        return await self._respond("", None, "stop", figures)

    async def _timed_out(self, worker: Worker | None) -> web.StreamResponse:
        """Handle the token timeout: abort the model's generation, kill the worker, answer 200."""
        state = self.state
        target = worker or state.residency.get(self.job.model)
        if target is not None:
            if target.busy:
                target.abort = True
            if worker is not None:
                state.engine.release(worker)
            if target.dead_until is None:
                state.residency.mark_dead(target)
        text = ABORT_TEXT.format(seconds=f"{state.config.token_timeout_seconds:g}")
        self.stats.aborted = True
        figures = metrics(None, self._total_ns())
        if self.job.stream:
            text = ""
        self.job.record.reply = text
        return await self._respond(text, None, "stop", figures)

    async def _respond(
        self, content: str, calls: list[dict[str, Any]] | None, reason: str, figures: dict[str, int]
    ) -> web.StreamResponse:
        """Send a complete answer at once (non-stream body, or a stream with one final line)."""
        if not self.job.stream:
            return json_body(
                full_body(
                    self.job.model,
                    self.job.chat,
                    content,
                    calls=calls,
                    done_reason=reason,
                    figures=figures,
                )
            )
        stream = LazyStream(self.request, "application/x-ndjson")
        await stream.send(stream_line(final_line(self.job.model, self.job.chat, reason, figures)))
        return await stream.finish()

    async def _produce(
        self, worker: Worker, pieces: list[str], queue: asyncio.Queue[str | None]
    ) -> None:
        """Generate into a queue (the worker side); free the slot when done."""
        record = self.job.record
        try:
            async for piece in self.state.engine.decode(worker, pieces, self.stats):
                record.last_token_at = time.time()
                if record.first_token_at is None:
                    record.first_token_at = record.last_token_at
                queue.put_nowait(piece)
        finally:
            self.state.engine.release(worker)
            worker.last_metrics = metrics(self.stats, 0)
            queue.put_nowait(None)

    async def _generate(
        self, worker: Worker, pieces: list[str], *, think: bool
    ) -> web.StreamResponse:
        """Run the generation and deliver it."""
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        producer = self.state.spawn(self._produce(worker, pieces, queue))
        if self.job.stream:
            return await self._deliver_stream(worker, queue, producer, think=think)
        received: list[str] = []
        while (piece := await queue.get()) is not None:
            received.append(self._think_prefix(piece, think=think, first=not received))
        return await self._deliver_body("".join(received))

    @staticmethod
    def _think_prefix(piece: str, *, think: bool, first: bool) -> str:
        """Prepend <think> to the first piece when thinking is on and it lacks one."""
        if think and first and "<think>" not in piece:
            return "<think>" + piece
        return piece

    async def _deliver_body(self, content: str) -> web.StreamResponse:
        """Send the non-stream body, with tool-call conversion and delivery faults."""
        job, faults = self.job, self.state.faults
        offered = bool(job.tools) or self.state.config.structured_tool_calls
        calls = extract_tool_calls(content) if offered else []
        reason = "tool_calls" if calls and job.chat else "stop"
        shown = "" if calls and job.chat else formatted_content(content, job.fmt)
        self._finish_record(content)
        figures = metrics(self.stats, self._total_ns())
        body = full_body(
            job.model,
            job.chat,
            shown,
            calls=calls if job.chat else None,
            done_reason=reason,
            figures=figures,
        )
        if faults.consume(Fault.DROP_MID_STREAM) is not None:
            transport = self.request.transport
            if transport is not None:
                transport.close()
            return web.Response(status=200)
        if faults.consume(Fault.MALFORMED_JSON) is not None:
            raw = json_body(body).text or ""
            return web.Response(text=raw[: len(raw) // 2], content_type="application/json")
        huge = faults.consume(Fault.HUGE_LINE)
        job.record.first_sent_at = time.time()
        if huge is not None:
            body["message" if job.chat else "response"] = (
                {"role": "assistant", "content": "A" * self.state.config.huge_line_bytes}
                if job.chat
                else "A" * self.state.config.huge_line_bytes
            )
        return json_body(body)

    async def _deliver_stream(
        self,
        worker: Worker,
        queue: asyncio.Queue[str | None],
        producer: asyncio.Task[Any],
        *,
        think: bool,
    ) -> web.StreamResponse:
        """Stream the pieces as NDJSON, holding back when tools are offered."""
        config = self.state.config
        holdback = HoldBack(
            pieces=config.holdback_pieces if self._holds_back else 0,
            replay_seconds=config.holdback_replay_seconds,
        )
        delivery = StreamDelivery(
            self.request,
            self.job.model,
            self.job.chat,
            holdback,
            faults=consume_stream_faults(self.state.faults, config),
            board=self.state.faults,
        )
        received: list[str] = []
        while (piece := await queue.get()) is not None:
            piece = self._think_prefix(piece, think=think, first=not received)
            received.append(piece)
            await delivery.piece(piece)
        self._finish_record("".join(received))
        if worker.killed:
            # The worker process was killed under the running generation: no final line.
            worker.killed = False
            await delivery.cut()
            return delivery.out.response
        response, _reason = await delivery.end(lambda: metrics(self.stats, self._total_ns()))
        self.job.record.first_sent_at = delivery.first_sent_at
        if delivery.client_gone:
            self.state.disconnects += 1
            await producer
            self.state.residency.mark_dead(worker)
        return response

    def _finish_record(self, content: str) -> None:
        """Fill the record once the reply is known."""
        record = self.job.record
        record.reply = content
        record.completion_tokens = self.stats.eval_count
        record.done = True
