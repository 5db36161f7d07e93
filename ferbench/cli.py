"""The ``ferbench`` command line: parse options, call one function, print the result.

No logic lives here; each command calls into its package (data/, models/, train/, probes/, report/).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from ferbench.errors import FerbenchError

console = Console()
err_console = Console(stderr=True)


class _FerbenchGroup(TyperGroup):
    """Turns a user mistake (:class:`FerbenchError`) into one red line and exit code 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except FerbenchError as err:
            err_console.print(f"[red]error:[/red] {escape(str(err))}", soft_wrap=True, highlight=False)
            raise typer.Exit(2) from None


app = typer.Typer(
    name="ferbench",
    cls=_FerbenchGroup,
    help="Reproducible, fast benchmarking for facial expression recognition.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
)

DATA_DIR = typer.Option(Path("data"), "--data-dir", help="Where prepared stores live.")
DEVICE = typer.Option("auto", "--device", help="auto | cpu | cuda")
SEED = typer.Option(0, "--seed", min=0, help="Random seed (>= 0).")


# ---- commands ------------------------------------------------------------------------------------


# ---- train / grid (ferbench.train) ------------------------------------------------------------------

_EPOCHS = typer.Option(None, "--epochs", help="Epochs (default 30; early stopping on val, patience 10).")
_BATCH = typer.Option(None, "--batch-size", help="Batch size (default 512 on CUDA, 64 on CPU).")
_LR = typer.Option(None, "--lr", help="Peak learning rate (default 1e-3).")
_OPTIM = typer.Option(None, "--optimizer", help="sgd | adam | adamw (default adamw).")
_SCHED = typer.Option(None, "--scheduler", help="cosine | step | cosine_restarts | onecycle | constant.")
_SIZE = typer.Option(None, "--size", help="Input side in px (default: the store's, >= the arch's native).")
_CHANNELS = typer.Option(None, "--channels", help="1 (gray) or 3 (RGB) (default: the store's).")
_COMPILE = typer.Option(None, "--compile/--no-compile", help="torch.compile the model (default off).")
_NAME = typer.Option(None, "--name", help="Grid name: runs go to results/runs/NAME/ (default 'default').")
_RUNS_OUT = typer.Option(None, "--out", help="Runs root (default results/runs/NAME).")
_QUIET = typer.Option(False, "--quiet", help="No progress output (bars on a terminal, one line per epoch elsewhere).")
_FORCE = typer.Option(False, "--force", help="Retrain the selected cells from scratch, also finished ones and ones "
                      "recorded with other options, into the same run directories.")
_PRETRAINED = typer.Option(
    None, "--pretrained", exists=True, dir_okay=False,
    help="Start from this local checkpoint (a ferbench .safetensors or timm weights); nothing is downloaded. "
         "Use --name to keep such runs apart from runs trained from scratch.",
)
# issue 19: named training recipes (ferbench/train/recipe.py RECIPES); the options above override them
_RECIPE = typer.Option(None, "--recipe", help="Named recipe: default | cpu-fer (FER on a CPU: 30 epochs, batch 128, "
                       "lr 2e-3, bf16, light augmentation, no label smoothing or early stop, flip TTA); "
                       "options given beside it override it.")


def _train_overrides(epochs, batch_size, lr, optimizer, scheduler, size, channels, compile_) -> dict:
    opts = dict(epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer, scheduler=scheduler,
                size=size, channels=channels, compile=compile_)
    return {k: v for k, v in opts.items() if v is not None}


def _resumable_run(fn, **kwargs):
    """Ctrl-C or SIGTERM: one line saying what is kept and the command that resumes; exit 128 + signal."""
    from ferbench.train.faults import stop_message

    try:
        return fn(**kwargs)
    except KeyboardInterrupt as err:
        text, code = stop_message(err)
        err_console.print(f"[yellow]{escape(text)}[/yellow]", soft_wrap=True, highlight=False)
        raise typer.Exit(code) from None


def _print_runs(run_dirs) -> None:
    from ferbench.report.summary import summarize, summarize_cells
    from ferbench.terminal import print_table

    print_table(console, ["cell", "n test", "accuracy", "macro-F1", "epochs (best)", "train s"],
                [[escape(r["cell"]), str(r["n_test"]), f"{r['accuracy']:.4f}", f"{r['macro_f1']:.4f}",
                  f"{r['epochs']} ({r['best_epoch']})", f"{r['seconds']:.1f}"] for r in summarize(run_dirs)])
    pooled = [r for r in summarize_cells(run_dirs) if r["n"] > 1]
    if pooled:
        print_table(console, ["model (over seeds × folds)", "n", "accuracy", "macro-F1"],
                    [[escape(r["model"]), str(r["n"]), f"{r['accuracy_mean']:.4f} ± {r['accuracy_std']:.4f}",
                      f"{r['macro_f1_mean']:.4f} ± {r['macro_f1_std']:.4f}"] for r in pooled])


