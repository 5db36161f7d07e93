"""``ferbench report``: runs and probes as the documents' tables and figures, beside what they reported.

``build_report(results_dir, out_dir, formats=("markdown", "latex"))`` is the one entry point; the
pieces are :mod:`.collect` (run dirs → DataFrames), :mod:`.tables`, :mod:`.figures` and
:mod:`.reported` (the documents' numbers, ``reported.csv``).
"""

from ferbench.report.build import FORMATS, ReportPaths, build_report, parse_formats
from ferbench.report.collect import Collection, ReportError, collect
from ferbench.report.reported import compare, load_reported

__all__ = [
    "FORMATS",
    "Collection",
    "ReportError",
    "ReportPaths",
    "build_report",
    "collect",
    "compare",
    "load_reported",
    "parse_formats",
]
