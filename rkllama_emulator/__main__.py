"""Command line: `python -m rkllama_emulator --port 8080 --models-dir DIR ...`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
from pathlib import Path
import signal
import sys
import tempfile

from .config import BOARD_TIMING, FAST_TIMING, EmulatorConfig, Flavour
from .models import create_seed_models
from .server import RkllamaEmulator

DEFAULT_MODELS_DIR = Path(tempfile.gettempdir()) / "rkllama-emulator-models"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="rkllama-emulator", description="Emulate an rkllama server on an RK3588 board."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR)
    parser.add_argument("--flavour", choices=[f.value for f in Flavour], default="ollama")
    parser.add_argument("--timing", choices=["board", "fast"], default="board")
    parser.add_argument("--load-seconds", type=float)
    parser.add_argument("--prefill-tps", type=float)
    parser.add_argument("--decode-tps", type=float)
    parser.add_argument(
        "--request-overhead",
        type=float,
        help="seconds of upstream's own work per request before the queue and prefill "
        "(board timing: 0.45, fast: 0)",
    )
    parser.add_argument("--no-tool-holdback", action="store_true")
    parser.add_argument("--stranded-piece", action="store_true")
    parser.add_argument(
        "--no-prompt-cache",
        action="store_true",
        help="prefill every prompt in full (no free system part for a system prompt seen before)",
    )
    parser.add_argument("--idle-unload-seconds", type=float, default=1800.0)
    return parser.parse_args(argv)


def build_config(args: argparse.Namespace) -> EmulatorConfig:
    """Turn parsed arguments into an EmulatorConfig."""
    timing = BOARD_TIMING if args.timing == "board" else FAST_TIMING
    overrides = {
        "load_seconds": args.load_seconds,
        "prefill_tokens_per_second": args.prefill_tps,
        "decode_tokens_per_second": args.decode_tps,
        "request_overhead_seconds": args.request_overhead,
    }
    timing = dataclasses.replace(timing, **{k: v for k, v in overrides.items() if v is not None})
    return EmulatorConfig(
        models_dir=args.models_dir,
        flavour=Flavour(args.flavour),
        timing=timing,
        tool_holdback=not args.no_tool_holdback,
        stranded_piece=args.stranded_piece,
        system_prompt_cache=not args.no_prompt_cache,
        idle_unload_seconds=args.idle_unload_seconds,
    )


def ensure_models(models_dir: Path) -> None:
    """Fill a missing or empty models directory with the seed models."""
    if not models_dir.is_dir() or not any(models_dir.iterdir()):
        create_seed_models(models_dir)


async def serve(config: EmulatorConfig, host: str, port: int) -> None:
    """Run the emulator until SIGINT or SIGTERM."""
    emulator = RkllamaEmulator(config)
    url = await emulator.start(host, port)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    sys.stdout.write(f"rkllama emulator ({config.flavour}) listening on {url}\n")
    sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        await emulator.stop()


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m rkllama_emulator` and `rkllama-emulator`."""
    args = parse_args(argv)
    ensure_models(args.models_dir)
    asyncio.run(serve(build_config(args), args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
