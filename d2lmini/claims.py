"""Claims the text makes, checked by running, and shown to the reader.

A chapter states each claim its prose relies on in the claim's own words, with the value the run
measured and the condition it must meet::

    >>> from d2lmini.claims import Claims, above, between
    >>> claims = Claims()
    >>> claims.check("the tensor step is over 10x faster than the engine's", 42.0, above(10),
    ...              kind="timing")
    42.0
    >>> claims.measured("one engine step", 0.0123, "s")
    0.0123
    >>> print(claims.report())
    Checked on this page (1)
      ✓ the tensor step is over 10x faster than the engine's: 42 (expected > 10)
    Measured here, not checked (it depends on the machine):
      · one engine step: 12.3 ms

A claim that does not hold raises :class:`ClaimError` (an ``AssertionError``) whose message quotes
the claim, the value and the condition, and says what could cause it for that *kind* of claim: a
timing on a slow or busy machine, an exact output on another device, a result after a change
upstream. Absolute times are machine facts, not claims: :meth:`Claims.measured` records them so
the reader sees them in the box, "measured here", and nothing asserts them.

The book's numbers come from a CPU, and a model trained on a GPU comes out a little differently.
So where PyTorch sees a GPU (NVIDIA's CUDA or Apple's MPS), a claim of kind ``"trained"`` (a
result of training: an accuracy, a perplexity, which of two runs wins) or ``"exact"`` that does
not hold is printed and marked in the box, and the notebook goes on; every other claim (a
from-scratch result against PyTorch's, a count) still stops it.

:meth:`Claims.report` ends every chapter. In Jupyter and in the built book it shows a collapsed
box, "Checked on this page (N)", one line per claim; in a script it prints the same as text. The
HTML has stable hooks: the box is ``<details class="checked-claims">`` and each claim an
``<li class="claim" id="claim-KEY" data-status="passed">``, which the prose links to with the
``{claim}`KEY``` role (``_ext/claim_marks.py``).

Chapters use the module-level functions :func:`check`, :func:`measured` and :func:`report`, which
share one :class:`Claims` per Python process (one notebook kernel, one chapter). Running a cell
again replaces its claims, keyed by ``key``, instead of listing them twice.
"""

from __future__ import annotations

import html
import math
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "ClaimError",
    "Claims",
    "Condition",
    "above",
    "at_least",
    "at_most",
    "below",
    "between",
    "check",
    "each",
    "equals",
    "holds",
    "measured",
    "near",
    "report",
    "satisfies",
]

Kind = Literal["result", "timing", "exact", "trained"]

# What could make a true claim fail, by kind: the error's last paragraph.
_CAUSES: dict[str, str] = {
    "result": (
        "This value comes from the code above. A cell edited or run out of order, or other "
        "library versions than requirements.txt pins, can change it: restart the kernel and run "
        "the notebook from the top. If it still fails, please report it with the values above."
    ),
    "timing": (
        "This compares times measured on this machine. A much slower machine, or another program "
        "busy on the CPU (or GPU) while the cell ran, can change how they compare: close other "
        "programs and run the cell again. If it still fails, please report it with the values "
        "above and your machine."
    ),
    "exact": (
        "This pins an exact output. Another device (an NVIDIA GPU, Apple's MPS) or other library "
        "versions round floating-point arithmetic differently, which can change the last digits "
        "or, after many steps, the output itself; on the CPU with requirements.txt's versions it "
        "holds exactly. Please report it with the values above and your device."
    ),
    "trained": (
        "This is a result of training in this run. The run is seeded, so on the CPU with "
        "requirements.txt's versions it comes out as in the book; a cell edited or run out of "
        "order, or other library versions, trains another model. Restart the kernel and run the "
        "notebook from the top; if it still fails, please report it with the values above."
    ),
}

