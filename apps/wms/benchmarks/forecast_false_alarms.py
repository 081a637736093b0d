"""False breach predictions over a steady 10-minute run (target: 0), and ramps caught.

Run: ``python benchmarks/forecast_false_alarms.py [--runs 50]``.

Simulated time: each run feeds ``TrendForecaster`` 600 one-second samples of a steady
error rate (1, 2 and 3 % of 100 calls a second failing, binomial noise; the threshold is
5 %) and counts predictions, all of which are false; it then feeds the same number of
slowly ramped runs and counts those predicted before their breach, with the lead time.
No clock is read, so a run of ten simulated minutes takes a fraction of a second and
is the same on every machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.unit.error_rates

from tests.unit.error_rates import BREACH_AT, THRESHOLD, ramped, steady

from wms.coordination.forecast import TrendForecaster


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="seeds of each kind (default 50)")
    args = parser.parse_args()
    for rate in (0.01, 0.02, 0.03):
        false_alarms = runs_alarmed = 0
        for seed in range(args.runs):
            forecaster = TrendForecaster(threshold=THRESHOLD)
            alarms = sum(1 for at, v in steady(seed, rate=rate) if forecaster.observe(at, v))
            false_alarms += alarms
            runs_alarmed += 1 if alarms else 0
        print(
            f"steady {rate:.0%} (threshold {THRESHOLD:.0%}): {args.runs} runs x 600 simulated s;"
            f" false alarms: {false_alarms} (in {runs_alarmed} runs)"
        )
    leads = []
    for seed in range(args.runs):
        forecaster = TrendForecaster(threshold=THRESHOLD)
        for at, value in ramped(seed):
            if forecaster.observe(at, value) is not None:
                if at < BREACH_AT:
                    leads.append(BREACH_AT - at)
                break
    print(
        f"ramped runs: {args.runs}; predicted before the breach: {len(leads)}"
        + (
            f"; lead time median {statistics.median(leads):.0f} s, min {min(leads):.0f} s"
            if leads
            else ""
        )
    )


if __name__ == "__main__":
    main()