@app.command("train")
def train_cmd(
    dataset: str = typer.Option(..., "--dataset", help="Store name under --data-dir."),
    arch: str = typer.Option(..., "--arch", help="Architecture (see `ferbench models`)."),
    attention: str = typer.Option("default", "--attention", help="default (the arch's) | none | se | cbam."),
    activation: str = typer.Option("default", "--activation", help="default (the arch's) | relu | elu | ..."),
    seed: int = SEED,
    fold: int = typer.Option(None, "--fold", help="Only this fold of a k-fold store (default: every fold)."),
    protocol: str = typer.Option("auto", "--protocol", help="auto | split | kfold."),
    heads: str = typer.Option("cls", "--heads", help="cls | cls+va (multi-task valence/arousal)."),
    epochs: int = _EPOCHS, batch_size: int = _BATCH, lr: float = _LR, optimizer: str = _OPTIM,
    scheduler: str = _SCHED, size: int = _SIZE, channels: int = _CHANNELS, compile_: bool = _COMPILE,
    name: str = _NAME, out: Path = _RUNS_OUT, data_dir: Path = DATA_DIR, device: str = DEVICE,
    pretrained: Path = _PRETRAINED, quiet: bool = _QUIET, force: bool = _FORCE, recipe: str = _RECIPE,
):
    """Train one cell (every fold of it for k-fold stores) and write its run directory.

    Re-running the same command skips a finished cell and resumes an interrupted one; a cell trained
    with other options is refused, naming them (--force retrains it, or pick another --name/--out).

    **Examples**

        ferbench train --dataset synthetic --data-dir results/demo/data --arch resnet_tiny --epochs 5 --device cpu

        ferbench train --dataset ckplus --arch resnet50 --attention cbam --activation elu --fold 3

        ferbench train --dataset fer2013 --arch resnet18 --pretrained resnet18_weights.safetensors --name ft

        ferbench train --dataset fer2013 --arch mini_xception --recipe cpu-fer --device cpu --name cpu-fer
    """
    from ferbench.train.grid import run_grid
    from ferbench.train.spec import GridSpec

    train = _train_overrides(epochs, batch_size, lr, optimizer, scheduler, size, channels, compile_)
    spec = GridSpec(name=name or "default", datasets=[dataset], archs=[arch], attentions=[attention],
                    activations=[activation], seeds=[seed], protocol=protocol, heads=heads, train=train,
                    recipe=recipe or "default",
                    model_kwargs={"pretrained": str(pretrained)} if pretrained else {})
    runs = _resumable_run(run_grid, spec=spec, out=out, data_dir=data_dir, device=device, quiet=quiet,
                          console=console, folds=None if fold is None else [fold], force=force)
    _print_runs(runs)


def _csv(value: str | None, cast=str) -> list | None:
    return None if value is None else [cast(v.strip()) for v in value.split(",") if v.strip()]


@app.command("grid")
def grid_cmd(
    grid: Path = typer.Option(None, "--grid", help="Grid file (.toml/.yaml); options below override it."),
    datasets: str = typer.Option(None, "--datasets", help="Comma-separated store names."),
    archs: str = typer.Option(None, "--archs", help="Comma-separated architectures."),
    attentions: str = typer.Option(None, "--attentions", help="Comma-separated (default: the arch's)."),
    activations: str = typer.Option(None, "--activations", help="Comma-separated (default: the arch's)."),
    seeds: str = typer.Option(None, "--seeds", help="Comma-separated seeds (default 0)."),
    protocol: str = typer.Option(None, "--protocol", help="auto | split | kfold (default auto)."),
    heads: str = typer.Option(None, "--heads", help="cls | cls+va (default cls)."),
    epochs: int = _EPOCHS, batch_size: int = _BATCH, lr: float = _LR, optimizer: str = _OPTIM,
    scheduler: str = _SCHED, size: int = _SIZE, channels: int = _CHANNELS, compile_: bool = _COMPILE,
    name: str = _NAME, out: Path = _RUNS_OUT, data_dir: Path = DATA_DIR, device: str = DEVICE,
    dry_run: bool = typer.Option(False, "--dry-run", help="List cells and an estimated time; train nothing."),
    filter_: str = typer.Option(None, "--filter", help="Only cells whose id matches these globs (a,b)."),
    pretrained: Path = _PRETRAINED, quiet: bool = _QUIET, force: bool = _FORCE,
    executor: str = typer.Option("local", "--executor", help="local (one cell after another) | ray (a task per cell)."),
    ray_address: str = typer.Option(
        None, "--ray-address", help="ray: 'auto' or ray://HOST:10001 joins a cluster [default: a local instance]."),
    gpus_per_cell: float = typer.Option(
        None, "--gpus-per-cell", help="ray: GPUs per cell; 0.25 packs 4 per GPU [default: 1 if any GPU, else 0]."),
    cpus_per_cell: float = typer.Option(None, "--cpus-per-cell", help="ray: CPU cores per cell [default: 1]."),
    retries: int = typer.Option(
        2, "--retries", min=0, help="Times a crashed cell (its Ray worker killed...) is retried from its last epoch."),
    recipe: str = _RECIPE,
):
    """Train every cell of datasets × archs × attentions × activations × seeds (× folds), resumably.

    Finished cells with the same options are skipped and an interrupted cell resumes from its last epoch;
    a cell on disk trained with other options is refused before anything trains, naming them (--force
    retrains it, or pick another --name/--out). With --executor ray every node must see --data-dir and
    --out at the same path (a shared filesystem).

    **Examples**

        ferbench grid --datasets synthetic --data-dir results/demo/data --archs resnet_tiny,vgg_tiny --seeds 0,1

        ferbench grid --grid benchmarks/grids/doc1.toml --dry-run

        ferbench grid --grid benchmarks/grids/doc1.toml --filter "fer2013/resnet50-*"

        ferbench grid --grid benchmarks/grids/doc1.toml --executor ray --ray-address auto --gpus-per-cell 0.5
    """

    from ferbench.train.grid import run_grid
    from ferbench.train.plan import plan, plan_summary
    from ferbench.train.spec import GridSpec, load_grid_file

    spec = load_grid_file(grid) if grid is not None else GridSpec()
    lists = {"datasets": _csv(datasets), "archs": _csv(archs), "attentions": _csv(attentions),
             "activations": _csv(activations), "seeds": _csv(seeds), "protocol": protocol,
             "heads": heads, "name": name, "recipe": recipe}
    for key, value in lists.items():
        if value is not None:
            setattr(spec, key, value)
    spec.train.update(_train_overrides(epochs, batch_size, lr, optimizer, scheduler, size, channels,
                                       compile_))
    if pretrained:
        spec.model_kwargs["pretrained"] = str(pretrained)
    if dry_run:
        from ferbench.terminal import print_table

        rows, total = plan(spec, out=out, data_dir=data_dir, device=device, filter=filter_, force=force)
        print_table(console, ["cell", "status", "est. time"],
                    [[escape(r["cell"]), escape(r["status"]), r["estimate"]] for r in rows])
        console.print(escape(plan_summary(rows, total, data_dir)), highlight=False)
        return
    ray_options = {"address": ray_address, "gpus_per_cell": gpus_per_cell, "cpus_per_cell": cpus_per_cell}
    runs = _resumable_run(run_grid, spec=spec, out=out, data_dir=data_dir, device=device, quiet=quiet,
                          console=console, filter=filter_, executor=executor, ray_options=ray_options, force=force,
                          retries=retries)
    _print_runs(runs)


