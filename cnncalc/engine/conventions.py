"""Counting conventions: cnncalc's own, and exact reproductions of what peer tools report.

Every total cnncalc prints says which convention produced it, and each peer convention
comes with a one-line reconciliation against cnncalc's MACs. A peer's convention is made
from its declaration in :mod:`.peers` (one place per tool); this module adds cnncalc's own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .. import arith
from . import peers
from .peers import Peer
from .result import Analysis, Row, Totals

_STATEMENT = (
    "MACs = multiply-accumulates of conv/linear layers per sample × batch (bias adds not "
    "included); FLOPs = 2 × MACs. Other costs, counted separately: bias adds (1 per output "
    "element), batchnorm (2 per element, inference), layernorm (5), LRN (size + 3), "
    "activations (1 per element; softmax 3), pooling (kernel area per output element; "
    "adaptive/global and spatial means: window sizes), residual adds, SE multiplies and layer "
    "scales (1 per output element), interpolation (inputs read per output element: nearest 1, "
    "bilinear 4, bicubic 16). "
    "Parameters = weights + biases; BN running statistics are buffers, not parameters."
)


@dataclass(frozen=True)
class Convention:
    name: str
    title: str
    statement: str
    row_flops: Callable[[Row], Any]
    total_flops: Callable[[Totals], Any]
    flops_label: str = "FLOPs"
    peer: Peer | None = None
    """The peer tool whose count this convention reproduces (None: cnncalc's own)."""

    @property
    def adds_params(self) -> bool:
        """Whether the tool counts parameters of its own (Keras: BN moving statistics)."""
        return self.peer is not None and not self.peer.per_sample

    def params(self, totals: Totals) -> tuple[Any, Any, Any]:
        """(total, trainable, non-trainable) parameters as this tool reports them."""
        if self.peer is not None and self.adds_params:
            added = totals.peers[self.peer.name]
            return arith.normalize(totals.params + added), totals.trainable_params, added
        return totals.params, totals.trainable_params, totals.non_trainable_params

    def reconcile(self, analysis: Analysis) -> str:
        """One line: how this tool's number relates to cnncalc's MACs."""
        if self.peer is None:
            totals = analysis.totals
            return (
                f"FLOPs {arith.as_text(totals.flops, True)} = 2 × MACs "
                f"{arith.as_text(totals.macs, True)}"
            )
        return self.peer.reconciliation(analysis)


def _double_macs(item: Any) -> Any:
    return arith.normalize(2 * item.macs)


def _of_peer(peer: Peer) -> Convention:
    """A peer tool's convention: its FLOPs are its count (a tool that adds parameters keeps
    cnncalc's 2 × MACs)."""
    if not peer.per_sample:
        return Convention(
            peer.name, peer.title, peer.statement, _double_macs, _double_macs, peer=peer
        )
    name = peer.name
    return Convention(
        name,
        peer.title,
        peer.statement,
        lambda row: row.peers[name],
        lambda totals: totals.peers[name],
        peer.label,
        peer,
    )


CNNCALC = Convention("cnncalc", "cnncalc (default)", _STATEMENT, _double_macs, _double_macs)


class _Conventions(Mapping[str, Convention]):
    """cnncalc's own convention, then one per peer tool of :data:`.peers.PEERS`, read when
    asked: a peer declared there is a convention without another line here."""

    def __init__(self) -> None:
        self._made: tuple[tuple[Peer, ...], dict[str, Convention]] | None = None

    def _table(self) -> dict[str, Convention]:
        if self._made is None or self._made[0] is not peers.PEERS:
            table = {CNNCALC.name: CNNCALC}
            table.update((peer.name, _of_peer(peer)) for peer in peers.PEERS)
            self._made = (peers.PEERS, table)
        return self._made[1]

    def __getitem__(self, name: str) -> Convention:
        return self._table()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())


CONVENTIONS: Mapping[str, Convention] = _Conventions()
"""Every convention by name: ``cnncalc``, then the peer tools' (``fvcore``, …, ``keras``)."""


def get_convention(name: str) -> Convention:
    try:
        return CONVENTIONS[name]
    except KeyError:
        known = ", ".join(CONVENTIONS)
        raise ValueError(f"unknown convention '{name}' (choose from {known})") from None
