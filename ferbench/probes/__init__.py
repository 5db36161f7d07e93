"""Robustness probes of finished runs — no retraining; results land in ``<run>/probes/``.

===================  ==========================================  =====================================
probe                function (one run)                          files
===================  ==========================================  =====================================
resolution sweep     :func:`ferbench.probes.resize.resize_sweep`  resize.csv, resize.md, resize.png
subgroups            :func:`ferbench.probes.subgroups.subgroups`  subgroups.json, subgroups.csv
corruptions          :func:`ferbench.probes.corruptions.corrupt`  corrupt.csv, corrupt_summary.csv, .png
Grad-CAM             :func:`ferbench.probes.gradcam.gradcam`      gradcam/*.png, gradcam/index.csv
===================  ==========================================  =====================================

Each also writes ``<probe>.done.json`` (:mod:`ferbench.probes.outputs`: files written atomically,
the options and the training they are of). :mod:`ferbench.probes.runs` opens a finished run for
probing (its store by dataset name and data dir) and scores transformed test images;
:func:`ferbench.rundir.find_runs` expands run directories and runs roots into finished cells.
"""