# ---- data: prepare / datasets (owned by the data agent) -------------------------------------------
@app.command("prepare")
def prepare_cmd(
    name: str = typer.Argument(
        ..., help="fer2013 | ferplus | ckplus | jaffe | affectnet | folder | rafdb | sfew | expw | kdef | oulu | "
                  "affwild2 | synthetic"),
    root: Path | None = typer.Option(
        None, "--root", help="The downloaded dataset folder (not for synthetic)."),
    out: Path | None = typer.Option(None, "--out", help="Store directory [default: DATA_DIR/NAME]."),
    data_dir: Path = DATA_DIR,
    size: int | None = typer.Option(
        None, "--size", help="Output side in px [default: the dataset's, mostly 48]."),
    channels: int = typer.Option(1, "--channels", help="1 = gray, 3 = RGB."),
    split: str = typer.Option(
        "official", "--split", help="official | subject:TRAIN/VAL/TEST (e.g. subject:70/20/10)."),
    folds: int | None = typer.Option(
        None, "--folds", help="Subject-grouped folds [default: 10 for ckplus/jaffe/kdef/oulu]."),
    detect: str | None = typer.Option(
        None, "--detect",
        help="none | haar | yunet | retinaface | mtcnn [default: haar for jaffe/kdef/oulu (whole frames), else none]."),
    detector_model: Path | None = typer.Option(
        None, "--detector-model", help="YuNet .onnx for --detect yunet."),
    margin: float = typer.Option(
        0.2, "--margin", help="Face box growth per side, as a fraction of its size."),
    align: bool = typer.Option(False, "--align/--no-align", help="Level the eyes where landmarks exist."),
    on_miss: str = typer.Option("keep", "--on-miss", help="No face found: keep (whole image) | skip | fail."),
    dedupe: bool = typer.Option(
        False, "--dedupe", help="Drop train images whose exact pixels are in val/test."),
    label_mode: str = typer.Option(
        "majority", "--label-mode", help="ferplus: majority (reference rule) | plurality | probability."),
    class_map: str | None = typer.Option(
        None, "--class-map", help="Rename classes: old=new,... (e.g. mad=anger)."),
    classes: str | None = typer.Option(
        None, "--classes", help="Keep only these classes: a,b,c (others dropped and counted) [default: all]."),
    val_fraction: float = typer.Option(
        0.1, "--val-fraction", help="Share of train carved as val where needed."),
    neutral_frame: bool = typer.Option(
        False, "--neutral-frame", "--ck-neutral", help="ckplus original, oulu: add first frames as neutral."),
    images: str = typer.Option("aligned", "--images", help="rafdb: aligned | original (needs --detect)."),
    min_confidence: float | None = typer.Option(
        None, "--min-confidence", help="expw: drop faces whose confidence (the label file's own scale) is below this."),
    angles: str = typer.Option("S", "--angles", help="kdef: comma list of FL,HL,S,HR,FR (S = frontal)."),
    light: str = typer.Option("Strong", "--light", help="oulu: Strong | Weak | Dark."),
    sensor: str = typer.Option("VL", "--sensor", help="oulu: VL (visible) | NI (near-infrared)."),
    every: int = typer.Option(1, "--every", help="affwild2: keep every Nth frame of each video."),
    subjects: int = typer.Option(60, "--subjects", help="synthetic: number of subjects."),
    per_class: int = typer.Option(8, "--per-class", help="synthetic: images per class per subject."),
    workers: int | None = typer.Option(None, "--workers", help="Decoding threads [default: CPU cores]."),
    force: bool = typer.Option(False, "--force", help="Rebuild an existing store."),
    seed: int = SEED,
):
    """Read a downloaded dataset and write the canonical prepared store.

    Examples:

        ferbench prepare fer2013 --root ../shared/datasets/fer2013

        ferbench prepare ferplus --root ../shared/datasets/ferplus --label-mode probability

        ferbench prepare ckplus --root ../shared/datasets/ckplus --folds 10

        ferbench prepare jaffe --root ../shared/datasets/jaffe/jaffe

        ferbench prepare jaffe --root jaffedbase --detect yunet --detector-model yunet.onnx --align

        ferbench prepare rafdb --root RAF-DB/basic --channels 3

        ferbench prepare expw --root ExpW/data --margin 0.1

        ferbench prepare kdef --root KDEF_and_AKDEF --angles S,HL,HR

        ferbench prepare oulu --root Oulu-CASIA --sensor VL --light Strong --neutral-frame

        ferbench prepare affwild2 --root Aff-Wild2 --every 5 --channels 3

        ferbench prepare folder --root my_faces --class-map mad=anger,glad=happiness

        ferbench prepare folder --root my_faces --classes anger,happiness,sadness

        ferbench prepare synthetic --subjects 20 --per-class 4
    """

    from ferbench.data.prepare import notes, prepare, summary

    result = prepare(name, root, out, data_dir=data_dir, subjects=subjects, per_class=per_class, size=size,
                     channels=channels, split=split, folds=folds, detect=detect,
                     detector_model=detector_model, margin=margin, align=align, on_miss=on_miss,
                     dedupe=dedupe, label_mode=label_mode, class_map=class_map, classes=classes,
                     val_fraction=val_fraction,
                     neutral_frame=neutral_frame, images=images, min_confidence=min_confidence, angles=angles,
                     light=light, sensor=sensor, every=every, workers=workers, force=force, seed=seed)
    store = result.store
    if result.already_prepared:
        console.print(f"{escape(str(store.root))} is already prepared ({store.card.get('num_images')} "
                      "images); nothing to do (pass --force to rebuild)")
        return
    from ferbench.terminal import print_table

    counts = summary(store)
    print_table(console, ["class", *map(str, counts.columns)],
                [[escape(str(cls)), *(str(v) for v in row)] for cls, row in counts.iterrows()],
                title=escape(f"{store.name}: images per split"))
    for line in notes(store):
        warn = line.startswith("warning: ")
        console.print(("[yellow]warning:[/yellow] " if warn else "") + escape(line.removeprefix("warning: ")),
                      highlight=False)


