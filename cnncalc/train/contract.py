"""What the training package promises its neighbours (``evaluate``, ``predict``, ``visualise``).

A checkpoint is a ``dict`` of plain types and tensors, so ``torch.load(path,
weights_only=True)`` reads it (the default since PyTorch 2.6). Its keys:

- ``format``: :data:`CHECKPOINT_FORMAT`;
- ``versions``: ``{"cnncalc": str, "torch": str, "python": str}``;
- ``spec``: ``{"text": the spec's YAML source, "name": str, "path": str, "sha256": hex of
  the text}``: the spec travels inside, so a checkpoint alone rebuilds its model;
- ``input_shape``: ``[C, H, W]`` the model was trained at;
- ``classes``: ``[str, ...]`` in label order;
- ``normalisation``: ``{"mean": [float] * C, "std": [float] * C}``, from the training split;
- ``model``: the model's ``state_dict`` (spec-path names, as :func:`cnncalc.build` makes);
- training state (optimizer, scheduler, scaler, EMA, epoch, step, RNG states, config…),
  which only ``train --resume`` reads.
"""

from __future__ import annotations

CHECKPOINT_FORMAT = "cnncalc-checkpoint/1"
