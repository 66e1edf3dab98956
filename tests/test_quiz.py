"""The quiz library: every answer of many seeded papers against PyTorch, papers reproducible
byte for byte, varied, in range; hand-worked questions; bad requests.

The seed sweep runs ``CNNCALC_QUIZ_SEEDS`` papers (default 100, each with one question of
every topic, difficulties in turn); under ``--hypothesis-profile thorough`` ten times as many.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

from cnncalc.quiz import (
    DIFFICULTIES,
    QuizError,
    generate,
    generate_papers,
    grade,
    load_answers,
    topic_names,
)
from cnncalc.quiz.grading import Sheet
from cnncalc.quiz.serialize import papers_from_json, papers_json

from .conftest import ROOT, examples

torch = pytest.importorskip("torch")

from . import quiz_oracle  # noqa: E402  (needs torch)

SEEDS = int(os.environ.get("CNNCALC_QUIZ_SEEDS", examples(100, settings.default)))
TOPICS = topic_names()


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """The oracle's tensors are tiny: one thread avoids paying for a pool on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _paper(seed: int):
    return generate(count=len(TOPICS), difficulty=DIFFICULTIES[seed % 3], seed=seed)


@pytest.mark.parametrize("block", range(10))
def test_every_answer_agrees_with_pytorch(block: int) -> None:
    """Seeds block, block + 10, ...: each paper holds one question of every topic."""
    for seed in range(block, SEEDS, 10):
        paper = _paper(seed)
        for question in paper.questions:
            for box in question.answers:
                expected = quiz_oracle.answer(question, box)
                assert box.value == expected, (seed, question.number, question.topic, box, expected)


def test_questions_about_a_given_network_agree_with_pytorch() -> None:
    for seed in range(6):
        paper = generate(count=7, seed=seed, source=ROOT / "specs" / "fashion_mnist_cnn.yaml")
        for question in paper.questions:
            for box in question.answers:
                assert box.value == quiz_oracle.answer(question, box), (seed, question.topic, box)


@pytest.mark.parametrize("stem", ["resnet18", "googlenet", "lenet5"])
def test_questions_about_bundled_networks_agree_with_pytorch(stem: str) -> None:
    """Branches, residual adds and concats in the tables; the receptive field of deep
    layers is left out (their windows run off the image, where gradients are clipped)."""
    topics = ["output-volume", "parameters", "flops", "memory", "layer-table", "find-the-mistake"]
    for seed in range(2):
        paper = generate(topics, count=6, seed=seed, source=ROOT / "specs" / f"{stem}.yaml")
        for question in paper.questions:
            for box in question.answers:
                assert box.value == quiz_oracle.answer(question, box), (seed, question.topic, box)


def test_the_library_example_runs() -> None:
    import doctest

    import cnncalc.quiz

    assert doctest.testmod(cnncalc.quiz).failed == 0


def test_the_same_seed_gives_the_same_paper_byte_for_byte() -> None:
    first = papers_json([generate(count=22, difficulty="hard", seed=7)], key=True)
    second = papers_json([generate(count=22, difficulty="hard", seed=7)], key=True)
    assert first == second
    assert first != papers_json([generate(count=22, difficulty="hard", seed=8)], key=True)


def test_the_key_round_trips_through_json() -> None:
    paper = generate(count=11, seed=3)
    (back,) = papers_from_json(papers_json([paper], key=True))
    assert back == paper


def test_no_two_questions_of_a_paper_are_the_same_up_to_renaming() -> None:
    for seed in range(5):
        paper = generate(
            topics=["output-volume", "parameters"], count=40, difficulty="easy", seed=seed
        )
        signatures = [question.signature for question in paper.questions]
        assert len(set(signatures)) == len(signatures)


def test_numbers_stay_in_exam_ranges() -> None:
    for seed in range(30):
        paper = generate(
            topics=["output-volume", "parameters", "flops", "transposed"],
            count=8,
            difficulty="easy",
            seed=seed,
        )
        for question in paper.questions:
            for box in question.answers:
                assert 0 <= box.value <= 10**8, (question.prompt, box)
                if box.label in ("H_out", "W_out"):
                    assert 2 <= box.value <= 128


def test_easy_divisions_are_exact_and_hard_papers_have_traps() -> None:
    easy = generate(topics=["output-volume"], count=20, difficulty="easy", seed=1)
    assert not any("floors" in line for q in easy.questions for line in q.working)
    hard = generate(topics=["floor-trap"], count=4, difficulty="hard", seed=1)
    assert all(any("PyTorch floors" in line for line in q.working) for q in hard.questions)


