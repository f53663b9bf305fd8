"""Run the demo: ``python -m demo_lib`` (see scripts/demo)."""

from demo_lib.cli import main

raise SystemExit(main())
