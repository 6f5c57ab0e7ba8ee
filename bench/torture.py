#!/usr/bin/env python3
"""kill -9 torture: random SIGKILLs during up/build/down, each followed by convergence checks.

    python3 bench/torture.py [--rounds 30] [--seed N]

Each round kills one of ``up -d --build``, ``build``, ``down -v``, ``up -d`` after a random delay,
then asserts that ``up -d --build --wait`` brings all 5 services up with the latest build and that
``stackfile system check`` exits 0; at the end ``down -v`` must leave no mount or process of the
store root. Exits 1 on the first failure (the assertion says which kill preceded it).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.torture import main

if __name__ == "__main__":
    sys.exit(main())