@app.command("datasets")
def datasets_cmd(data_dir: Path = DATA_DIR):
    """List the supported datasets (layouts, classes) and which are prepared under --data-dir.

    Examples:

        ferbench datasets

        ferbench datasets --data-dir /scratch/ferbench-data
    """

    from ferbench.data.prepare import list_datasets
    from ferbench.terminal import print_table

    rows = []
    for row in list_datasets(data_dir):
        prep = row["prepared"]
        done = "-" if prep is None else f"{prep['num_images']} images: " + ", ".join(
            f"{s} {n}" for s, n in prep["counts"].items())
        if prep and prep["folds"]:
            done += f"; {prep['folds']} folds"
        rows.append([row["name"], escape("\n".join(row["layouts"])), ", ".join(row["classes"]),
                     escape(row["protocol"]), done])
    print_table(console, ["dataset", "layouts (--root)", "classes", "protocol",
                          f"prepared in {escape(str(data_dir))}"], rows)


# ---- models (owned by the models agent) ----------------------------------------------------------
@app.command("models")
def models_cmd(
    size: int = typer.Option(48, "--size", help="Input side in pixels for the MACs column."),
    channels: int = typer.Option(1, "--channels", help="Input channels: 1 = gray, 3 = RGB."),
    filter_: str | None = typer.Option(None, "--filter", help="Keep names/families with TEXT (or a glob)."),
):
    """List the model zoo: family, parameters and MACs at --size, accepted attentions and activations.

    Examples:

        ferbench models

        ferbench models --filter resnet --size 96 --channels 3
    """

    from ferbench.models import ACTIVATIONS, ATTENTIONS
    from ferbench.models.summary import zoo_table
    from ferbench.terminal import print_table

    df = zoo_table(img_size=size, in_chans=channels, filter=filter_)

    def _axis(accepted: str, default: str, full: tuple[str, ...]) -> str:
        return f"[bold]{default}[/bold] (" + ("all" if tuple(accepted.split(",")) == full else accepted) + ")"

    rows = [[r.name, r.family, f"{r.params / 1e6:.2f}M", f"{r.macs / 1e6:.1f}M",
             _axis(r.attentions, r.default_attention, ATTENTIONS),
             _axis(r.activations, r.default_activation, ACTIVATIONS), str(r.default_img_size)]
            for r in df.itertuples()]
    print_table(console, ["model", "family", "params", f"MACs @{size}px", "attention", "activation", "default px"],
                rows, title=f"ferbench model zoo ({channels}-channel input, 7 classes)",
                caption=f"all = attention {'|'.join(ATTENTIONS)}; activation {'|'.join(ACTIVATIONS)}; "
                        "[bold]bold[/bold] = default")


# ---- probes: resize-sweep / subgroups / corrupt / gradcam (ferbench.probes) ----------------------
_PROBE_RUNS = typer.Argument(..., help="Run directories, or runs roots searched for finished cells.")
_PROBE_OUT = typer.Option(None, "--out", help="Write to OUT/CELL_ID/ instead of RUN/probes/.")
_PROBE_DATA = typer.Option(None, "--data-dir", help="Where the run's store is prepared (by its dataset name) "
                           "[default: the data dir the run recorded].")


def _finished_runs(runs: list[Path]) -> list[Path]:
    """The finished runs under ``runs``; unfinished cells are skipped and counted, never silently."""
    from ferbench.rundir import find_runs

    found = find_runs(runs)
    if found.unfinished:
        names = ", ".join(str(p) for p in found.unfinished[:3]) + (", ..." if len(found.unfinished) > 3 else "")
        err_console.print(f"[yellow]warning:[/yellow] skipped {len(found.unfinished)} unfinished cell(s) "
                          f"(no metrics.json yet): {escape(names)}", soft_wrap=True, highlight=False)
    return found