# Kinds whose values depend on the device: off the CPU a failure is marked, not raised.
_DEVICE_DEPENDENT = ("exact", "trained")
_OFF_CPU_NOTE = "not on this device: a GPU trains a slightly different model than the book's CPU"


def _gpu_present() -> bool:
    """Whether PyTorch sees a GPU (CUDA or Apple's MPS), where the chapters train (best_device)."""
    torch = sys.modules.get("torch")
    if torch is None:  # a page that never imported PyTorch trained nothing
        return False
    from d2lmini.device import mps_available

    return bool(torch.cuda.is_available()) or mps_available()


class ClaimError(AssertionError):
    """A claim of the text did not hold in this run; the message says which, and why it may not."""


@dataclass(frozen=True)
class Condition:
    """What a claim's value must satisfy: a test, and how to say it (``"> 10"``)."""

    text: str
    test: Callable[[Any], bool]

    def __call__(self, value: Any) -> bool:
        return bool(self.test(value))


def _number(x: Any) -> float:
    return float(x.item() if hasattr(x, "item") else x)


def above(bound: float) -> Condition:
    """The value is greater than ``bound``."""
    return Condition(f"> {_show(bound)}", lambda v: _number(v) > bound)


def at_least(bound: float) -> Condition:
    """The value is at least ``bound``."""
    return Condition(f"≥ {_show(bound)}", lambda v: _number(v) >= bound)


def below(bound: float) -> Condition:
    """The value is less than ``bound``."""
    return Condition(f"< {_show(bound)}", lambda v: _number(v) < bound)


def at_most(bound: float) -> Condition:
    """The value is at most ``bound``."""
    return Condition(f"≤ {_show(bound)}", lambda v: _number(v) <= bound)


def between(low: float, high: float) -> Condition:
    """The value lies strictly between ``low`` and ``high``."""
    if not low < high:
        raise ValueError(f"between({low}, {high}): the lower bound must be below the upper one")
    return Condition(f"between {_show(low)} and {_show(high)}",
                     lambda v: low < _number(v) < high)


def near(target: float, tolerance: float, *, relative: bool = False) -> Condition:
    """The value is within ``tolerance`` of ``target`` (a fraction of it if ``relative``)."""
    if tolerance <= 0:
        raise ValueError(f"near: the tolerance must be positive, not {tolerance}")
    width = tolerance * abs(target) if relative else tolerance
    text = f"{_show(target)} ± {_show(100 * tolerance)}%" if relative else \
        f"{_show(target)} ± {_show(tolerance)}"
    return Condition(f"within {text}", lambda v: abs(_number(v) - target) <= width)


def equals(expected: Any) -> Condition:
    """The value equals ``expected`` exactly (tensors and arrays compared as lists)."""
    return Condition(f"= {_show(expected)}", lambda v: _plain(v) == _plain(expected))


def each(condition: Condition) -> Condition:
    """Every element of a sequence (or every value of a mapping) satisfies ``condition``."""

    def test(values: Any) -> bool:
        items = list(values.values() if isinstance(values, dict) else _plain(values))
        return len(items) > 0 and all(condition(v) for v in items)

    return Condition(f"each {condition.text}", test)


def satisfies(text: str, test: Callable[[Any], bool]) -> Condition:
    """A condition of any form: ``text`` says it in words, ``test`` decides it."""
    return Condition(text, test)


holds = Condition("true", lambda v: v is True or (not isinstance(v, bool) and bool(v)))
"""The value, a comparison already made, is true (for claims that are a statement)."""


