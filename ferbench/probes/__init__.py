"""Robustness probes of finished runs — no retraining; results land in ``<run>/probes/``.

===================  ==========================================  =====================================
probe                function (one run)                          files
===================  ==========================================  =====================================
resolution sweep     :func:`ferbench.probes.resize.resize_sweep`  resize.csv, resize.md, resize.png
subgroups            :func:`ferbench.probes.subgroups.subgroups`  subgroups.json, subgroups.csv
corruptions          :func:`ferbench.probes.corruptions.corrupt`  corrupt.csv, corrupt_summary.csv, .png
Grad-CAM             :func:`ferbench.probes.gradcam.gradcam`      gradcam/*.png, gradcam/index.csv
===================  ==========================================  =====================================

:func:`ferbench.probes.runs.find_runs` expands run directories and runs roots into finished cells;
:mod:`ferbench.probes.runs` also holds the shared "open a run, score transformed test images" part.
"""