def _probe_table(df, title: str, pct: bool = True) -> None:
    """A DataFrame as a table that fits the terminal; floats as percentages (accuracies) or 3 decimals."""
    from ferbench.terminal import print_table

    head = [escape(str(df.index.name or "")), *(escape(str(c)) for c in df.columns)]
    rows = [[escape(str(idx)), *((f"{100 * v:.2f}%" if pct else f"{v:.3f}") if isinstance(v, float) else str(v)
                                 for v in row)] for idx, *row in df.itertuples()]
    print_table(console, head, rows, title=escape(title))


@app.command("resize-sweep")
def resize_sweep_cmd(
    runs: list[Path] = _PROBE_RUNS,
    sizes: str = typer.Option(None, "--sizes", help="Comma-separated sides [default: 112,96,84,64,56,48,32,"
                              "28,16,14 plus the run's input size]."),
    interp: str = typer.Option("cubic,linear,lanczos4,cubic-linear", "--interp",
                               help="DOWN[-UP] specs, comma-separated: nearest|linear|cubic|area|lanczos4 "
                                    "(cubic = both cubic; cubic-linear = down cubic, up linear)."),
    out: Path = _PROBE_OUT, data_dir: Path = _PROBE_DATA, device: str = DEVICE, seed: int = SEED,
):
    """Downscale each test image to s×s and back to the model's input size, per interpolation; accuracy
    per (method, size) as the third document's table (methods × sizes), plus resize.csv and a plot.

    **Examples**

        ferbench resize-sweep results/demo/runs

        ferbench resize-sweep results/demo/runs/synthetic/resnet_tiny-none-relu/s0 --sizes 48,32,16

        ferbench resize-sweep results/demo/runs --interp cubic,area-cubic,nearest --data-dir results/demo/data
    """
    from ferbench.probes.resize import parse_sizes, resize_sweep, resize_table

    methods = [m.strip() for m in interp.split(",") if m.strip()]
    for run in _finished_runs(runs):
        df, d = resize_sweep(run, parse_sizes(sizes), methods, out=out, device=device, seed=seed, data_dir=data_dir)
        _probe_table(resize_table(df), f"{run} (n={df['n'].iloc[0]})")
        console.print(f"wrote {escape(str(d / 'resize.csv'))}, resize.md, resize.png", highlight=False)


@app.command("subgroups")
def subgroups_cmd(
    runs: list[Path] = _PROBE_RUNS,
    groups: Path = typer.Option(None, "--groups", help="CSV with a 'group' column and 'index' or 'source'."),
    groups_from_meta: str = typer.Option(None, "--groups-from-meta", help="Use this store meta column "
                                         "(the synthetic store's 'group' is child/adult)."),
    resamples: int = typer.Option(2000, "--resamples", help="Bootstrap resamples for the 95% intervals."),
    out: Path = _PROBE_OUT, data_dir: Path = _PROBE_DATA, device: str = DEVICE, seed: int = SEED,
):
    """Per-group counts, accuracy, balanced accuracy and confusion matrix, with bootstrap 95% intervals for
    each group's accuracy and for the differences between groups; warns on group×class cells under 10.

    **Examples**

        ferbench subgroups results/demo/runs --groups-from-meta group

        ferbench subgroups results/runs/ferplus --groups kids_adults.csv
    """
    from ferbench.probes.subgroups import subgroup_rows, subgroups

    for run in _finished_runs(runs):
        res, d = subgroups(run, groups_csv=groups, meta_column=groups_from_meta, out=out, resamples=resamples,
                           seed=seed, device=device, data_dir=data_dir)
        _probe_table(subgroup_rows(res).set_index("group"),
                     f"{run} (n={res['n_grouped']} grouped, {res['n_ungrouped']} ungrouped)")
        for dd in res["differences"]:
            console.print(f"{escape(dd['b'])} - {escape(dd['a'])}: {100 * dd['difference']:+.2f} points, "
                          f"95% CI [{100 * dd['ci_low']:+.2f}, {100 * dd['ci_high']:+.2f}]", highlight=False)
        for w in res["warnings"]:
            console.print(f"[yellow]warning:[/yellow] {escape(w)}", highlight=False)
        console.print(f"wrote {escape(str(d / 'subgroups.json'))}, subgroups.csv", highlight=False)


@app.command("corrupt")
def corrupt_cmd(
    runs: list[Path] = _PROBE_RUNS,
    corruptions: str = typer.Option("all", "--corruptions", help="Comma-separated: gaussian_noise, gaussian_"
                                    "blur, jpeg, brightness, contrast, occlude_eyes, occlude_mouth."),
    out: Path = _PROBE_OUT, data_dir: Path = _PROBE_DATA, device: str = DEVICE, seed: int = SEED,
):
    """Accuracy under common corruptions at 5 severities each, and the mean corruption accuracy relative to
    clean (corrupt.csv, corrupt_summary.csv, corrupt.png). Corruptions measured before for the same
    training at the same --seed stay in the table, so --corruptions a,b adds to it.

    **Examples**

        ferbench corrupt results/demo/runs

        ferbench corrupt results/demo/runs --corruptions occlude_eyes,occlude_mouth --seed 1
    """
    from ferbench.probes.corruptions import corrupt, parse_corruptions

    names = parse_corruptions(corruptions)
    for run in _finished_runs(runs):
        df, summary, d = corrupt(run, names, out=out, device=device, seed=seed, data_dir=data_dir)
        if "replaced" in df.attrs:
            err_console.print(f"[yellow]note:[/yellow] {escape(df.attrs['replaced'])}", soft_wrap=True,
                              highlight=False)
        clean = df.loc[df["corruption"] == "clean", "accuracy"].iloc[0]
        _probe_table(summary, f"{run} (n={df['n'].iloc[0]}, clean {100 * clean:.2f}%)")
        console.print(f"wrote {escape(str(d / 'corrupt.csv'))}, corrupt_summary.csv, corrupt.png",
                      highlight=False)