def _plain(value: Any) -> Any:
    """Tensors and arrays as (nested) Python lists or numbers; anything else unchanged."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _show(value: Any, limit: int = 8) -> str:
    """A value as the reader should see it: 4 significant digits, long lists shortened."""
    value = _plain(value)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:.4g}"
    if isinstance(value, dict):
        items = [f"{k}: {_show(v)}" for k, v in list(value.items())[:limit]]
        return "{" + ", ".join(items) + (", …" if len(value) > limit else "") + "}"
    if isinstance(value, list):
        items = [_show(v) for v in value[:limit]]
        return "[" + ", ".join(items) + (", …" if len(value) > limit else "") + "]"
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "…"


def _show_measure(value: float, unit: str) -> str:
    """A measurement with its unit; seconds in s or ms, whichever reads better."""
    if unit == "s" and abs(value) < 1:
        return f"{1000 * value:.3g} ms"
    return f"{value:.3g} {unit}".rstrip()


def _slug(words: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", words.lower()).strip("-")[:60] or "claim"


@dataclass
class _Claim:
    key: str
    words: str
    value: str
    condition: str
    passed: bool
    off_cpu: bool = False  # failed on a GPU, where its kind depends on the device


@dataclass
class _Measure:
    key: str
    words: str
    value: str


class Claims:
    """The claims one page checks, in the order they were first checked."""

    def __init__(self) -> None:
        self._claims: dict[str, _Claim] = {}
        self._measures: dict[str, _Measure] = {}

    def check(self, claim: str, value: Any, condition: Condition, *, key: str | None = None,
              kind: Kind = "result") -> Any:
        """Check that ``value`` meets ``condition``, as the sentence ``claim`` says it does.

        Args:
            claim: the claim in the text's words, plain text (no math markup).
            value: what this run measured: a number, a sequence, a tensor, a mapping.
            condition: what the value must satisfy, e.g. ``above(10)`` or ``between(1.8, 1.9)``.
            key: the claim's id on the page (``claim-KEY``), for links from the prose; by
                default made from the words.
            kind: ``"timing"`` for comparisons of times, ``"exact"`` for pinned exact outputs,
                ``"trained"`` for results of training (an accuracy, a loss, which run wins),
                ``"result"`` for everything else (a from-scratch result against PyTorch's, a
                count); it chooses the error's advice. Where PyTorch sees a GPU, a failed
                ``"exact"`` or ``"trained"`` claim is marked and printed, not raised.

        Returns:
            ``value``, unchanged.

        Raises:
            ClaimError: if the condition does not hold (but see ``kind``); the claim is listed
                as failed too.
        """
        if kind not in _CAUSES:
            raise ValueError(f"kind must be one of {sorted(_CAUSES)}, not {kind!r}")
        if not isinstance(condition, Condition):
            raise TypeError(
                f"the condition of {claim!r} must be a Condition (above(10), between(1, 2), "
                f"satisfies('words', test), ...), not {type(condition).__name__}"
            )
        key = _slug(key if key is not None else claim)
        try:
            passed = condition(value)
        except Exception as error:  # a value of the wrong shape is a failed claim, said clearly
            raise ClaimError(
                f"Could not check the claim {claim!r}: testing {_show(value)} against "
                f"'{condition.text}' raised {type(error).__name__}: {error}"
            ) from error
        off_cpu = not passed and kind in _DEVICE_DEPENDENT and _gpu_present()
        self._claims.pop(key, None)  # a cell run again moves its claim to where it now runs
        self._claims[key] = _Claim(key, claim, _show(value), condition.text, passed, off_cpu)
        if off_cpu:
            print(f"d2lmini: the claim {claim!r} does not hold in this run ({_show(value)}, "
                  f"expected {condition.text}); {_OFF_CPU_NOTE}.")
        elif not passed:
            raise ClaimError(
                f"The text claims: {claim!r}\n"
                f"  measured in this run: {_show(value)}\n"
                f"  the claim needs:      {condition.text}\n"
                f"{_CAUSES[kind]}"
            )
        return value

    def measured(self, what: str, value: float, unit: str = "s", *,
                 key: str | None = None) -> float:
        """Record a machine-dependent number (a time, a rate) to show, never to assert.

        Returns:
            ``value``, unchanged.
        """
        key = _slug(key if key is not None else what)
        self._measures.pop(key, None)
        self._measures[key] = _Measure(key, what, _show_measure(float(value), unit))
        return value

    def report(self) -> Report:
        """The box listing every claim checked so far, and every measurement."""
        return Report(list(self._claims.values()), list(self._measures.values()))


class Report:
    """What a page checked: HTML in Jupyter and the book, text elsewhere."""

    def __init__(self, claims: Sequence[_Claim], measures: Iterable[_Measure]) -> None:
        self.claims = list(claims)
        self.measures = list(measures)

    @property
    def failed(self) -> list[str]:
        """The words of the claims that did not hold."""
        return [c.words for c in self.claims if not c.passed]

    def __str__(self) -> str:
        lines = [f"Checked on this page ({len(self.claims)})"]
        for c in self.claims:
            mark = "✓" if c.passed else "✗ FAILED:"
            note = f" ({_OFF_CPU_NOTE})" if c.off_cpu else ""
            lines.append(f"  {mark} {c.words}: {c.value} (expected {c.condition}){note}")
        if self.measures:
            lines.append("Measured here, not checked (it depends on the machine):")
            lines += [f"  · {m.words}: {m.value}" for m in self.measures]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        e = html.escape
        failed = len(self.failed)
        status = f", {failed} failed" if failed else ""
        rows = []
        for c in self.claims:
            state = "passed" if c.passed else "failed"
            mark = "✓" if c.passed else "✗"
            rows.append(
                f'<li class="claim" id="claim-{e(c.key)}" data-status="{state}">'
                f'<span class="claim-status" aria-label="{state}">{mark}</span> '
                f'<span class="claim-words">{e(c.words)}</span>: '
                f'<span class="claim-value">{e(c.value)}</span> '
                f'<span class="claim-condition">(expected {e(c.condition)})</span>'
                + (f' <span class="claim-note">({_OFF_CPU_NOTE})</span>' if c.off_cpu else "")
                + "</li>"
            )
        measures = "".join(
            f'<li class="measured" id="measured-{e(m.key)}">'
            f'<span class="claim-words">{e(m.words)}</span>: '
            f'<span class="claim-value">{e(m.value)}</span></li>'
            for m in self.measures
        )
        measured = (
            "<p>Measured here, not checked (times depend on the machine):</p>"
            f'<ul class="measured-here">{measures}</ul>' if measures else ""
        )
        return (
            '<details class="checked-claims">'
            f"<summary>Checked on this page ({len(self.claims)}{status})</summary>"
            "<p>Each line is a claim of this page, the value this run measured, and the "
            "condition it was checked against; a claim that fails stops the notebook with an "
            "error that names it (on a GPU, which computes slightly differently, a failing claim "
            "about a result of training or a pinned exact output is marked ✗ here instead, "
            "and the notebook goes on). A ✓ in the text links to its line here.</p>"
            f'<ol class="claims">{"".join(rows)}</ol>{measured}</details>'
        )


_page = Claims()


def check(claim: str, value: Any, condition: Condition, *, key: str | None = None,
          kind: Kind = "result") -> Any:
    """:meth:`Claims.check` on this page's claims (one set per Python process)."""
    return _page.check(claim, value, condition, key=key, kind=kind)


def measured(what: str, value: float, unit: str = "s", *, key: str | None = None) -> float:
    """:meth:`Claims.measured` on this page's claims."""
    return _page.measured(what, value, unit, key=key)


def report() -> Report:
    """:meth:`Claims.report` of this page: the last cell of every chapter shows it.

    Jupyter displays the returned box; outside IPython (a chapter run as a script) nothing
    displays a cell's last value, so the text version is printed as well.
    """
    result = _page.report()
    if not _in_ipython():
        print(result)
    return result


def _in_ipython() -> bool:
    ipython = sys.modules.get("IPython")
    return ipython is not None and ipython.get_ipython() is not None
