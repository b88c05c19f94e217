#!/usr/bin/env python3
"""distillery against PyTorch, side by side: alternated rounds and the table of ratios.

    python3 benches/compare.py                          # every workload, all cores, 3 rounds
    python3 benches/compare.py --threads 1 --rounds 5 --only gemm_f32_1024,mlp_teacher_train

Run from the project root. Each round runs both benchmarks once, one after the other, in turns
(ours first in even rounds, PyTorch first in odd ones), so that a slow minute of a shared machine
falls on both sides. The ratio is how many times better we are: ours / PyTorch when higher is
better, PyTorch / ours when lower is better. The table gives the median of the per-round ratios
and their range; a claim about our speed is this ratio, measured on the machine at hand.

The project's side is `target/release/distillery bench --json` (built first with cargo unless
--ours is given); the PyTorch side is benches/pytorch/torch_bench.py run by --python (default:
$TORCH_PY, else /tmp/torchvenv/bin/python, else python3). Only the standard library is needed
here; torch lives in its own virtual environment (benches/pytorch/README.md).

Each of our runs also reads the machine's FMA peak (the workload fma_peak_f32, ours alone: the
loop of benches/fma_peak.c on every thread), and the table gives each GFLOP/s figure, ours and
PyTorch's, as a share of the peak read in the same round: a host's speed moves from minute to
minute, and a peak read at another time is not the peak of that figure.
"""
import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PEAK = "fma_peak_f32"


def fail(message):
    sys.exit(f"compare.py: {message}")


def default_python():
    if os.environ.get("TORCH_PY"):
        return os.environ["TORCH_PY"]
    venv = Path("/tmp/torchvenv/bin/python")
    return str(venv) if venv.exists() else "python3"


def records(text, side):
    """The benchmark records of one run's stdout (one JSON object per line). A record with a
    "skipped" field is a workload that could not run; its reason is printed."""
    found = {}
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if line.strip():
                print(f"compare.py: {side} printed a line that is not JSON: {line[:100]}", file=sys.stderr)
            continue
        if "skipped" in record:
            print(f"compare.py: {side} skipped {record.get('name')}: {record['skipped']}", file=sys.stderr)
        elif {"name", "metric", "value", "higher_is_better"} <= record.keys():
            found[record["name"]] = record
        else:
            print(f"compare.py: {side} printed a malformed record: {record}", file=sys.stderr)
    return found


def run(cmd, side):
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        fail(f"{side} failed (exit {done.returncode}): {shlex.join(cmd)}\n{done.stderr[-2000:]}")
    return records(done.stdout, side)


def workload_names(cmd, side):
    done = subprocess.run(cmd + ["--list"], capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        fail(f"{side} --list failed: {done.stderr[-1000:]}")
    return done.stdout.split()


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def fmt(value):
    return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.3g}"


