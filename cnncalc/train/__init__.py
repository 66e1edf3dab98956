"""Training, evaluation and prediction of a spec on real image data (imports torch lazily).

The package is shared by ``cnncalc train/evaluate/predict`` and ``cnncalc visualise``:
:mod:`.imageset` is the in-memory form every dataset reader returns, and the checkpoint format
is documented in :mod:`.contract`.
"""
