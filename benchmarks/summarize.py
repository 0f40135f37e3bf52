"""Several runs of ``benchmarks/run.py --json`` in one table: ``python benchmarks/summarize.py RUN.json ...``.

On a shared machine one run is not enough (its turns can all fall in a slow minute). For every case this
prints the median over the runs of the ratio glassnet/PyTorch, its range (lowest and highest run), the
median throughputs and peak memory, then checks the targets of ``run.py`` on the median ratios.
``--markdown`` prints the table for docs/benchmarks.md instead.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import check_targets  # noqa: E402


def merge(reports: list[dict]) -> list[dict]:
    """One row per case that every run measured with both frameworks, in the order of the first run."""
    by_name: dict[str, list[dict]] = {}
    for report in reports:
        for row in report["cases"]:
            if "ratio" in row:
                by_name.setdefault(row["case"]["name"], []).append(row)
    rows = []
    for runs in by_name.values():
        if len(runs) < len(reports):
            continue
        ratios = [r["ratio"] for r in runs]
        g = [r["results"]["glassnet"] for r in runs]
        t = [r["results"]["torch"] for r in runs]
        rows.append({
            "case": runs[0]["case"], "ratio": statistics.median(ratios), "low": min(ratios), "high": max(ratios),
            "glassnet": statistics.median(x["images_per_s"] for x in g),
            "torch": statistics.median(x["images_per_s"] for x in t),
            "results": {"glassnet": {"peak_mb": statistics.median(x["peak_mb"] for x in g),
                                     "growth_mb": max(x["growth_mb"] for x in g)},
                        "torch": {"peak_mb": statistics.median(x["peak_mb"] for x in t)}},
        })
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", type=Path, help="JSON files written by run.py --json")
    p.add_argument("--markdown", action="store_true", help="a Markdown table")
    args = p.parse_args(argv)
    reports = [json.loads(path.read_text()) for path in args.runs]
    rows = merge(reports)
    if not rows:
        print("no case was measured with both frameworks in every run", file=sys.stderr)
        return 1
    if args.markdown:
        print(f"| case | glassnet/PyTorch, median of {len(reports)} runs [lowest-highest] | glassnet img/s "
              "| PyTorch img/s | peak MB glassnet / PyTorch |")
        print("|---|---:|---:|---:|---:|")
        for r in rows:
            peak = f"{r['results']['glassnet']['peak_mb']:.0f} / {r['results']['torch']['peak_mb']:.0f}"
            print(f"| {r['case']['name']} | {r['ratio']:.2f} [{r['low']:.2f}-{r['high']:.2f}] | {r['glassnet']:,.0f} "
                  f"| {r['torch']:,.0f} | {peak} |")
        return 0
    print(f"{'case':45s} {'ratio':>6s} {'range':>11s} {'glassnet':>11s} {'torch':>11s}   ({len(reports)} runs)")
    for r in rows:
        print(f"{r['case']['name']:45s} {r['ratio']:6.2f} {r['low']:5.2f}-{r['high']:<5.2f} {r['glassnet']:11,.0f} "
              f"{r['torch']:11,.0f}")
    print(check_targets({"cases": rows}).replace("lowest", "lowest median").replace("highest", "highest median"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
