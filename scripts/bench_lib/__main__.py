"""Entry point of `python -m bench_lib` (what scripts/bench runs)."""

import sys

if "--pool" in sys.argv[1:]:
    from bench_lib.pool import main

    sys.exit(main([arg for arg in sys.argv[1:] if arg != "--pool"]))

if "--faults" in sys.argv[1:]:
    from bench_lib.faults import main

    sys.exit(main([arg for arg in sys.argv[1:] if arg != "--faults"]))

from bench_lib.cli import main

sys.exit(main())