def test_student_papers_are_distinct_equivalent_and_reproducible() -> None:
    papers = generate_papers(["Ada", "Ben", "Chloe"], count=6, difficulty="medium", seed=5)
    assert len({tuple(q.signature for q in paper.questions) for paper in papers}) == 3
    topics = {tuple(q.topic for q in paper.questions) for paper in papers}
    assert len(topics) == 1  # the same kinds of question, in the same order
    for paper in papers:
        again = generate(count=6, difficulty="medium", seed=paper.seed, student=paper.student)
        assert papers_json([again], key=True) == papers_json([paper], key=True)


def test_hand_worked_fashion_mnist_table() -> None:
    """The notes' Fashion-MNIST network: conv2's 12,832 parameters and 14×14×32 output."""
    paper = generate(
        ["layer-table"],
        count=1,
        difficulty="easy",
        seed=0,
        source=ROOT / "specs" / "fashion_mnist_cnn.yaml",
    )
    values = {box.label: box.value for box in paper.questions[0].answers}
    expected = {
        "conv1: parameters": 416,
        "conv2: parameters": 12832,
        "fc: parameters": 15690,
        "conv2: output volume": (14, 14, 32),
        "pool2: output volume": (7, 7, 32),
        "bn1: parameters": 32,
        "fc: output volume": (10,),
    }
    assert values and all(
        expected[label] == value for label, value in values.items() if label in expected
    )


@pytest.mark.parametrize(
    "request_, message",
    [
        ({"topics": ["convolution"]}, "unknown topic 'convolution'; choose from: output-volume"),
        ({"count": 0}, "count 0 is out of range: ask for 1 to 100"),
        ({"count": 10**6}, "count 1000000 is out of range"),
        ({"difficulty": "brutal"}, "unknown difficulty 'brutal' (choose from easy, medium, hard)"),
        (
            {"topics": ["padding"], "source": ROOT / "specs" / "lenet5.yaml"},
            "unknown topic 'padding'; choose from: output-volume, parameters",
        ),
    ],
)
def test_bad_requests_say_what_is_wrong(request_, message) -> None:
    with pytest.raises(QuizError) as error:
        generate(**request_)
    assert message in str(error.value)


def test_duplicate_students_are_refused() -> None:
    with pytest.raises(QuizError, match="duplicate student names: Ada"):
        generate_papers(["Ada", "Ben", "Ada"], count=2)


def test_too_many_questions_of_one_kind_for_a_network() -> None:
    with pytest.raises(QuizError, match="no new 'receptive-field' question"):
        generate(["receptive-field"], count=30, source=ROOT / "specs" / "lenet5.yaml")


# ------------------------------------------------------------------ grading


def _own_answers(paper) -> dict[str, str]:
    return {answer.key: answer.value_text() for answer in paper.answers().values()}


def _mutated(answer) -> str:
    """The key's answer with one number changed."""
    if answer.is_volume:
        return "×".join(str(part + (index == 0)) for index, part in enumerate(answer.value))
    if answer.decimals is not None:
        return f"{answer.value + 0.5:.{answer.decimals}f}"
    return str(answer.value + 1)


def test_a_key_graded_against_itself_gets_full_marks_and_each_mutation_loses_its_mark() -> None:
    for seed in range(3):
        paper = _paper(seed)
        own = _own_answers(paper)
        (full,) = grade(paper, own).students
        assert full.score == full.total == paper.marks and not full.notes
        for key, answer in paper.answers().items():
            (mutated,) = grade(paper, {**own, key: _mutated(answer)}).students
            assert mutated.score == paper.marks - answer.marks, key
            assert [mark.answer.key for mark in mutated.wrong] == [key]


def test_rounded_answers_have_their_tolerance_and_numbers_their_separators() -> None:
    paper = generate(["memory", "parameters"], count=2, difficulty="medium", seed=2)
    memory, params = paper.questions[0].answers[1], paper.questions[1].answers[0]
    nearly = f"{memory.value + 0.01:.2f}"
    spaced = f"{params.value:,}".replace(",", " ")
    (result,) = grade(paper, {memory.key: nearly, params.key: spaced}).students
    assert {mark.answer.key for mark in result.marks if mark.right} == {memory.key, params.key}
    (result,) = grade(paper, {memory.key: f"{memory.value + 0.02:.2f}"}).students
    assert not next(mark for mark in result.marks if mark.answer.key == memory.key).right