@app.command("gradcam")
def gradcam_cmd(
    run: Path = typer.Argument(..., help="One run directory."),
    n: int = typer.Option(16, "--n", help="Images per (class, correct/incorrect) grid."),
    out: Path = _PROBE_OUT, data_dir: Path = _PROBE_DATA, device: str = DEVICE, seed: int = SEED,
):
    """Grad-CAM overlays (PNG grids) of correctly and incorrectly classified test images per class, on the
    model's own cam_layer; DDAMFN also gets its attention maps.

    **Examples**

        ferbench gradcam results/demo/runs/synthetic/resnet_tiny-none-relu/s0 --n 16

        ferbench gradcam results/demo/runs/synthetic/vgg_tiny-none-relu/s0 --out figures --device cpu
    """
    from ferbench.probes.gradcam import gradcam
    from ferbench.terminal import print_table

    index, d = gradcam(run, n, out=out, device=device, seed=seed, data_dir=data_dir)
    print_table(console, ["class", "kind", "available", "shown", "file"],
                [[escape(str(r[0])), r[1], str(r[2]), str(r[3]), escape(str(r[4]))]
                 for r in index.itertuples(index=False)], title=escape(str(run)))
    console.print(f"wrote {escape(str(d / 'gradcam'))}/", highlight=False)


# ---- eval: cross-dataset evaluation (ferbench.probes.crossdata) ------------------------------------
@app.command("eval")
def eval_cmd(
    runs: list[Path] = _PROBE_RUNS,
    dataset: str = typer.Option(..., "--dataset", help="The prepared store to test on (its name under --data-dir)."),
    data_dir: Path = typer.Option(None, "--data-dir", help="Where that store is prepared "
                                  "[default: the data dir each run recorded]."),
    split: str = typer.Option("test", "--split", help="test (the store's test split) | all (every labelled image)."),
    device: str = DEVICE,
    force: bool = typer.Option(False, "--force", help="Evaluate again even when an up-to-date result exists."),
):
    """Test finished runs on another prepared store, classes matched by name: test images of a class the
    model lacks are excluded and counted. Results go to RUN/probes/eval-DATASET-SPLIT.json; `report` adds
    the train × test dataset accuracy matrix.

    **Examples**

        ferbench eval results/demo/runs --dataset synthetic --data-dir results/demo/data

        ferbench eval results/crossdata-cpu/runs --dataset jaffe --split all --data-dir data
    """
    from ferbench.probes.crossdata import evaluate

    for run in _finished_runs(runs):
        res, path = evaluate(run, dataset, data_dir=data_dir, split=split, device=device, force=force)
        skipped = ", ".join(f"{c} {n}" for c, n in res["excluded"].items())
        console.print(f"{escape(str(run))} on {escape(dataset)} ({split}): accuracy {100 * res['accuracy']:.2f}%, "
                      f"macro-F1 {100 * res['macro_f1']:.2f}% on n={res['n']} of {res['n_split']} images"
                      + (f"; excluded (class not in the model): {escape(skipped)}" if skipped else "")
                      + f" -> {escape(str(path))}", soft_wrap=True, highlight=False)


@app.command("report")
def report_cmd(
    results_dirs: list[Path] = typer.Argument(None, help="Folders searched (recursively) for runs "
                                              "(default results/runs); several are read as one collection."),
    fmt: str = typer.Option("markdown,latex", "--format",
                            help="markdown, latex, csv, html (one self-contained page) (comma list)."),
    out: Path = typer.Option(Path("results/reports"), "--out", help="Where the report is written."),
    filter_: str = typer.Option(None, "--filter", help="pandas query over the runs, or col=v1|v2,col=v."),
    group_by: str = typer.Option(None, "--group-by", help="Columns that identify a model (comma list)."),
    metric: str = typer.Option("accuracy", "--metric", help="Metric of the grid table and heat maps."),
    figures: bool = typer.Option(True, "--figures/--no-figures", help="Draw figures (PNG; PDF for LaTeX)."),
    baseline: str = typer.Option(None, "--baseline", help="A setup (the runs folder of one grid or recipe) to "
                                 "compare every other setup against, paired by seed and fold: an ablation table."),
):
    """Tables (the documents' layouts) and figures of every finished run, beside the documents' numbers.

    **Examples**

        ferbench report results/demo/runs --format markdown,latex --out results/reports/demo

        ferbench report results/demo/runs --format html --out results/demo/report

        ferbench report results/demo/runs --filter "arch == 'resnet_tiny' and activation == 'elu'" --format csv

        ferbench report results/demo/runs --group-by dataset,arch,attention,activation,seed --metric macro_f1

        ferbench report results/fer2013-cpu-ablation/runs results/fer2013-cpu-recipe/runs --baseline bf16
    """
    from ferbench.report import build_report

    dirs = list(results_dirs) if results_dirs else [Path("results/runs")]
    written = build_report(dirs if len(dirs) > 1 else dirs[0], out, fmt, filter=filter_, group_by=group_by,
                           metric=metric, figures=figures, baseline=baseline)
    for problem in written.problems:
        err_console.print(f"[yellow]warning:[/yellow] {escape(problem)}", soft_wrap=True, highlight=False)
    main = {k: v for k, v in written.items() if not k.startswith(("figure:", "csv:"))}
    n_fig = sum(k.startswith("figure:") for k in written)
    n_csv = sum(k.startswith("csv:") for k in written)
    for name, path in main.items():
        console.print(f"wrote {name}: {escape(str(path))}", highlight=False)
    console.print(f"{n_fig} figure file(s), {n_csv} CSV table(s) under {escape(str(out))}", highlight=False)


