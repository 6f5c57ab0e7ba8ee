#!/usr/bin/env python3
"""Fuzz the compose loader: mutate stack files and count internal errors.

    python3 bench/fuzz_loader.py [--cases 100000] [--seed 1] [--jobs 2] [--corpus DIR] [--show 5]

Seeds are the examples' stack files and the stack files written inline in the loader's tests
(plus every ``*.yaml`` under ``--corpus``). Each case is loaded as ``stackfile config`` loads it;
a located ``StackfileError`` or a project is a good answer. Prints a table of outcomes and the
first internal errors, and exits 1 when any case ended in an internal error, an unlocated error
or a timeout. Cases are reproducible: case ``i`` of seed ``s`` uses ``random.Random(s * 1_000_003 + i)``.
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.loader_fuzz import mutate, run_case, seed_files

_SEEDS: list[bytes] = []


def _init(extra: tuple[str, ...]) -> None:
    sys.setrecursionlimit(1000)
    _SEEDS[:] = seed_files(extra)


def _one(args: tuple[int, int]) -> tuple[int, str, str]:
    seed, i = args
    case = mutate(random.Random(seed * 1_000_003 + i), _SEEDS)
    out = run_case(case)
    return i, out.kind, out.detail


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--corpus", action="append", default=[], help="more seed stack files (a directory)")
    ap.add_argument("--show", type=int, default=5, help="how many bad cases to print")
    args = ap.parse_args()
    start = time.monotonic()
    counts: collections.Counter[str] = collections.Counter()
    bad: list[tuple[int, str, str]] = []
    work = ((args.seed, i) for i in range(args.cases))
    with multiprocessing.Pool(args.jobs, _init, (tuple(args.corpus),), maxtasksperchild=2000) as pool:
        for i, kind, detail in pool.imap_unordered(_one, work, chunksize=50):
            counts[kind] += 1
            if kind in ("internal", "unlocated", "timeout"):
                bad.append((i, kind, detail))
            done = sum(counts.values())
            if done % 10_000 == 0:
                print(f"  {done} cases, {len(bad)} bad, {time.monotonic() - start:.0f} s", file=sys.stderr)
    took = time.monotonic() - start
    print(f"{'outcome':<12}{'cases':>10}")
    for kind in ("ok", "error", "unlocated", "internal", "timeout"):
        print(f"{kind:<12}{counts[kind]:>10}")
    print(f"{args.cases} cases in {took:.1f} s ({args.cases / took:.0f}/s), seed {args.seed}")
    for i, kind, detail in sorted(bad)[: args.show]:
        print(f"\n--- case {i} ({kind}); reproduce: --seed {args.seed}, case {i}\n{detail}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
