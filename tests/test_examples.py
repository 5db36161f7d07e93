"""Every `ferbench` example in README.md and in the commands' --help runs as pasted after the demo.

The examples are read out of the README's ```bash blocks and the commands' docstrings, then run in a
folder laid out as `ferbench demo` leaves it (a small synthetic store under results/demo/data, two
trained cells under results/demo/runs, benchmarks/ beside them). `grid` examples run as --dry-run
(the plan, not hours of training). The ones that need a download, a file of the user's or a long
run are listed in NOT_RUN with the reason; a new example must either run here or be listed there.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ferbench.cli import app

REPO = Path(__file__).resolve().parents[1]

# example (as written) -> why this test does not run it
NOT_RUN = {
    "ferbench prepare fer2013 --root ~/Downloads/fer2013": "the FER2013 download",
    "ferbench prepare ckplus --root ~/Downloads/CK+48": "the CK+ download",
    "ferbench prepare jaffe --root ~/Downloads/jaffe": "the JAFFE download",
    "ferbench prepare rafdb --root ~/Downloads/RAF-DB/basic --channels 3": "the RAF-DB download",
    "ferbench prepare jaffe --root ../shared/datasets/jaffe/jaffe": "the JAFFE download",
    "ferbench prepare rafdb --root RAF-DB/basic --channels 3": "the RAF-DB download",
    "ferbench prepare expw --root ExpW/data --margin 0.1": "the ExpW download",
    "ferbench prepare kdef --root KDEF_and_AKDEF --angles S,HL,HR": "the KDEF download",
    "ferbench prepare oulu --root Oulu-CASIA --sensor VL --light Strong --neutral-frame": "the Oulu-CASIA download",
    "ferbench prepare affwild2 --root Aff-Wild2 --every 5 --channels 3": "the Aff-Wild2 download",
    "ferbench prepare ferplus --root ~/Downloads/FERPlus --label-mode majority": "the FERPlus download",
    "ferbench grid --datasets ckplus,jaffe --archs vgg19,resnet50 --attentions none,se,eca,cbam "
    "--activations elu --seeds 0,1,2": "the CK+ and JAFFE stores",
    "ferbench resize-sweep results/runs/default --interp cubic,linear,lanczos4,cubic-linear": "the CK+/JAFFE grid",
    "ferbench subgroups results/runs/default --groups kids_adults.csv": "the CK+/JAFFE grid and a groups CSV",
    "ferbench corrupt results/runs/default": "the CK+/JAFFE grid",
    "ferbench gradcam results/runs/default/ckplus/resnet50-cbam-elu/s0/f0 --n 16": "the CK+/JAFFE grid",
    "ferbench report results/runs --format markdown,latex": "the CK+/JAFFE grid",
    "ferbench train --dataset ckplus --arch resnet50 --attention cbam --activation elu --fold 3": "a CK+ store",
    "ferbench train --dataset fer2013 --arch resnet18 --pretrained resnet18_weights.safetensors --name ft":
        "a FER2013 store and downloaded weights",
    "ferbench prepare fer2013 --root ../shared/datasets/fer2013": "the FER2013 download",
    "ferbench prepare ferplus --root ../shared/datasets/ferplus --label-mode probability": "the FERPlus download",
    "ferbench prepare ckplus --root ../shared/datasets/ckplus --folds 10": "the CK+ download",
    "ferbench prepare jaffe --root jaffedbase --detect yunet --detector-model yunet.onnx --align":
        "the JAFFE download and the YuNet model",
    "ferbench prepare folder --root my_faces --class-map mad=anger,glad=happiness": "a folder of the user's faces",
    "ferbench prepare folder --root my_faces --classes anger,happiness,sadness": "a folder of the user's faces",
    "ferbench subgroups results/runs/ferplus --groups kids_adults.csv": "a FERPlus grid and a groups CSV",
    "ferbench eval results/crossdata-cpu/runs --dataset jaffe --split all --data-dir data":
        "a JAFFE store and the FER2013 run's weights",
    "ferbench train --dataset fer2013 --arch mini_xception --recipe cpu-fer --device cpu "
    "--name cpu-fer":
        "a FER2013 store (results/fer2013-cpu-recipe/command.sh is this run)",
    "ferbench report results/fer2013-cpu-ablation/runs results/fer2013-cpu-recipe/runs --baseline bf16":
        "the committed FER2013 runs of this repository (test_report.py runs --baseline on generated runs)",
    "ferbench predict results/demo/runs/synthetic/resnet_tiny-none-relu/s0 photo.jpg --annotate annotated/":
        "a photo of the user's (test_predict.py runs predict)",
    "ferbench predict RUN faces/ --detect none --format csv --out predictions.csv":
        "a folder of the user's face crops (test_predict.py runs this path)",
    "ferbench predict RUN clip.mp4 --every 5 --format jsonl --backend onnx":
        "a video of the user's (test_predict.py runs a generated one)",
    "ferbench live results/demo/runs/synthetic/resnet_tiny-none-relu/s0 --camera 0 --smooth 5":
        "a camera and a display",
    "ferbench live RUN --video clip.mp4 --no-window --annotate annotated.mp4":
        "a video of the user's (test_predict.py runs a generated one headless)",
    "ferbench demo": "the demo itself (CI runs it; test_cli.py runs it with --epochs 2)",
    "ferbench demo --out /tmp/ferbench-demo --epochs 3": "the demo itself (test_cli.py runs it with --epochs 2)",
    "ferbench models": "about a minute on 2 cores (every model is built); the slow test below runs it",
    "ferbench models --size 48": "about a minute on 2 cores (every model is built); the slow test below runs it",
    "ferbench models --filter resnet --size 96 --channels 3": "half a minute on 2 cores; the slow test runs it",
}


def _readme_examples() -> list[str]:
    text = (REPO / "README.md").read_text()
    found = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = " ".join(re.sub(r"\s+#.*$", "", line).split())
            if line.startswith("ferbench "):
                found.append(line)
    return found


def _help_examples() -> list[str]:
    found = []
    for command in app.registered_commands:
        for line in (command.callback.__doc__ or "").splitlines():
            line = line.strip().removeprefix("* ").strip("`")
            if line.startswith("ferbench "):
                found.append(" ".join(line.split()))
    return found


EXAMPLES = list(dict.fromkeys(_readme_examples() + _help_examples()))


def test_every_example_is_run_here_or_listed_with_its_reason():
    assert len(EXAMPLES) > 25
    assert not set(NOT_RUN) - set(EXAMPLES), "NOT_RUN lists examples that no longer exist"


@pytest.fixture(scope="module")
def demo_like(tmp_path_factory, synthetic_store):
    """A folder laid out as `ferbench demo` leaves it: results/demo/{data,runs} with the demo's cells (one
    epoch each, on the small test store), plus benchmarks/."""
    from ferbench.demo import DEMO_GRID
    from ferbench.train.grid import run_grid
    from ferbench.train.spec import GridSpec

    root = tmp_path_factory.mktemp("demo_like")
    shutil.copytree(synthetic_store.root, root / "results/demo/data/synthetic")
    spec = GridSpec.from_dict({**DEMO_GRID.to_dict(), "train": {"epochs": 1, "batch_size": 32}})
    run_grid(spec, out=root / "results/demo/runs", data_dir=root / "results/demo/data", device="cpu", quiet=True)
    (root / "benchmarks").symlink_to(REPO / "benchmarks")
    return root


def _args(example: str) -> list[str]:
    args = shlex.split(example)[1:]
    if args[0] == "grid" and "--dry-run" not in args:
        args.append("--dry-run")
    return args


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e not in NOT_RUN])
def test_example_runs_as_pasted(example, demo_like, monkeypatch):
    monkeypatch.chdir(demo_like)
    res = CliRunner().invoke(app, _args(example))
    assert res.exit_code == 0, f"{example}\n{res.output}"


@pytest.mark.slow
@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.startswith("ferbench models")])
def test_model_zoo_examples_run_as_pasted(example):
    res = CliRunner().invoke(app, _args(example))
    assert res.exit_code == 0, f"{example}\n{res.output}"
