"""Benchmark the try-on bundle: ``python -m bench.render [--size 768x1024] [--runs 20]``.

Times, per bundle, the body model's forward pass into the pose, the render of every image in memory
(labels, camera, the one geometry pass, keypoints, masks, DensePose, depth, and the checks), and the
writing of the PNG/JSON files, after warm-up runs (context creation and shader compilation happen
once per process). The machine's load average is printed with the figures because the CPU
rasteriser shares the cores with everything else running; the ``CPU`` rows are the process's CPU
time (all threads, rasteriser included), which does not grow when other work competes for the cores.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from avatar.body import skeleton
from avatar.body.models import create as create_body
from avatar.render.bundle import render_bundle, write_bundle
from avatar.render.camera import parse_size
from avatar.render.mesh import PosedBody

log = logging.getLogger(__name__)
console = Console()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(size: tuple[int, int], runs: int, warmup: int = 2) -> dict[str, list[float]]:
    """Milliseconds per stage over ``runs`` bundles, alternating a female and a male body."""
    model = create_body("anny")
    pose = skeleton.named_pose("a_pose")[None]
    shapes = [model.default_shape("female")[None], model.default_shape("male")[None]]
    stages: dict[str, list[float]] = {
        "pose_body": [], "render_bundle": [], "write_files": [], "total": [], "render_bundle CPU": [],
        "total CPU": [],
    }
    with tempfile.TemporaryDirectory(prefix="fitroom-bench-") as tmp:
        for i in range(warmup + runs):
            c0, t0 = time.process_time(), time.perf_counter()
            with torch.no_grad():
                body = PosedBody.from_output(model.forward(shapes[i % 2], pose))
            c1, t1 = time.process_time(), time.perf_counter()
            bundle = render_bundle(body, size=size)
            c2, t2 = time.process_time(), time.perf_counter()
            write_bundle(bundle, Path(tmp) / f"b{i % 2}", {"backend": "anny"})
            c3, t3 = time.process_time(), time.perf_counter()
            if not bundle.report["passed"]:
                raise RuntimeError(f"bundle checks failed during the benchmark: {bundle.report}")
            if i >= warmup:
                for name, seconds in (("pose_body", t1 - t0), ("render_bundle", t2 - t1),
                                      ("write_files", t3 - t2), ("total", t3 - t0),
                                      ("render_bundle CPU", c2 - c1), ("total CPU", c3 - c0)):
                    stages[name].append(seconds * 1000)
                for name, ms in bundle.timings_ms.items():
                    stages.setdefault(f"  {name}", []).append(ms)
    return stages


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="768x1024", help="384x512, 768x1024 (default) or 1152x1536")
    parser.add_argument("--runs", type=int, default=20, help="timed bundles after 2 warm-up ones (1-500)")
    args = parser.parse_args(argv)
    if not 1 <= args.runs <= 500:
        parser.error(f"--runs must be within 1..500, got {args.runs}")
    size = parse_size(args.size)
    load_before = os.getloadavg()[0]
    stages = run(size, args.runs)
    table = Table(title=f"try-on bundle {args.size}, {args.runs} runs, {os.cpu_count()} CPUs, "
                        f"load average {load_before:.1f} → {os.getloadavg()[0]:.1f}")
    for col in ("stage", "median ms", "p90 ms", "min ms"):
        table.add_column(col, justify="right" if col != "stage" else "left")
    for name, values in stages.items():
        table.add_row(name, f"{statistics.median(values):.1f}", f"{_percentile(values, 0.9):.1f}",
                      f"{min(values):.1f}")
    console.print(table)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    main()
