"""The worked-solution text in other notations: LaTeX math, LaTeX text and HTML.

:class:`~cnncalc.layers.explain.Equation` text is written for the terminal: ``·`` for
products, ``−`` for minus, ``×`` in volumes, ``⌊…⌋``/``⌈…⌉`` for floor and ceiling,
``W_out`` for subscripts, and plain words where a formula is prose ("likewise",
"identity"). The Markdown, LaTeX and HTML renderers share this one tokenizer, so they
agree on what is a variable, a number and a word.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Collection, Iterator

_TOKEN = re.compile(
    r"(?P<space>\s+)"
    r"|(?P<number>\d+(?:,\d{3})+(?![\d])(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"|(?P<word>[A-Za-z]+(?:_[A-Za-z0-9]+)?[₀-₉]*)"
    r"|(?P<other>.)",
    re.S,
)

SUBSCRIPT_DIGITS = {chr(0x2080 + digit): str(digit) for digit in range(10)}
SUPERSCRIPT_DIGITS = {"¹": "1", "²": "2", "³": "3"} | {
    chr(0x2070 + digit): str(digit) for digit in (0, 4, 5, 6, 7, 8, 9)
}

_MATH_SYMBOLS = {
    "·": r"\cdot",
    "−": "-",
    "×": r"\times",
    "⌊": r"\lfloor",
    "⌋": r"\rfloor",
    "⌈": r"\lceil",
    "⌉": r"\rceil",
    "…": r"\ldots",
    "→": r"\to",
    "←": r"\leftarrow",
    "≈": r"\approx",
    "≤": r"\le",
    "≥": r"\ge",
    "≡": r"\equiv",
    "∈": r"\in",
    "≠": r"\ne",
    "±": r"\pm",
    "÷": r"\div",
    "√": r"\surd",
    "∞": r"\infty",
    "∑": r"\sum",
    "∏": r"\prod",
    "—": "-",
    "–": "-",
    "✓": r"\checkmark",
    "✗": r"\times",
    "%": r"\%",
    "#": r"\#",
    "&": r"\&",
    "$": r"\$",
    "{": r"\{",
    "}": r"\}",
    "_": r"\_",
    "\\": r"\backslash",
    "~": r"\sim",
    "^": r"\hat{}",
}

_TEXT_SYMBOLS = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "%": r"\%",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    "—": "---",
    "–": "--",
    "…": r"\ldots{}",
    "‘": "`",
    "’": "'",
    "“": "``",
    "”": "''",
    "«": "<<",
    "»": ">>",
    "\u00a0": "~",
    "⚠": r"\textbf{!}",
    "•": r"\textbullet{}",
    "§": r"\S{}",
    "©": r"\copyright{}",
    "ß": r"\ss{}",
    "æ": r"\ae{}",
    "Æ": r"\AE{}",
    "ø": r"\o{}",
    "Ø": r"\O{}",
    "å": r"\aa{}",
    "Å": r"\AA{}",
    "ł": r"\l{}",
    "Ł": r"\L{}",
    "œ": r"\oe{}",
    "Œ": r"\OE{}",
    "ı": r"\i{}",
}

_ACCENTS = {
    "\u0300": "`",
    "\u0301": "'",
    "\u0302": "^",
    "\u0303": "~",
    "\u0304": "=",
    "\u0306": "u",
    "\u0307": ".",
    "\u0308": '"',
    "\u030a": "r",
    "\u030b": "H",
    "\u030c": "v",
    "\u0327": "c",
    "\u0328": "k",
}

_GREEK_CAPITALS = [
    "Gamma",
    "Delta",
    "Theta",
    "Lambda",
    "Xi",
    "Pi",
    "Sigma",
    "Upsilon",
    "Phi",
    "Psi",
    "Omega",
]


def _greek(letter: str) -> str | None:
    """α → ``\\alpha``, Γ → ``\\Gamma``; capitals that look Latin (Α, Β) → A, B."""
    name = unicodedata.name(letter, "")
    if not name.startswith("GREEK") or "LETTER" not in name or len(letter) != 1:
        return None
    word = name.split()[-1].lower()
    word = "lambda" if word == "lamda" else word
    if "SMALL" in name:
        return "\\" + word
    if word.capitalize() in _GREEK_CAPITALS:
        return "\\" + word.capitalize()
    latin = {"alpha": "A", "beta": "B", "epsilon": "E", "zeta": "Z", "eta": "H", "iota": "I"}
    latin |= {"kappa": "K", "mu": "M", "nu": "N", "omicron": "O", "rho": "P", "tau": "T"}
    latin |= {"chi": "X"}
    return latin.get(word)


_TEXT_RUN_PUNCTUATION = set(":,;'")


def _tokens(text: str) -> Iterator[tuple[str, str]]:
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        assert kind is not None
        yield kind, match.group()


def _is_prose(word: str, symbols: Collection[str]) -> bool:
    """A word of the sentence rather than a variable (``MACs``, ``likewise``, ``none``)."""
    base = word.rstrip("₀₁₂₃₄₅₆₇₈₉")
    if base in symbols:
        return False
    head = base.split("_", 1)[0]
    return len(head) > 1


def _split_word(word: str) -> tuple[str, str]:
    """``W_out`` → (``W``, ``out``); ``D₁`` → (``D``, ``1``); ``K`` → (``K``, '')."""
    digits = "".join(SUBSCRIPT_DIGITS[char] for char in word if char in SUBSCRIPT_DIGITS)
    word = word.rstrip("₀₁₂₃₄₅₆₇₈₉")
    base, _, subscript = word.partition("_")
    return base, subscript + digits


# ----------------------------------------------------------------------- LaTeX math


def tex_math(text: str, symbols: Collection[str] = ()) -> str:
    """Equation text as LaTeX math (no surrounding ``$``); pure ASCII.

    ``(W − F + 2P)/S + 1`` → ``(W - F + 2P)/S + 1``; ``W_out`` → ``W_{\\text{out}}``;
    ``34,944`` → ``34{,}944``; prose becomes ``\\text{…}`` (``2·D (γ and β per channel)``
    → ``2 \\cdot D (\\gamma \\text{ and } \\beta \\text{ per channel})``).
    """
    tokens = list(_tokens(text))
    out: list[str] = []
    run: list[str] = []

    def flush(following: tuple[str, str] | None) -> None:
        # prose in \text{} is text mode: an underscore (output_padding) must be escaped
        words = re.sub(r" +", " ", "".join(run)).replace("_", r"\_")
        space = words.endswith(" ")
        if space and (following is None or not _needs_space(following)):
            out.append(r"\text{" + words.rstrip() + "} ")
        else:
            out.append(r"\text{" + words + "}")
        run.clear()

    for index, (kind, value) in enumerate(tokens):
        if kind == "word" and _is_prose(value, symbols):
            if not run and len(out) >= 2 and out[-1] == " " and _needs_space(tokens[index - 2]):
                run.append(" ")
            run.append(value)
            continue
        if run and (kind == "space" or _continues_run(tokens, index, symbols)):
            run.append(" " if kind == "space" else value)
            continue
        if run:
            flush((kind, value))
        if kind == "space":
            out.append(" ")
        elif kind == "number":
            out.append(value.replace(",", "{,}"))
        elif kind == "word":
            base, subscript = _split_word(value)
            out.append(_tex_variable(base, subscript))
        else:
            out.append(_tex_math_symbol(value))
    if run:
        flush(None)
    return re.sub(r" {2,}", " ", "".join(out)).strip()


def _needs_space(token: tuple[str, str]) -> bool:
    """Prose next to a variable or a number keeps its space; next to ``=`` or ``(`` not."""
    kind, value = token
    return kind in ("word", "number") or _greek(value) is not None


def _continues_run(tokens: list[tuple[str, str]], index: int, symbols: Collection[str]) -> bool:
    """Inside prose: ``:,;'`` and one-letter words go on while a prose word follows."""
    kind, value = tokens[index]
    if (kind == "other" and value in _TEXT_RUN_PUNCTUATION) or (
        kind == "word" and len(value) == 1 and value.islower()
    ):
        for next_kind, next_value in tokens[index + 1 :]:
            if next_kind == "space" or next_value in _TEXT_RUN_PUNCTUATION:
                continue
            return next_kind == "word" and _is_prose(next_value, symbols)
    return False


def _tex_variable(base: str, subscript: str) -> str:
    name = base if len(base) == 1 else r"\mathit{" + base + "}"
    if not subscript:
        return name
    if subscript.isdigit() or len(subscript) == 1:
        return f"{name}_{{{subscript}}}"
    return f"{name}_{{\\text{{{subscript}}}}}"


def _tex_math_symbol(char: str) -> str:
    if char in _MATH_SYMBOLS:
        symbol = _MATH_SYMBOLS[char]
        return f" {symbol} " if symbol.startswith("\\") and symbol[-1].isalpha() else symbol
    if char in SUBSCRIPT_DIGITS:
        return f"_{{{SUBSCRIPT_DIGITS[char]}}}"
    if char in SUPERSCRIPT_DIGITS:
        return f"^{{{SUPERSCRIPT_DIGITS[char]}}}"
    greek = _greek(char)
    if greek:
        return f" {greek} "
    if char.isascii():
        return char
    return r"\text{" + tex_text(char) + "}"


# ----------------------------------------------------------------------- LaTeX text


def tex_text(text: str) -> str:
    """Prose for LaTeX: specials escaped, every non-ASCII character mapped; pure ASCII."""
    out: list[str] = []
    quote_open = True
    for char in unicodedata.normalize("NFC", text):
        if char == '"':
            out.append("``" if quote_open else "''")
            quote_open = not quote_open
        elif char in _TEXT_SYMBOLS:
            out.append(_TEXT_SYMBOLS[char])
        elif char.isascii():
            out.append(char)
        elif char in _MATH_SYMBOLS or char in SUBSCRIPT_DIGITS or char in SUPERSCRIPT_DIGITS:
            out.append("$" + _tex_math_symbol(char).strip() + "$")
        elif _greek(char):
            out.append(f"${_greek(char)}$")
        else:
            out.append(_accented(char))
    return "".join(out)


def _accented(char: str) -> str:
    """é → ``\\'{e}``; what cannot be spelled in ASCII LaTeX becomes ``?``."""
    decomposed = unicodedata.normalize("NFD", char)
    base, marks = decomposed[0], decomposed[1:]
    if base.isascii() and marks and all(mark in _ACCENTS for mark in marks):
        result = base if base not in "ij" else "\\" + base
        for mark in marks:
            result = f"\\{_ACCENTS[mark]}{{{result}}}"
        return result
    compatible = unicodedata.normalize("NFKD", char)
    if compatible.isascii() and compatible.strip():
        return tex_text(compatible)
    return "?"


# ----------------------------------------------------------------------------- HTML


def html_math(text: str, symbols: Collection[str] = ()) -> str:
    """Equation text as HTML: variables in ``<i>``, subscripts in ``<sub>``, all escaped."""
    out: list[str] = []
    for kind, value in _tokens(text):
        if kind == "word" and not _is_prose(value, symbols):
            base, subscript = _split_word(value)
            sub = f"<sub>{html.escape(subscript)}</sub>" if subscript else ""
            out.append(f"<i>{html.escape(base)}</i>{sub}")
        else:
            out.append(html.escape(value))
    return "".join(out)
