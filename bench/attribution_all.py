"""Attribution end to end: the recompute bench, then the write-back bench, all figures.

```
.venv/bin/python -m bench.attribution_all [--scale 1.0] [--database URL] [--models a,b]
    [--change 0.01] [--page-size N] [--json]
```

The issue's entry point (named ``attribution_all`` rather than ``attribution``: a bench module
named after a package would shadow that package for a bench run as ``python bench/x.py``). It
runs :mod:`bench.attribution_recompute` (a full recompute of
100,000 opportunities × 1,000,000 touches at ``--scale 1``, then an incremental one after
``--change`` of the touches move; goal: under 1/20 of the full time) and then
:mod:`bench.attribution_writeback` (560 opportunities' ``campaign_influence`` pushed to the
Salesforce sandbox at ``--scale 1``; goal: at most ⌈rows/200⌉ write calls per cycle), each at
its own meaning of ``--scale``, and prints both sets of figures (``--json``: one object with
``recompute`` and ``writeback``). ``--database`` and ``--models`` go to the recompute bench,
``--page-size`` to the write-back one. Either module still runs alone. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json

from bench import attribution_recompute, attribution_writeback


def main(argv: list[str] | None = None) -> int:
    """Run both benches, print their figures; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    attribution_recompute.add_options(parser)
    parser.add_argument("--page-size", type=int,
                        help="the influence mapping's page_size (default: the shipped file's)")
    args = parser.parse_args(argv)
    recompute = attribution_recompute.measure(args.scale, args.database, args.models,
                                              args.change)
    if not args.json:
        print("== recompute (bench.attribution_recompute)")
        attribution_recompute.print_figures(recompute)
    writeback = attribution_writeback.measure(args.scale, args.page_size, args.change)
    if args.json:
        print(json.dumps({"recompute": recompute, "writeback": writeback}))
    else:
        print()
        print("== write-back (bench.attribution_writeback)")
        attribution_writeback.print_figures(writeback)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
