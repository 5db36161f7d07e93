"""Shared fixtures: one small synthetic store per session (about a second to draw)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Two cores are shared by the whole suite; more torch threads than cores only adds contention.
# `OMP_NUM_THREADS=2 python -m pytest ...` runs it with another reduction order (a stand-in for another
# CPU's kernels); the suite must stay green under both, so no assertion may hinge on the last digits.
os.environ.setdefault("OMP_NUM_THREADS", "1")


REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = REPO.parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def synthetic_store(tmp_path_factory):
    """A small synthetic store (20 subjects x 7 classes x 4 images, 48 px) shared by tests."""
    from ferbench.data.synthetic import prepare

    return prepare(tmp_path_factory.mktemp("stores") / "synthetic", n_subjects=20, per_class=4)


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """``../shared/datasets`` beside the repo; tests using it skip when it is absent."""
    if not SHARED_DATASETS.is_dir():
        pytest.skip(f"real datasets not found at {SHARED_DATASETS}")
    return SHARED_DATASETS


@pytest.fixture(scope="session")
def learnable_store(tmp_path_factory):
    """40 subjects x 7 classes x 6 images: enough test subjects (6, 252 images) to tell learning from chance."""
    from ferbench.data.synthetic import prepare

    return prepare(tmp_path_factory.mktemp("learn") / "data" / "synthetic", n_subjects=40, per_class=6, seed=0)
