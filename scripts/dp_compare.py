#!/usr/bin/env python3
"""Compares the loss curves and throughput of two `loglin train` runs (their
metrics.jsonl), for scripts/gpu_dp_check.sh: one GPU against N GPUs with the
same global batch.

  dp_compare.py compare BASE.jsonl OTHER.jsonl --labels "1 GPU" "2 GPUs" \
                --gpus 1 2 [--every 20] [--window 20] [--tol 0.05] [--out SUMMARY.json]
      prints a table (step, both losses, abs diff) for steps 1, 2, 5, 10 and
      every `every`th, the max abs diff, the mean losses over windows of
      `window` steps and their largest difference, and tokens/s of each run;
      exits 1 when a window's means differ by more than `tol` (or a loss is
      missing or not finite).
  dp_compare.py summary SUMMARY.json ...
      one short markdown table over the comparisons.

Why compare window means with a tolerance of 0.05 nats: the two runs start
from the same weights and see the same global batches, so in exact
arithmetic they would give the same losses. In bf16-mixed they do not: each
rank's matmuls see half the rows, reductions add in another order, some
kernels sum with atomics, and the gradient average goes through NCCL. Those
roundings (bf16 keeps 8 bits, ~0.4% relative) move single-step losses by
~1e-2 from the first step, and the two trajectories then drift apart as any
two runs with perturbed weights do. Averaging over 20 steps removes most of
the per-step noise; a shift of the mean by more than 0.05 nats (about 1% of a
loss of 4-7 in the first 200 steps) means the runs trained differently (a
rank on the wrong rows, gradients not averaged, weights not broadcast), not
that they rounded differently. The first steps are the sharpest test (same
weights, one update): they are in the table. This tolerance is a judgement,
not yet calibrated on a GPU: the first GPU run should confirm it.

Tokens/s: the global tokens of a step over the median step time of the steps
after the first `--skip` (warm-up: cuBLAS, the caching allocator). Scaling
efficiency = tokens/s on N GPUs / (N x tokens/s on 1 GPU).
"""
import argparse
import json
import math
import statistics
import sys


def read_train(path):
    rows = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            if r.get("kind") == "train":
                rows[int(r["step"])] = r
    if not rows:
        sys.exit(f"dp_compare: no train rows in {path}")
    return rows


def finite(x):
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


def tokens_per_s(rows, skip):
    steps = sorted(rows)
    per_step = rows[steps[-1]]["tokens"] / steps[-1]
    ms = [rows[s]["ms_per_step"] for s in steps if s > skip and finite(rows[s].get("ms_per_step"))]
    if not ms:
        ms = [rows[s]["ms_per_step"] for s in steps if finite(rows[s].get("ms_per_step"))]
    return per_step / (statistics.median(ms) / 1000.0) if ms else float("nan")


def compare(args):
    a, b = read_train(args.base), read_train(args.other)
    la, lb = args.labels
    steps = sorted(set(a) | set(b))
    missing = [s for s in steps if s not in a or s not in b]
    bad = [s for s in steps if s in a and s in b and not (finite(a[s]["loss"]) and finite(b[s]["loss"]))]
    both = [s for s in steps if s in a and s in b and s not in bad]
    shown = [s for s in both if s in (1, 2, 5, 10) or s % args.every == 0 or s == both[-1]]
    print(f"| step | loss {la} | loss {lb} | abs diff |")
    print("|---:|---:|---:|---:|")
    for s in shown:
        print(f"| {s} | {a[s]['loss']:.4f} | {b[s]['loss']:.4f} | {abs(a[s]['loss'] - b[s]['loss']):.4f} |")
    diffs = [(abs(a[s]["loss"] - b[s]["loss"]), s) for s in both]
    max_diff, max_step = max(diffs) if diffs else (float("nan"), 0)
    print(f"\nmax abs diff over {len(both)} steps: {max_diff:.4f} (step {max_step})")
    windows = []
    for start in range(1, (both[-1] if both else 0) + 1, args.window):
        ws = [s for s in both if start <= s < start + args.window]
        if ws:
            ma = statistics.fmean(a[s]["loss"] for s in ws)
            mb = statistics.fmean(b[s]["loss"] for s in ws)
            windows.append((start, ws[-1], ma, mb, abs(ma - mb)))
    print(f"\n| steps | mean loss {la} | mean loss {lb} | abs diff |")
    print("|---|---:|---:|---:|")
    for w in windows:
        print(f"| {w[0]}-{w[1]} | {w[2]:.4f} | {w[3]:.4f} | {w[4]:.4f} |")
    max_window = max((w[4] for w in windows), default=float("nan"))
    ok = not missing and not bad and bool(windows) and max_window <= args.tol
    ta, tb = tokens_per_s(a, args.skip), tokens_per_s(b, args.skip)
    ga, gb = args.gpus
    eff = tb / (gb / ga * ta) if ta > 0 else float("nan")
    print(f"\ntokens/s: {la} {ta:.0f}, {lb} {tb:.0f}; scaling efficiency {eff:.2f} "
          f"(tokens/s on {gb} / ({gb}/{ga} x tokens/s on {ga}); median step time after step {args.skip})")
    if missing:
        print(f"steps missing in one run: {missing[:10]}{' ...' if len(missing) > 10 else ''}")
    if bad:
        print(f"steps with a non-finite loss: {bad[:10]}")
    print(f"result: {'pass' if ok else 'FAIL'} (largest window-mean diff {max_window:.4f}, tolerance {args.tol})")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"labels": [la, lb], "gpus": [ga, gb], "steps": len(both), "max_diff": max_diff,
                       "max_diff_step": max_step, "max_window_diff": max_window, "tol": args.tol,
                       "pass": ok, "tokens_per_s": [ta, tb], "efficiency": eff,
                       "first_step_diff": diffs[0][0] if diffs else None}, f)
    return 0 if ok else 1


def summary(args):
    print("| runs | steps | step-1 diff | max abs diff | max window-mean diff | tolerance | result | tokens/s | scaling efficiency |")
    print("|---|---:|---:|---:|---:|---:|---|---|---:|")
    for path in args.summaries:
        with open(path) as f:
            s = json.load(f)
        la, lb = s["labels"]
        ta, tb = s["tokens_per_s"]
        first = s["first_step_diff"]
        print(f"| {la} vs {lb} | {s['steps']} | {first:.4f} | {s['max_diff']:.4f} | {s['max_window_diff']:.4f} | "
              f"{s['tol']} | {'pass' if s['pass'] else 'FAIL'} | {ta:.0f} / {tb:.0f} | {s['efficiency']:.2f} |")
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("compare")
    c.add_argument("base")
    c.add_argument("other")
    c.add_argument("--labels", nargs=2, default=["base", "other"])
    c.add_argument("--gpus", nargs=2, type=int, default=[1, 1], help="GPUs of each run, for the scaling efficiency")
    c.add_argument("--every", type=int, default=20)
    c.add_argument("--window", type=int, default=20)
    c.add_argument("--tol", type=float, default=0.05)
    c.add_argument("--skip", type=int, default=20, help="warm-up steps left out of tokens/s")
    c.add_argument("--out")
    s = sub.add_parser("summary")
    s.add_argument("summaries", nargs="+")
    args = p.parse_args()
    return compare(args) if args.cmd == "compare" else summary(args)


if __name__ == "__main__":
    sys.exit(main())
