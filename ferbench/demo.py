"""The end-to-end demo: every stage of ferbench on the embedded synthetic dataset, on a CPU.

prepare (synthetic store) → grid (2 architectures × 2 attentions × 2 activations) → resolution sweep
and subgroup probe on every trained cell → Markdown and LaTeX reports and the HTML page. Everything is
written under one directory (``results/demo`` by default), and re-running resumes: the prepared store,
finished cells and probe outputs that are up to date are reused.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from ferbench.data.prepare import prepare
from ferbench.probes.resize import resize_sweep
from ferbench.probes.subgroups import subgroups
from ferbench.report.build import build_report
from ferbench.rundir import read_metrics
from ferbench.train.grid import run_grid
from ferbench.train.spec import GridSpec

# Small enough for ~2 minutes on 2 CPU cores, large enough that the test split (whole subjects)
# gives accuracies with a usable spread.
DEMO_STORE = {"subjects": 40, "per_class": 6, "size": 48}
DEMO_GRID = GridSpec(
    name="demo",
    datasets=["synthetic"],
    archs=["vgg_tiny", "resnet_tiny"],
    attentions=["none", "se"],
    activations=["relu", "elu"],
    seeds=[0],
    protocol="split",
    # A light augmentation: at a dozen epochs on ~1,000 images the default (erasing, ±10° rotation)
    # under-fits; the demo shows the pipeline, the full recipe is for real runs.
    train={"epochs": 12, "batch_size": 64, "lr": 3e-3, "patience": None,
           "augment": {"translate": 0.05, "rotate": 5.0, "scale": 0.05, "erase_p": 0.0}},
)
# The third document's sizes that fit a 48 px store, plus the sizes below 16 px where cues vanish.
DEMO_SIZES = [48, 32, 28, 24, 16, 14, 12, 8]
DEMO_METHODS = ["cubic", "linear", "lanczos4", "cubic-linear"]


@dataclass
class DemoResult:
    out: Path
    store: Path
    runs: list[Path]
    reports: dict[str, Path]
    seconds: float
    accuracies: dict[str, float] = field(default_factory=dict)


def run_demo(out: str | Path = Path("results/demo"), *, device: str = "cpu", seed: int = 0,
             epochs: int | None = None, console: Console | None = None) -> DemoResult:
    """Run the whole pipeline under ``out``; returns where everything went."""
    start = time.perf_counter()
    out = Path(out)
    say = console.print if console else (lambda *a, **k: None)
    data_dir = out / "data"
    store_dir = data_dir / "synthetic"
    prepared = prepare("synthetic", data_dir=data_dir, seed=seed, **DEMO_STORE)
    store = prepared.store
    if prepared.already_prepared:
        say(f"[bold]1/4 prepare[/bold]  reusing {store_dir}")
    else:
        say(f"[bold]1/4 prepare[/bold]  drew the synthetic dataset into {store_dir}")
    say(f"           {len(store.images)} images, {store.meta['subject'].nunique()} subjects, "
        f"{store.num_classes} classes; subject-disjoint splits: {store.card['checks']['split_subject_disjoint']}")

    spec = GridSpec.from_dict({**DEMO_GRID.to_dict(), "seeds": [seed]})
    if epochs is not None:
        spec.train = {**spec.train, "epochs": epochs}
    say(f"[bold]2/4 grid[/bold]     {len(spec.archs)} archs × {len(spec.attentions)} attentions × "
        f"{len(spec.activations)} activations, {spec.train['epochs']} epochs each")
    runs_root = out / "runs"
    runs = run_grid(spec, out=runs_root, data_dir=data_dir, device=device, quiet=console is None,
                    console=console, command="ferbench demo")

    say("[bold]3/4 probes[/bold]   resolution sweep and child/adult subgroups on every cell (reused where current)")
    for run in runs:
        resize_sweep(run, DEMO_SIZES, DEMO_METHODS, device=device, seed=seed, reuse=True)
        subgroups(run, meta_column="group", seed=seed, reuse=True)

    say("[bold]4/4 report[/bold]")
    reports = build_report(runs_root, out / "report", formats=("markdown", "latex", "html"))
    metrics = [read_metrics(run) for run in runs]
    accuracies = {m["cell"]: m["accuracy"] for m in metrics}
    return DemoResult(out=out, store=store_dir, runs=runs, reports=dict(reports),
                      seconds=time.perf_counter() - start, accuracies=accuracies)