def test_words_where_numbers_belong_are_wrong_with_a_message() -> None:
    paper = generate(["output-volume", "layer-table"], count=2, difficulty="easy", seed=4)
    volume = next(a for a in paper.answers().values() if a.is_volume and len(a.value) == 3)
    (result,) = grade(paper, {"1a": "fifty-five", volume.key: "big", "9z": 3}).students
    messages = {mark.answer.key: mark.message for mark in result.marks}
    assert messages["1a"] == "'fifty-five' is not a number"
    assert messages[volume.key].startswith("'big' is not a volume: write H×W×D, e.g. ")
    assert messages["1b"] == "no answer"
    assert result.notes == (
        f"answer '9z' is not a box of this paper (boxes: 1a–{volume.key[0]}"
        f"{list(paper.answers())[-1][1:]}): ignored",
    )


def test_volumes_accept_the_usual_spellings() -> None:
    paper = generate(
        ["layer-table"],
        count=1,
        difficulty="easy",
        seed=0,
        source=ROOT / "specs" / "fashion_mnist_cnn.yaml",
    )
    volume = next(a for a in paper.answers().values() if a.is_volume and len(a.value) == 3)
    height, width, depth = volume.value
    for spelling in (
        f"{height}x{width}x{depth}",
        f"{height} × {width} × {depth}",
        [height, width, depth],
        f"({height}, {width}, {depth})",
    ):
        (result,) = grade(paper, {volume.key: spelling}).students
        assert next(m for m in result.marks if m.answer.key == volume.key).right, spelling


def test_a_class_is_matched_by_name_and_summarised_by_topic(tmp_path) -> None:
    papers = generate_papers(["Ada", "Ben"], topics=["parameters", "flops"], count=2, seed=1)
    ada = Sheet("Ada", _own_answers(papers[0]))
    ben = Sheet("Ben", {**_own_answers(papers[1]), "2a": "0", "2b": "0"})
    stranger = Sheet("Zoe", {"1a": "1"})
    grading = grade(papers, [ada, ben, stranger])
    assert [(g.student, g.score) for g in grading.students] == [
        ("Ada", papers[0].marks),
        ("Ben", papers[1].marks - 2),
    ]
    assert grading.notes == ("no paper in the key for student 'Zoe' (the key has 'Ada', 'Ben')",)
    anonymous = grade(papers, {"1a": "1"})
    assert not anonymous.students
    assert anonymous.notes[0].startswith("answers without a student's name, and the key has 2")
    topics = {rate.name: (rate.right, rate.asked) for rate in grading.per_topic()}
    boxes = sum(len(paper.questions[0].answers) for paper in papers)
    assert topics == {"flops": (2, 4), "parameters": (boxes, boxes)}
    assert grading.per_topic()[0].name == "flops"  # weakest first


def test_answer_files_yaml_and_csv(tmp_path) -> None:
    paper = generate(["parameters"], count=1, seed=1)
    (first, second) = paper.questions[0].answers
    (tmp_path / "a.yaml").write_text(f"student: Ada\nanswers:\n  {first.key}: {first.value}\n")
    (tmp_path / "c.csv").write_text(
        f"student,{first.key},{second.key}\nAda,{first.value},1\nBen,1,{second.value}\n"
    )
    (yaml_sheet,) = load_answers(tmp_path / "a.yaml")
    assert yaml_sheet.student == "Ada" and grade(paper, yaml_sheet).students[0].score == 1
    sheets = load_answers(tmp_path / "c.csv")
    assert [(s.student, grade(paper, s).students[0].score) for s in sheets] == [
        ("Ada", 1),
        ("Ben", 1),
    ]


def test_spreadsheet_csv_with_a_byte_order_mark_and_semicolons(tmp_path) -> None:
    paper = generate(["parameters"], count=1, seed=1)
    first = paper.questions[0].answers[0]
    (tmp_path / "a.csv").write_text(
        f"student;{first.key}\nAda;{first.value}\n", encoding="utf-8-sig"
    )
    (sheet,) = load_answers(tmp_path / "a.csv")
    assert sheet.student == "Ada" and grade(paper, sheet).students[0].score == first.marks


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("a.txt", "1a: 3", "answers must be YAML (.yaml, .yml) or CSV (.csv), not '.txt'"),
        ("a.yaml", "1a: [3\n", "a.yaml:2:1: not valid YAML"),
        ("a.yaml", "- 3\n", "entry 1 needs 'student' and an 'answers' mapping"),
        ("a.csv", "student,1a\nAda,3\nAda,4\n", "student(s) answered twice: Ada"),
        ("a.csv", "1a\n3\n4\n5\n", "several rows but no 'student' column"),
        ("a.csv", "", "empty CSV"),
    ],
)
def test_bad_answer_files(tmp_path, name, text, message) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(QuizError) as error:
        load_answers(tmp_path / name)
    assert message in str(error.value)
