"""The rkllama client against the emulator over real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json

import aiohttp
from aiohttp import web
import pytest

from custom_components.rkllm.api import (
    ApiFlavour,
    ChatChunk,
    ChatMessage,
    ChatOptions,
    MessageRole,
    RkllamaBusyError,
    RkllamaClient,
    RkllamaConnectionError,
    RkllamaMalformedResponseError,
    RkllamaModelLoadError,
    RkllamaModelNotFoundError,
    RkllamaServerError,
    RkllamaTaskError,
    RkllamaTimeoutError,
    RkllamaUnsupportedError,
    Timeouts,
)
from rkllama_emulator import SEED_MODELS, Fault, Flavour, RkllamaEmulator, Timing

from .conftest import (
    MODEL,
    OTHER,
    RawServer,
    StartEmulator,
    ask,
    cancel_mid_answer,
    collect,
)

SEED_DIRS = {seed.name for seed in SEED_MODELS}
TURN_ON = {
    "type": "function",
    "function": {
        "name": "intent__HassTurnOn",
        "description": "Turns on a device",
        "parameters": {"type": "object", "properties": {"name": {"type": "string"}}},
    },
}


# -- detection -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flavour", "expected", "version"),
    [
        (Flavour.OLLAMA, ApiFlavour.OLLAMA, "0.0.74"),
        (Flavour.OLLAMA_SINGLE, ApiFlavour.OLLAMA_SINGLE, "0.5.1"),
        (Flavour.LEGACY, ApiFlavour.LEGACY, None),
    ],
)
async def test_detect_each_flavour(
    start_emulator: StartEmulator,
    flavour: Flavour,
    expected: ApiFlavour,
    version: str | None,
) -> None:
    """detect() tells the three API generations apart."""
    emu = await start_emulator(flavour=flavour)
    async with RkllamaClient(emu.url) as client:
        info = await client.detect()
        assert info.flavour is expected
        assert info.version == version
        assert "RKLLama" in info.message
        assert client.flavour is expected
        assert await client.health_check() is True
        assert set(await client.list_models()) == SEED_DIRS


async def test_detect_other_server(emulator: RkllamaEmulator, client: RkllamaClient) -> None:
    """Something that is not rkllama (e.g. Ollama) is recognised as such."""
    emulator.set_fault(Fault.NOT_RKLLAMA)
    with pytest.raises(RkllamaUnsupportedError, match="not an rkllama server"):
        await client.detect()
    assert await client.health_check() is False


async def test_detect_html_server(
    raw_server: RawServer,
) -> None:
    """A web server that answers 404 HTML on / is not rkllama."""
    url = await raw_server(web.Application())
    async with RkllamaClient(url) as client:
        with pytest.raises(RkllamaUnsupportedError):
            await client.detect()


async def test_refused_connection(emulator: RkllamaEmulator, client: RkllamaClient) -> None:
    """A server that refuses connections gives a connection error, not a hang."""
    emulator.set_fault(Fault.REFUSE)
    with pytest.raises(RkllamaConnectionError, match="cannot reach"):
        await client.detect()
    assert await client.health_check() is False
    emulator.clear_faults()
    assert (await client.detect()).flavour is ApiFlavour.OLLAMA


async def test_request_timeout(emulator: RkllamaEmulator) -> None:
    """A server that accepts but never answers runs into the request timeout."""
    emulator.set_fault(Fault.HANG)
    timeouts = Timeouts(request=0.3, first_chunk=0.3)
    async with RkllamaClient(emulator.url, flavour=ApiFlavour.OLLAMA, timeouts=timeouts) as client:
        # HANG affects generation routes; a hung chat must time out on its first chunk.
        with pytest.raises(RkllamaTimeoutError):
            await collect(client.chat(ask("hello"), model=MODEL))
        # The hung answer is still being drained; a bounded close gives up on it at once.
        async with asyncio.timeout(2):
            await client.close(drain_limit=0.2)
    emulator.clear_faults()


# -- models and residency -----------------------------------------------------------------


async def test_models_details(client: RkllamaClient) -> None:
    """/api/tags entries become ModelInfo with size, parameter size and quantisation."""
    models = {model.name: model for model in await client.models()}
    assert set(models) == SEED_DIRS
    qwen = models[MODEL]
    assert qwen.parameter_size == "1.5B"
    assert qwen.quantization == "Q8_0"
    assert qwen.size is not None
    assert qwen.size > 0


async def test_show(client: RkllamaClient) -> None:
    """/api/show gives the tokenizer repository and capabilities; a missing model raises."""
    details = await client.show(MODEL)
    assert details.huggingface_path == "Qwen/Qwen2.5-1.5B-Instruct"
    assert "tools" in details.capabilities
    assert details.context_length
    with pytest.raises(RkllamaModelNotFoundError):
        await client.show("No-Such-Model")


async def test_load_unload_multi_model(emulator: RkllamaEmulator, client: RkllamaClient) -> None:
    """Current upstream keeps several models; loading a resident one is a success."""
    assert await client.loaded_models() == []
    assert await client.load_model(MODEL) is True
    assert await client.load_model(OTHER) is True
    assert await client.load_model(MODEL) is True  # 200 {"error": "... Nothing to do."}
    assert {m.name for m in await client.loaded_models()} == {MODEL, OTHER}
    loaded = {m.name: m for m in await client.loaded_models()}
    assert loaded[MODEL].expires_at is not None
    assert loaded[MODEL].loaded_at is not None
    assert [name for name, _ in emulator.loads] == [MODEL, OTHER]
    assert await client.unload_model(MODEL) is True
    assert await client.unload_model(MODEL) is False
    assert [m.name for m in await client.loaded_models()] == [OTHER]


@pytest.mark.parametrize("flavour", [Flavour.LEGACY, Flavour.OLLAMA_SINGLE])
async def test_single_model_server_refuses_second_load(
    start_emulator: StartEmulator, flavour: Flavour
) -> None:
    """The fork answers 400 to /load_model while any model is loaded: RkllamaBusyError."""
    emu = await start_emulator(flavour=flavour)
    async with RkllamaClient(emu.url) as client:
        assert await client.load_model(MODEL) is True
        with pytest.raises(RkllamaBusyError):
            await client.load_model(OTHER)
        assert [m.name for m in await client.loaded_models()] == [MODEL]
        assert await client.unload_model() is True
        assert await client.loaded_models() == []
        assert await client.unload_model() is False
        assert await client.load_model(OTHER) is True


async def test_load_errors(emulator: RkllamaEmulator, client: RkllamaClient) -> None:
    """Missing models and runtime failures raise their own errors."""
    with pytest.raises(RkllamaModelNotFoundError):
        await client.load_model("No-Such-Model")
    emulator.set_fault(Fault.LOAD_FAILURE, times=1)
    with pytest.raises(RkllamaModelLoadError):
        await client.load_model(MODEL)
    emulator.set_fault(Fault.INVALID_MAGIC, times=1)
    with pytest.raises(RkllamaModelLoadError, match="magic"):
        await client.generate(ask("hi"), model=MODEL)
    assert await client.load_model(MODEL) is True


# -- generation ------------------------------------------------------------------------------


async def test_stream_ollama(emulator: RkllamaEmulator, client: RkllamaClient) -> None:
    """Streaming yields pieces, then one done chunk with stats in the documented units."""
    chunks = await collect(client.chat(ask("What is 145 + 278?"), model=MODEL))
    assert len(chunks) > 2
    assert all(not c.done for c in chunks[:-1])
    final = chunks[-1]
    assert final.done
    assert final.stats is not None
    assert "423" in "".join(c.content for c in chunks)
    stats = final.stats
    recorded = emulator.requests[-1]
    assert stats.prompt_tokens == recorded.prompt_tokens > 0
    assert stats.completion_tokens == recorded.completion_tokens > 0
    # Upstream's *_eval_duration are ms: converted, they must fit inside the wall time.
    assert stats.eval_seconds is not None
    assert 0 < stats.eval_seconds <= stats.wall_seconds
    assert stats.tokens_per_second is not None
    assert stats.tokens_per_second > 0
    assert 0 < stats.time_to_first_chunk <= stats.wall_seconds
    assert stats.done_reason == "stop"


async def test_stream_legacy_folds_system_and_synthesises_end(
    start_emulator: StartEmulator,
) -> None:
    """The fork: no system role, no final chunk; the client adapts both ways."""
    emu = await start_emulator(flavour=Flavour.LEGACY)
    messages = [
        ChatMessage(MessageRole.SYSTEM, "Answer briefly."),
        ChatMessage(MessageRole.USER, "My name is Ada."),
        ChatMessage(MessageRole.USER, "What is 145 + 278?"),
    ]
    async with RkllamaClient(emu.url) as client:
        await client.load_model(MODEL)
        chunks = await collect(client.chat(messages, model=MODEL))
        assert "423" in "".join(c.content for c in chunks)
        final = chunks[-1]
        assert final.done
        assert final.stats is not None
        assert final.stats.prompt_tokens > 0
        assert final.stats.completion_tokens > 0
        assert final.stats.tokens_per_second is not None
        sent = emu.requests[-1].messages
        assert [m["role"] for m in sent] == ["user"]
        assert "Answer briefly." in str(sent[0]["content"])
        assert await client.generate_from_prompt("What is 2 + 3?") == await client.generate(
            [{"role": "user", "content": "What is 2 + 3?"}], stream=True
        )


async def test_legacy_streams_are_serialised(
    start_emulator: StartEmulator,
) -> None:
    """Concurrent streams to the fork would mix; the client runs them one at a time."""
    emu = await start_emulator(
        flavour=Flavour.LEGACY,
        timing=Timing(
            load_seconds=0.0, prefill_tokens_per_second=1e6, decode_tokens_per_second=400
        ),
    )
    async with RkllamaClient(emu.url) as client:
        await client.load_model(MODEL)
        answers = await asyncio.gather(
            client.generate_from_prompt("What is 1 + 1?"),
            client.generate_from_prompt("What is 20 + 22?"),
        )
    assert "2" in answers[0]
    assert "42" in answers[1]
    assert emu.max_concurrent_inferences == 1


async def test_generate_seed_surface(client: RkllamaClient) -> None:
    """generate()/generate_from_prompt() return the answer text (seed client surface)."""
    await client.load_model(MODEL)
    text = await client.generate([{"role": "user", "content": "What is 145 + 278?"}])
    assert "423" in text
    assert "423" in await client.generate_from_prompt("What is 145 + 278?", model=MODEL)


async def test_structured_tool_calls(client: RkllamaClient) -> None:
    """With `tools` the server converts <tool_call> text to tool_calls."""
    chunks = await collect(
        client.chat(ask("Turn on the kitchen light"), model=MODEL, tools=[TURN_ON])
    )
    assert "".join(chunk.content for chunk in chunks) == ""
    calls = [call for chunk in chunks for call in chunk.tool_calls]
    assert len(calls) == 1
    assert calls[0].name == "intent__HassTurnOn"
    assert calls[0].arguments == {"name": "kitchen light"}
    assert chunks[-1].stats is not None
    assert chunks[-1].stats.done_reason == "tool_calls"


async def test_options_are_sent_as_integers(
    emulator: RkllamaEmulator, client: RkllamaClient
) -> None:
    """top_k / num_predict / num_ctx go out as JSON integers (floats break upstream)."""
    options = ChatOptions(temperature=0.2, top_k=40, num_predict=64, num_ctx=4096)
    await collect(client.chat(ask("hi"), model=MODEL, options=options))
    sent = emulator.requests[-1].options
    assert sent == {"temperature": 0.2, "top_k": 40, "num_predict": 64, "num_ctx": 4096}
    assert all(type(sent[key]) is int for key in ("top_k", "num_predict", "num_ctx"))


# -- failures ---------------------------------------------------------------------------------


async def test_chat_missing_model(client: RkllamaClient) -> None:
    """Upstream answers 500 JSON 'Failed to load model … not found.'."""
    with pytest.raises(RkllamaModelNotFoundError):
        await client.generate(ask("hi"), model="No-Such-Model")


async def test_http_500(emulator: RkllamaEmulator, client: RkllamaClient) -> None:
    """A 500 HTML page becomes a server error with its status and an excerpt of the body."""
    emulator.set_fault(Fault.HTTP_500, times=1)
    with pytest.raises(RkllamaServerError) as err:
        await client.generate(ask("hi"), model=MODEL)
    assert err.value.status == 500
    assert "Internal Server Error" in err.value.body


@pytest.mark.parametrize("flavour", [Flavour.OLLAMA, Flavour.LEGACY])
async def test_prompt_over_context_is_a_task_error(
    start_emulator: StartEmulator, flavour: Flavour
) -> None:
    """The runtime answers nothing to a prompt over its window: a task error, not "" text."""
    emu = await start_emulator(flavour=flavour)
    async with RkllamaClient(emu.url) as client:
        await client.load_model(MODEL)
        assert await client.generate(ask("hi"), model=MODEL)  # the worker has answered once
        emu.change(context_window=20)
        with pytest.raises(RkllamaTaskError, match="answered nothing"):
            await client.generate(ask("Tell me a long story about the sea " * 4), model=MODEL)
        assert "prompt over the context" in (emu.requests[-1].refusal or "")


async def test_closed_client_opens_no_session(emulator: RkllamaEmulator) -> None:
    """After `close()` (an unloaded entry) a late request fails at once, opening nothing."""
    client = RkllamaClient(emulator.url)
    assert await client.list_models()
    await client.close()
    with pytest.raises(RkllamaConnectionError, match="closed"):
        await client.list_models()
    assert client.session is None


async def test_error_inside_http_200(emulator: RkllamaEmulator, client: RkllamaClient) -> None:
    """An HTTP 200 carrying {"error": …} is an error."""
    emulator.set_fault(Fault.ERROR_200, times=1)
    with pytest.raises(RkllamaServerError):
        await client.generate(ask("hi"), model=MODEL)


async def test_malformed_json(emulator: RkllamaEmulator, client: RkllamaClient) -> None:
    """A stream line that is not JSON is a malformed response."""
    emulator.set_fault(Fault.MALFORMED_JSON, times=1)
    with pytest.raises(RkllamaMalformedResponseError):
        await client.generate(ask("hi"), model=MODEL)


async def test_huge_line_is_bounded(emulator: RkllamaEmulator) -> None:
    """An endless line is cut off at max_line_bytes instead of filling memory."""
    emulator.set_fault(Fault.HUGE_LINE, times=1)
    async with RkllamaClient(emulator.url, max_line_bytes=64 * 1024) as client:
        with pytest.raises(RkllamaMalformedResponseError, match="longer than"):
            await client.generate(ask("hi"), model=MODEL)


async def test_drop_mid_stream(emulator: RkllamaEmulator, client: RkllamaClient) -> None:
    """A connection cut mid-answer is a connection error, after the pieces that came."""
    emulator.set_fault(Fault.DROP_MID_STREAM, times=1)
    received: list[ChatChunk] = []

    async def read() -> None:
        async for chunk in client.chat(ask("Write a haiku about AI."), model=MODEL):
            received.append(chunk)  # noqa: PERF401 - keep what came before the drop

    with pytest.raises(RkllamaConnectionError):
        await read()
    assert received
    assert not any(chunk.done for chunk in received)


async def test_first_chunk_timeout(emulator: RkllamaEmulator) -> None:
    """A slow first token beyond the first-chunk limit times out; within it, it succeeds."""
    emulator.set_fault(Fault.SLOW_FIRST_TOKEN, delay=0.6)
    async with RkllamaClient(emulator.url, timeouts=Timeouts(first_chunk=0.2)) as client:
        with pytest.raises(RkllamaTimeoutError):
            await client.generate(ask("hi"), model=MODEL)
    async with RkllamaClient(emulator.url, timeouts=Timeouts(first_chunk=5, idle=0.2)) as client:
        chunks = await collect(client.chat(ask("What is 1 + 2?"), model=MODEL))
        assert "3" in "".join(chunk.content for chunk in chunks)
        assert chunks[-1].stats is not None
        assert chunks[-1].stats.time_to_first_chunk >= 0.5
    emulator.clear_faults()
    # The timed-out request was read on in the background, so the worker stayed healthy.
    assert emulator.disconnects == 0


async def test_idle_timeout(
    start_emulator: StartEmulator,
) -> None:
    """A gap between pieces longer than idle_timeout ends the stream with a timeout."""
    emu = await start_emulator(
        timing=Timing(load_seconds=0.0, prefill_tokens_per_second=1e6, decode_tokens_per_second=2)
    )
    async with RkllamaClient(emu.url, timeouts=Timeouts(idle=0.15)) as client:
        with pytest.raises(RkllamaTimeoutError):
            await client.generate(ask("Write a haiku about AI."), model=MODEL)
        await client.wait_drained()
    assert emu.disconnects == 0


async def test_abandoned_stream_is_drained(
    emulator: RkllamaEmulator, client: RkllamaClient
) -> None:
    """A reader that stops early does not disconnect: the rest is read in the background."""
    stream = client.chat(ask("Write a Python function to check if a number is prime."), model=MODEL)
    first = await anext(stream)
    assert first.content
    await stream.aclose()
    await client.wait_drained()
    assert emulator.disconnects == 0
    assert "423" in await client.generate(ask("What is 145 + 278?"), model=MODEL)


async def test_cancelled_reader_is_drained(
    start_emulator: StartEmulator,
) -> None:
    """Cancelling the task that reads a stream still leaves the server a complete read."""
    emu = await start_emulator(
        timing=Timing(load_seconds=0.0, prefill_tokens_per_second=1e6, decode_tokens_per_second=200)
    )
    async with RkllamaClient(emu.url) as client:
        await cancel_mid_answer(client, "Is 17 a prime number? Explain.")
        await client.wait_drained()
    assert emu.disconnects == 0


async def test_server_timeout_text_and_ns_durations(
    raw_server: RawServer,
) -> None:
    """Upstream's abort text is a timeout; real Ollama's ns durations are read as ns."""
    lines = {
        "abort": [
            {
                "message": {"content": "Aborted inference by Timeout (300 seconds). Try again."},
                "done": True,
                "eval_count": 0,
                "eval_duration": 0,
                "total_duration": 0,
            },
        ],
        "ns": [
            {"message": {"content": "Hello"}, "done": False},
            {
                "message": {"content": ""},
                "done": True,
                "prompt_eval_count": 10,
                "prompt_eval_duration": 500_000_000,
                "eval_count": 20,
                "eval_duration": 2_000_000_000,
                "total_duration": 2_600_000_000,
            },
        ],
    }

    async def chat(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)
        for line in lines[body["model"]]:
            await response.write((json.dumps(line) + "\n").encode())
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/api/chat", chat)
    url = await raw_server(app)
    async with RkllamaClient(url, flavour=ApiFlavour.OLLAMA) as client:
        with pytest.raises(RkllamaTimeoutError):
            await client.generate(ask("hi"), model="abort")
        stats = (await collect(client.chat(ask("hi"), model="ns")))[-1].stats
    assert stats is not None
    assert stats.eval_seconds == pytest.approx(2.0)
    assert stats.prompt_eval_seconds == pytest.approx(0.5)
    assert stats.tokens_per_second == pytest.approx(10.0)


async def test_injected_session_is_not_closed(emulator: RkllamaEmulator) -> None:
    """The caller's session stays open; an own session is closed by close()."""
    async with aiohttp.ClientSession() as session:
        client = RkllamaClient(emulator.url, session=session)
        await client.detect()
        await client.close()
        assert not session.closed
    own = RkllamaClient(emulator.url)
    await own.detect()
    assert own.session is not None
    session = own.session
    await own.close()
    assert session.closed


