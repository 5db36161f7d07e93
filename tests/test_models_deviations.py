"""DEVIATIONS: one line per architecture that differs from its document, and the README says the same."""

from __future__ import annotations

import re
from pathlib import Path

from ferbench.models import DEVIATIONS, list_models

README = Path(__file__).resolve().parents[1] / "README.md"


def test_deviations_name_registered_archs_in_one_line_each():
    assert set(DEVIATIONS) <= set(list_models())
    assert all(isinstance(v, str) and v and "\n" not in v for v in DEVIATIONS.values())
    # the ones the documents' comparisons hinge on
    assert "from scratch at 48 px" in DEVIATIONS["emonet"] and "landmark" in DEVIATIONS["emonet"]
    assert "from scratch" in DEVIATIONS["ddamfn"] and "attention loss" in DEVIATIONS["ddamfn"]
    assert "every conv stage" in DEVIATIONS["vgg16"] and "every conv stage" in DEVIATIONS["vgg19"]
    assert "from scratch" in DEVIATIONS["efficientnet_b1"]


def test_readme_models_section_lists_every_deviation():
    text = README.read_text()
    section = re.search(r"### Models\n(.*?)\n### ", text, flags=re.S).group(1)
    listed = section[section.index("differ from the documents"):]
    for arch in DEVIATIONS:
        assert f"`{arch}`" in listed, arch