@app.command("demo")
def demo_cmd(
    out: Path = typer.Option(Path("results/demo"), "--out", help="Everything of the demo goes under DIR."),
    device: str = typer.Option("cpu", "--device", help="auto | cpu | cuda (the demo is sized for a CPU)."),
    seed: int = SEED,
    epochs: int | None = typer.Option(None, "--epochs", help="Override the demo's epochs per cell."),
):
    """Run every stage on the embedded synthetic dataset: prepare, grid, probes, report.

    Trains vgg_tiny and resnet_tiny × (none, se) × (relu, elu), sweeps the test resolution,
    compares children with adults, and writes Markdown + LaTeX reports and the HTML page. About 2–3 minutes on
    2 CPU cores; re-running reuses what is finished.

    **Examples**

    * `ferbench demo`
    * `ferbench demo --out /tmp/ferbench-demo --epochs 3`
    """
    from ferbench.demo import run_demo
    from ferbench.terminal import print_table

    res = run_demo(out, device=device, seed=seed, epochs=epochs, console=console)
    print_table(console, ["cell", "accuracy"], [[escape(c), f"{a:.1%}"] for c, a in res.accuracies.items()],
                title="test accuracy per cell (synthetic, subject-independent test split)")
    console.print(f"chance level: {1 / 7:.1%}")
    console.print(f"store:   {res.store}")
    console.print(f"runs:    {res.out / 'runs'}  ({len(res.runs)} cells; probes in each cell's probes/)")
    figures = [p for kind, p in res.reports.items() if kind.startswith("figure:")]
    for kind, path in res.reports.items():
        if not kind.startswith("figure:"):
            console.print(f"{kind + ':':<8} {path}")
    if figures:
        console.print(f"figures: {len(figures)} files in {figures[0].parent}")
    console.print(f"done in {res.seconds:.0f} s")


# ---- predict / live / export / runs / --version (ferbench.predict, ferbench.report.runs) ------------
_P_RUN = typer.Argument(..., help="A finished run directory (or a root holding exactly one run).")
_P_DETECT = typer.Option("yunet", "--detect", help="yunet (shipped) | haar | retinaface | mtcnn | none (inputs are "
                         "face crops already).")
_P_DETECTOR_MODEL = typer.Option(None, "--detector-model", help="Another YuNet .onnx [default: the one shipped].")
_P_BACKEND = typer.Option("torch", "--backend", help="torch (the checkpoint) | onnx (onnxruntime on RUN/model.onnx, "
                          "written by `ferbench export`).")
_P_DATA = typer.Option(None, "--data-dir", help="Where the run's store is prepared: its card says how faces were "
                       "cropped [default: the data dir the run recorded].")
_P_DEVICE = typer.Option("cpu", "--device", help="cpu | cuda | auto (torch backend).")


def _version(value: bool) -> None:
    if value:
        from ferbench import __version__

        console.print(f"ferbench {__version__}", highlight=False, soft_wrap=True)
        raise typer.Exit()


@app.callback()
def _main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")):
    """Reproducible, fast benchmarking for facial expression recognition."""


def _warn(lines) -> None:
    for line in lines:
        err_console.print(f"[yellow]warning:[/yellow] {escape(line)}", soft_wrap=True, highlight=False)


@app.command("predict")
def predict_cmd(
    run: Path = _P_RUN,
    inputs: list[Path] = typer.Argument(..., help="Image files, folders (searched recursively) or video files."),
    detect: str = _P_DETECT, detector_model: Path = _P_DETECTOR_MODEL, backend: str = _P_BACKEND,
    fmt: str = typer.Option("table", "--format", help="table | csv | jsonl."),
    out: Path = typer.Option(None, "--out", help="Write the rows to this file instead of the terminal."),
    annotate: Path = typer.Option(None, "--annotate", help="Write images (PNG) and videos (MP4) with boxes and "
                                  "labels drawn into this folder."),
    every: int = typer.Option(1, "--every", help="Videos: every Nth frame."),
    data_dir: Path = _P_DATA, device: str = _P_DEVICE,
):
    """Find the faces in images, folders or videos and classify each with a trained run: one row per face
    (file, frame, box, top class, class probabilities, valence/arousal when the model has them).

    Faces are cropped and preprocessed as the run's store was prepared (size, gray/RGB, margin, read from
    the run and its store's card). Images without a face get a row without a box; unreadable files are
    counted and listed.

    **Examples**

        ferbench predict results/demo/runs/synthetic/resnet_tiny-none-relu/s0 photo.jpg --annotate annotated/

        ferbench predict RUN faces/ --detect none --format csv --out predictions.csv

        ferbench predict RUN clip.mp4 --every 5 --format jsonl --backend onnx
    """
    from ferbench.predict.predict import format_rows, predict_files, write_rows
    from ferbench.terminal import print_table

    res = predict_files(run, inputs, detect=detect, detector_model=detector_model, backend=backend, device=device,
                        data_dir=data_dir, annotate=annotate, every=every)
    _warn(res.warnings)
    for name, reason in res.unreadable:
        _warn([f"{name}: {reason}"])
    if out is not None:
        write_rows(res, fmt, out)
        console.print(f"wrote {len(res.rows)} row(s) to {escape(str(out))}", highlight=False, soft_wrap=True)
    elif fmt == "table":
        df = res.frame()
        show = ["file", "frame", "x", "y", "w", "h", "class", "confidence"] + (["valence", "arousal"] if res.has_va
                                                                               else [])
        print_table(console, show, [["" if v is None or v != v else escape(str(v)) for v in r]
                                    for r in df[show].astype(object).itertuples(index=False)])
    else:
        print(format_rows(res, fmt), end="")
    if res.annotated:
        console.print(f"annotated: {len(res.annotated)} file(s) in {escape(str(annotate))}", highlight=False,
                      soft_wrap=True)
    err_console.print(escape(res.summary()), highlight=False, soft_wrap=True)


