"""Classification metrics, all from one integer confusion matrix (no torch here).

``confusion[t][p]`` counts the images of true class ``t`` predicted as ``p`` (rows: truth,
columns: prediction, as scikit-learn's ``confusion_matrix``). Counts add exactly across
processes, so 1 and N processes give identical metrics. Top-5 needs one more count (images
whose class is among the five highest scores), carried beside the matrix.

Conventions, stated in every report:

- precision(c) = TP/(TP + FP), recall(c) = TP/(TP + FN), F1(c) = 2·P·R/(P + R);
- a ratio whose denominator is 0 is 0 (scikit-learn's ``zero_division=0``);
- macro: the unweighted mean over classes; weighted: the mean weighted by support (true
  images of each class); micro: from the summed TP, FP, FN, which for single-label
  classification equals accuracy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

ZERO_DIVISION_RULE = "a ratio with denominator 0 counts as 0 (scikit-learn's zero_division=0)"


@dataclass(frozen=True)
class ClassMetrics:
    name: str
    true_positives: int
    false_positives: int
    false_negatives: int
    support: int
    precision: float
    recall: float
    f1: float


@dataclass(frozen=True)
class Average:
    label: str
    """``macro``, ``micro`` or ``weighted``."""
    precision: float
    recall: float
    f1: float


@dataclass(frozen=True)
class Metrics:
    classes: tuple[str, ...]
    confusion: tuple[tuple[int, ...], ...]
    total: int
    correct: int
    top5_correct: int | None
    per_class: tuple[ClassMetrics, ...]
    averages: tuple[Average, ...]

    @property
    def accuracy(self) -> float:
        return ratio(self.correct, self.total)

    @property
    def top5(self) -> float | None:
        return None if self.top5_correct is None else ratio(self.top5_correct, self.total)

    def average(self, label: str) -> Average:
        return next(average for average in self.averages if average.label == label)


def ratio(numerator: int, denominator: int) -> float:
    """``numerator/denominator``, 0 when the denominator is 0 (:data:`ZERO_DIVISION_RULE`)."""
    return numerator / denominator if denominator else 0.0


def f1_score(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def metrics_from_confusion(
    confusion: Sequence[Sequence[int]], classes: Sequence[str], top5_correct: int | None = None
) -> Metrics:
    """Every metric from ``confusion`` (rows truth, columns prediction)."""
    count = len(classes)
    matrix = tuple(tuple(int(value) for value in row) for row in confusion)
    if len(matrix) != count or any(len(row) != count for row in matrix):
        raise ValueError(f"a confusion matrix for {count} classes must be {count}×{count}")
    per_class = []
    for index, name in enumerate(classes):
        tp = matrix[index][index]
        support = sum(matrix[index])
        predicted = sum(row[index] for row in matrix)
        precision, recall = ratio(tp, predicted), ratio(tp, support)
        per_class.append(
            ClassMetrics(
                name,
                tp,
                predicted - tp,
                support - tp,
                support,
                precision,
                recall,
                f1_score(precision, recall),
            )
        )
    total = sum(map(sum, matrix))
    correct = sum(matrix[index][index] for index in range(count))
    return Metrics(
        tuple(classes),
        matrix,
        total,
        correct,
        top5_correct if count > 5 else None,
        tuple(per_class),
        _averages(per_class, total),
    )


def _averages(per_class: Sequence[ClassMetrics], total: int) -> tuple[Average, ...]:
    count = len(per_class)
    tp = sum(item.true_positives for item in per_class)
    fp = sum(item.false_positives for item in per_class)
    fn = sum(item.false_negatives for item in per_class)
    micro_precision, micro_recall = ratio(tp, tp + fp), ratio(tp, tp + fn)

    def weighted(values: Sequence[float]) -> float:
        return sum(v * item.support for v, item in zip(values, per_class, strict=True)) / (
            total or 1
        )

    return (
        Average(
            "macro",
            sum(item.precision for item in per_class) / count,
            sum(item.recall for item in per_class) / count,
            sum(item.f1 for item in per_class) / count,
        ),
        Average("micro", micro_precision, micro_recall, f1_score(micro_precision, micro_recall)),
        Average(
            "weighted",
            weighted([item.precision for item in per_class]),
            weighted([item.recall for item in per_class]),
            weighted([item.f1 for item in per_class]),
        ),
    )


def metrics_text(metrics: Metrics) -> str:
    """The per-class table, the labelled averages and the conventions."""
    width = max(12, *(len(name) for name in metrics.classes))
    lines = [
        f"accuracy (top-1)  {metrics.accuracy:.4f}  ({metrics.correct:,}/{metrics.total:,})",
    ]
    if metrics.top5 is not None:
        lines.append(
            f"accuracy (top-5)  {metrics.top5:.4f}  ({metrics.top5_correct:,}/{metrics.total:,})"
        )
    lines += ["", f"{'class':<{width}}  precision  recall     f1  support"]
    for item in metrics.per_class:
        lines.append(
            f"{item.name:<{width}}  {item.precision:9.4f}  {item.recall:6.4f}  {item.f1:.4f}"
            f"  {item.support:7,}"
        )
    lines.append("")
    for average in metrics.averages:
        lines.append(
            f"{average.label + ' avg':<{width}}  {average.precision:9.4f}  {average.recall:6.4f}"
            f"  {average.f1:.4f}  {metrics.total:7,}"
        )
    lines += [
        "",
        "macro: mean over classes; weighted: mean weighted by support; micro: from summed "
        "TP/FP/FN (= accuracy for one label per image)",
        f"zero division: {ZERO_DIVISION_RULE}",
    ]
    return "\n".join(lines)


def explain_text(metrics: Metrics) -> str:
    """Each metric worked from the counts, as the notes write it:
    ``precision(cat) = TP/(TP + FP) = 87/(87 + 9) = 0.906``."""
    lines = [
        f"accuracy = correct/total = {metrics.correct:,}/{metrics.total:,} = "
        f"{metrics.accuracy:.3f}",
        "",
    ]
    for item in metrics.per_class:
        name, tp, fp, fn = (
            item.name,
            item.true_positives,
            item.false_positives,
            item.false_negatives,
        )
        lines += [
            f"precision({name}) = TP/(TP + FP) = {tp}/({tp} + {fp}) = {item.precision:.3f}",
            f"recall({name}) = TP/(TP + FN) = {tp}/({tp} + {fn}) = {item.recall:.3f}",
            f"F1({name}) = 2·P·R/(P + R) = 2·{item.precision:.3f}·{item.recall:.3f}/"
            f"({item.precision:.3f} + {item.recall:.3f}) = {item.f1:.3f}",
        ]
    macro, weighted = metrics.average("macro"), metrics.average("weighted")
    count = len(metrics.classes)
    lines += [
        "",
        f"macro F1 = (sum of the {count} per-class F1)/{count} = {macro.f1:.3f}",
        f"weighted F1 = Σ F1(c)·support(c)/{metrics.total:,} = {weighted.f1:.3f}",
        f"micro F1 = accuracy = {metrics.average('micro').f1:.3f} (one label per image: "
        "summed FP = summed FN)",
        f"zero division: {ZERO_DIVISION_RULE}",
    ]
    return "\n".join(lines)


def metrics_dict(metrics: Metrics) -> dict[str, object]:
    """Plain data (the run folder's JSON)."""
    return {
        "accuracy": metrics.accuracy,
        "top5": metrics.top5,
        "total": metrics.total,
        "correct": metrics.correct,
        "confusion": [list(row) for row in metrics.confusion],
        "classes": list(metrics.classes),
        "per_class": [item.__dict__ for item in metrics.per_class],
        "averages": {item.label: item.__dict__ for item in metrics.averages},
        "zero_division": ZERO_DIVISION_RULE,
    }
