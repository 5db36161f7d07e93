"""Shared fixtures: one small synthetic store per session (about a second to draw)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Two cores are shared by the whole suite; more torch threads than cores only adds contention.
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
