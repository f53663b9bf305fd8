"""scripts/bench: rkllm vs Home Assistant's ollama integration, on 127.0.0.1 (see README)."""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import replace
from pathlib import Path
import sys

from bench_lib import figures, report
from bench_lib.runner import ROOT, SECTIONS, Bench, Plan
from demo_lib import haconfig
from demo_lib.launch import HOST, server_from_env
from demo_lib.procs import DemoError, cancel_on_signals, check_ports
from demo_lib.progress import Progress

DEFAULT_OUTPUT = ROOT / "bench" / "results"
# 119, 48, 52: German, Russian and Chinese names and aliases (bench_lib/*_home.py)
FULL_HOMES = (10, 53, 200, 119, 48, 52)
GOAL_HOME = 53


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Return the command line options."""
    parser = argparse.ArgumentParser(
        prog="scripts/bench",
        description=(
            "Measure the wait for the first spoken word and what makes this integration fast, "
            "side by side with Home Assistant's own ollama integration on the same rkllama "
            "server (the bundled emulator with board timing, or RKLLM_SERVER_HOST/PORT)."
        ),
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fast emulator timing, one repetition, the 10-entity home (what the test runs)",
    )
    parser.add_argument(
        "--homes",
        type=lambda text: [int(part) for part in text.split(",") if part],
        help="comma-separated home sizes (default 10,53,200,119,48,52; 119 is the German home, "
        "48 the Russian and 52 the Chinese one, whose agents run in ru and zh-CN; --quick: 10)",
    )
    parser.add_argument(
        "--repetitions",
        type=int,
        help="measure-1 repetitions on the goal home (default 3; --quick: 1)",
    )
    parser.add_argument(
        "--prompt-cache",
        action="store_true",
        help="let the emulator skip the prefill of a system prompt it has seen before (its "
        "approximation; upstream rkllama caches per conversation only, so by default every "
        "request is prefilled in full)",
    )
    parser.add_argument(
        "--only",
        type=lambda text: [part.strip() for part in text.split(",") if part.strip()],
        help="run only these comma-separated sections (set-up and first turns always run): "
        + ", ".join(SECTIONS),
    )
    parser.add_argument(
        "--load",
        action="store_true",
        help="also run section load (measure 9): 10 and 50 conversations at once on one board "
        "and a long conversation, RSS and open files before and after (`--only load`: alone)",
    )
    parser.add_argument(
        "--load-turns",
        type=int,
        default=1000,
        help="turns of the long conversation in the load section (default 1000)",
    )
    parser.add_argument("--ha-port", type=int, default=8123, help="Home Assistant's port")
    parser.add_argument("--emulator-port", type=int, default=8080, help="the emulator's port")
    parser.add_argument(
        "--emulator-port-single",
        type=int,
        default=8081,
        help="port of the single-model emulator (measure 5)",
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="where <date>.md and <date>.json go (default bench/results; the README's "
        "summary is updated only by a full run into the default directory)",
    )
    parser.add_argument(
        "--config-dir",
        type=Path,
        default=ROOT / ".cache" / "bench",
        help="work dir for the Home Assistant config dirs and logs, recreated on every run",
    )
    args = parser.parse_args(argv)
    if args.only and (unknown := sorted(set(args.only) - set(SECTIONS))):
        parser.error(f"unknown section(s) {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
    args.server_url = server_from_env()
    return args


def make_plan(args: argparse.Namespace) -> Plan:
    """Return how much to measure."""
    plan = _plan(args)
    return replace(
        plan,
        load=args.load,
        load_turns=args.load_turns,
    )


def _plan(args: argparse.Namespace) -> Plan:
    """Return how much to measure, before the load section is chosen."""
    if args.quick:
        homes = args.homes or [10]
        reps = args.repetitions or 1
        return Plan(
            timing="fast",
            homes=homes,
            goal_home=GOAL_HOME if GOAL_HOME in homes else homes[0],
            repetitions=reps,
            tool_repetitions=1,
            direct_repetitions=1,
            reload_repetitions=1,
            residency_requests=6,
            concurrency=10,
            only=args.only,
        )
    homes = args.homes or list(FULL_HOMES)
    reps = args.repetitions or 3
    return Plan(
        timing="board",
        homes=homes,
        goal_home=GOAL_HOME if GOAL_HOME in homes else homes[0],
        repetitions=reps,
        tool_repetitions=reps,
        direct_repetitions=2,
        reload_repetitions=3,
        residency_requests=20,
        concurrency=10,
        only=args.only,
    )


async def _main(args: argparse.Namespace) -> int:
    progress = Progress(label="bench")
    plan = make_plan(args)
    bench = Bench(args, plan, progress)
    # First Ctrl-C: stop in order (HA, then the emulator). Second: kill them at once.
    restore_signals = cancel_on_signals(bench.kill_processes)
    try:
        ports = {"Home Assistant": (args.ha_port, "--ha-port")}
        if args.server_url is None:
            ports["rkllama emulator"] = (args.emulator_port, "--emulator-port")
            ports["single-model emulator"] = (args.emulator_port_single, "--emulator-port-single")
        check_ports(HOST, ports)
        progress.note(
            f"plan: {plan.timing} timing, homes {plan.homes}, goal home {plan.goal_home}, "
            f"{plan.repetitions} repetition(s)"
        )
        raw = await bench.run()
        await bench.stop_processes()
        results, missing = figures.build(raw)
        path = report.write(raw, results, missing, args.output_dir)
        print(report.figure_table(results, with_measure=True))
        print(f"\nResults: {path} and {path.with_suffix('.json')}", flush=True)
        problems = [*bench.errors, *missing]
        if problems:
            print("Not measured:", *problems, sep="\n  ", file=sys.stderr)
            return 1
        full = not args.quick and not args.only
        if full and args.output_dir.resolve() == DEFAULT_OUTPUT.resolve():
            report.update_readme(ROOT / "README.md", raw, results, path.relative_to(ROOT))
            progress.note("README.md: benchmark summary updated")
    except DemoError as err:
        print(f"scripts/bench: error: {err}", file=sys.stderr)
        for log in sorted(bench.config_root.glob("home-*/home-assistant.log")):
            if errors := haconfig.logged_errors(log):
                print(f"Errors in {log}:", *errors, sep="\n  ", file=sys.stderr)
        return 1
    except asyncio.CancelledError:
        progress.note("stopping (Ctrl-C)")
        return 130
    finally:
        await bench.stop_processes()
        restore_signals()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and return its exit code."""
    return asyncio.run(_main(parse_args(argv)))