def share(values, peaks):
    """Per-round shares of the peak, as "median % (min–max)"."""
    shares = [100 * v / p for v, p in zip(values, peaks) if p > 0]
    if not shares:
        return "n/a"
    return f"{statistics.median(shares):.0f} % ({min(shares):.0f}–{max(shares):.0f})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                        help="threads on both sides (default: all cores)")
    parser.add_argument("--rounds", type=int, default=3, help="alternated rounds (default 3)")
    parser.add_argument("--only", help="comma-separated workload names (default: all)")
    parser.add_argument("--min-time", type=float, default=1.0,
                        help="seconds of timed blocks per workload and side (default 1)")
    parser.add_argument("--python", default=default_python(), help="the python that has torch")
    parser.add_argument("--ours", help="the project's benchmark binary (default: build "
                        "target/release/distillery with cargo)")
    args = parser.parse_args()
    if args.threads < 1 or args.rounds < 1 or args.min_time <= 0:
        parser.error("--threads and --rounds must be at least 1, --min-time positive")

    probe = subprocess.run([args.python, "-c", "import torch; print(torch.__version__)"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        fail(f"PyTorch is not importable by {args.python!r}. Install the reference outside the "
             "project (benches/pytorch/README.md):\n"
             "    python3 -m venv /tmp/torchvenv\n"
             "    /tmp/torchvenv/bin/pip install -r benches/pytorch/requirements.txt\n"
             "or pass --python / set TORCH_PY.")
    torch_version = probe.stdout.strip()

    ours = args.ours
    if ours is None:
        build = ["cargo", "build", "--release", "-q", "-p", "experiments", "--bin", "distillery"]
        if subprocess.run(build, cwd=ROOT).returncode != 0:
            fail(f"building the project failed: {shlex.join(build)}")
        ours = str(ROOT / "target" / "release" / "distillery")
    ours_cmd = [ours, "bench"]
    torch_cmd = [args.python, str(HERE / "pytorch" / "torch_bench.py")]
    listed = [workload_names(ours_cmd, "distillery bench"), workload_names(torch_cmd, "torch_bench.py")]
    has_peak = PEAK in listed[0]
    wanted = ([n.strip() for n in args.only.split(",")] if args.only
              else [n for n in listed[0] if n != PEAK])
    unknown = [n for n in wanted if n not in listed[0] and n not in listed[1]]
    if unknown:
        fail(f"unknown workload(s) {', '.join(unknown)}; the names: {', '.join(listed[0])}")
    for side, names in zip(("distillery", "PyTorch"), listed):
        missing = [n for n in wanted if n not in names]
        if missing:
            print(f"compare.py: not in {side}, left out: {', '.join(missing)}", file=sys.stderr)
    both = [n for n in wanted if n in listed[0] and n in listed[1]]
    if not both:
        fail("the two sides have no requested workload in common")
    common = ["--json", "--threads", str(args.threads), "--min-time", str(args.min_time)]
    ours_cmd += common + ["--only", ",".join(both + ([PEAK] if has_peak else []))]
    torch_cmd += common + ["--only", ",".join(both)]

    rounds = []  # per round: (ours, torch) records
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds}", file=sys.stderr)
        if r % 2 == 0:
            o = run(ours_cmd, "distillery bench")
            t = run(torch_cmd, "torch_bench.py")
        else:
            t = run(torch_cmd, "torch_bench.py")
            o = run(ours_cmd, "distillery bench")
        rounds.append((o, t))

    names = [n for n in both if all(n in o and n in t for o, t in rounds)]
    print(f"CPU: {cpu_model()}; {args.threads} thread(s); PyTorch {torch_version}; "
          f"{args.rounds} alternated round(s), --min-time {args.min_time}.")
    print("Ratio = how many times better we are (above 1.0 we are ahead): the median of the "
          "per-round ratios, with their range.")
    peaks = [o[PEAK]["value"] for o, _ in rounds] if has_peak and all(PEAK in o for o, _ in rounds) else None
    flops = peaks is not None and any(rounds[0][0][n]["metric"] == "GFLOP/s" for n in names)
    if peaks is not None:
        print(f"FMA peak ({PEAK}, read in each of our runs): median {fmt(statistics.median(peaks))} "
              f"GFLOP/s, range {fmt(min(peaks))}–{fmt(max(peaks))}. Share of peak = a GFLOP/s "
              "figure over the peak of its round: median (range).")
    print()
    if flops:
        print("| name | metric | ours (median) | PyTorch (median) | ratio | range | ours / peak | PyTorch / peak |")
        print("|---|---|---:|---:|---:|---|---:|---:|")
    else:
        print("| name | metric | ours (median) | PyTorch (median) | ratio | range |")
        print("|---|---|---:|---:|---:|---|")
    for name in names:
        ov = [o[name]["value"] for o, _ in rounds]
        tv = [t[name]["value"] for _, t in rounds]
        metric, higher = rounds[0][1][name]["metric"], rounds[0][1][name]["higher_is_better"]
        if rounds[0][0][name]["metric"] != metric or rounds[0][0][name]["higher_is_better"] != higher:
            metric += f" (ours: {rounds[0][0][name]['metric']}, differ!)"
        ratios = [(a / b if higher else b / a) for a, b in zip(ov, tv) if a > 0 and b > 0]
        ratio = f"{statistics.median(ratios):.2f}" if ratios else "n/a"
        spread = f"{min(ratios):.2f}–{max(ratios):.2f}" if ratios else ""
        row = (f"| {name} | {metric} | {fmt(statistics.median(ov))} | "
               f"{fmt(statistics.median(tv))} | {ratio} | {spread} |")
        if flops:
            for values in (ov, tv):
                row += f" {share(values, peaks)} |" if metric == "GFLOP/s" else " |"
        print(row)
    absent = [n for n in both if n not in names]
    if absent:
        print(f"\nNot measured in every round (skipped on one side): {', '.join(absent)}")


if __name__ == "__main__":
    main()