@app.command("live")
def live_cmd(
    run: Path = _P_RUN,
    camera: int = typer.Option(None, "--camera", help="Camera index (0 = the default webcam)."),
    video: Path = typer.Option(None, "--video", help="A video file instead of a camera."),
    window: bool = typer.Option(True, "--window/--no-window", help="Show the overlay window (needs a display)."),
    annotate: Path = typer.Option(None, "--annotate", help="Also write the annotated frames to this video (.mp4)."),
    smooth: int = typer.Option(1, "--smooth", help="Average each face's probabilities over its last N frames."),
    detect: str = _P_DETECT, detector_model: Path = _P_DETECTOR_MODEL, backend: str = _P_BACKEND,
    data_dir: Path = _P_DATA, device: str = _P_DEVICE,
):
    """Classify the faces of a camera or video frame by frame, with boxes, labels and the frame rate drawn.

    **Examples**

        ferbench live results/demo/runs/synthetic/resnet_tiny-none-relu/s0 --camera 0 --smooth 5

        ferbench live RUN --video clip.mp4 --no-window --annotate annotated.mp4
    """
    from ferbench.predict.video import live

    res = live(run, camera=camera, video=video, window=window, annotate=annotate, smooth=smooth, detect=detect,
               detector_model=detector_model, backend=backend, device=device, data_dir=data_dir)
    _warn(res.warnings)
    console.print(f"{res.frames} frame(s), {res.faces} face(s) ({res.frames_with_face} frame(s) with a face), "
                  f"{res.fps:.1f} frames/s" + (f"; wrote {escape(str(res.annotated))}" if res.annotated else ""),
                  highlight=False, soft_wrap=True)


@app.command("export")
def export_cmd(
    run: Path = typer.Argument(..., help="A finished run directory."),
    fmt: str = typer.Option("onnx", "--format", help="onnx | torchscript."),
    out: Path = typer.Option(None, "--out", help="Output file [default: RUN/model.onnx or RUN/model.torchscript.pt]."),
    data_dir: Path = _P_DATA,
):
    """Write the run's model as ONNX or TorchScript, after checking it against the checkpoint on the run's
    test images (max |logit difference| and argmax agreement, printed); refused below 99.9% agreement.

    **Examples**

        ferbench export results/demo/runs/synthetic/resnet_tiny-none-relu/s0 --format onnx

        ferbench export results/demo/runs/synthetic/resnet_tiny-none-relu/s0 --format torchscript --out model.pt
    """
    from ferbench.predict.export import export_run

    res = export_run(run, fmt, out=out, data_dir=data_dir)
    console.print(escape(res.line()), highlight=False, soft_wrap=True)
    console.print(f"wrote {escape(str(res.path))}", highlight=False, soft_wrap=True)


@app.command("runs")
def runs_cmd(
    root: Path = typer.Argument(Path("results/runs"), help="Folder searched (recursively) for run directories."),
    compare: tuple[str, str] | None = typer.Option(None, "--compare", help="Two runs (paths or cell ids) to show "
                                            "side by side: differing configuration and metrics."),
):
    """List the finished and unfinished runs under a folder (cell, dataset, epochs, test accuracy, date), or
    compare two of them.

    **Examples**

        ferbench runs results/demo/runs

        ferbench runs results/demo/runs --compare synthetic/resnet_tiny-none-relu/s0 synthetic/vgg_tiny-none-relu/s0
    """
    from ferbench.report.runs import compare_runs, list_runs
    from ferbench.terminal import print_table

    def cell(v) -> str:
        return "" if v is None or v != v else (f"{v:.4f}" if isinstance(v, float) else escape(str(v)))

    if compare:
        config, metrics = compare_runs(root, *compare)
        title = f"A = {metrics.attrs['a']}, B = {metrics.attrs['b']}"
        print_table(console, ["configuration", "A", "B"], [[cell(v) for v in r] for r in config.itertuples(index=False)]
                    or [["(identical)", "", ""]], title=escape(title))
        print_table(console, ["metric", "A", "B"], [[cell(v) for v in r] for r in metrics.itertuples(index=False)])
        return
    df = list_runs(root)
    if df.empty:
        console.print(f"no run directories under {escape(str(root))}", highlight=False, soft_wrap=True)
        return
    print_table(console, list(df.columns[:-1]), [[cell(v) for v in r[:-1]] for r in df.itertuples(index=False)])
    done = int((df["status"] == "finished").sum())
    console.print(f"{done} finished, {len(df) - done} unfinished or damaged, under {escape(str(root))}",
                  highlight=False, soft_wrap=True)