async def test_bearer_token_is_sent(
    raw_server: RawServer,
) -> None:
    """An access token for a reverse proxy goes into the Authorization header."""
    seen: list[str | None] = []

    async def root(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization"))
        return web.json_response({"message": "Welcome to RKLLama !"})

    app = web.Application()
    app.router.add_get("/", root)
    url = await raw_server(app)
    async with RkllamaClient(url, token="s3cret") as client:
        assert await client.health_check()
    assert seen == ["Bearer s3cret"]


async def test_legacy_cancelled_stream_keeps_the_lock(start_emulator: StartEmulator) -> None:
    """The fork: a cancelled stream holds the lock until its background read ends."""
    emu = await start_emulator(
        flavour=Flavour.LEGACY,
        timing=Timing(
            load_seconds=0.0, prefill_tokens_per_second=1e6, decode_tokens_per_second=100
        ),
    )
    async with RkllamaClient(emu.url) as client:
        await client.load_model(MODEL)
        await cancel_mid_answer(client, "Is 17 a prime number? Explain.")
        assert not emu.requests[-1].done  # the abandoned answer is still being generated
        # The next answer waits for the abandoned one to be read to its end.
        assert "42" in await client.generate_from_prompt("What is 20 + 22?")
        await client.wait_drained()
    assert emu.max_concurrent_inferences == 1
    assert emu.disconnects == 0


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.POLL_HTTP_500, RkllamaServerError),
        (Fault.POLL_BAD_JSON, RkllamaMalformedResponseError),
        (Fault.POLL_HANG, RkllamaTimeoutError),
        (Fault.PROXY_502, RkllamaConnectionError),
    ],
)
async def test_polled_route_faults_are_typed(
    emulator: RkllamaEmulator, fault: Fault, error: type[Exception]
) -> None:
    """Broken answers of the polled routes become typed errors, quickly."""
    timeouts = Timeouts(request=0.3)
    async with RkllamaClient(emulator.url, flavour=ApiFlavour.OLLAMA, timeouts=timeouts) as client:
        emulator.set_fault(fault, times=1)
        with pytest.raises(error):
            await client.models()
        emulator.clear_faults()
        assert MODEL in await client.list_models()
