"""d2lmini.claims: a claim passes or fails as its condition says, and the box shows every one."""

from __future__ import annotations

import doctest
import re
import subprocess
import sys

import pytest
import torch

import d2lmini.claims
from d2lmini.claims import (
    ClaimError,
    Claims,
    above,
    at_least,
    at_most,
    below,
    between,
    each,
    equals,
    holds,
    near,
    satisfies,
)


def test_docstring_example() -> None:
    result = doctest.testmod(d2lmini.claims)
    assert result.attempted >= 3 and result.failed == 0


@pytest.mark.parametrize(
    ("condition", "passing", "failing"),
    [
        (above(10), 10.5, 10),
        (at_least(10), 10, 9.99),
        (below(1e-6), 1e-7, 1e-6),
        (at_most(3), 3, 3.01),
        (between(1.80, 1.88), 1.865, 1.88),
        (near(6.0, 1e-6), 6.0000005, 6.00001),
        (near(24.0, 0.1, relative=True), 26.3, 26.5),
        (equals([5, 4, 8]), (5, 4, 8), [5, 4, 9]),
        (equals(3), torch.tensor(3), torch.tensor(4)),
        (each(above(1.5)), [1.94, 1.98, 2.79], [1.94, 1.2]),
        (each(below(1)), {"a": 0.5, "b": 0.9}, {"a": 0.5, "b": 1.0}),
        (holds, True, False),
        (satisfies("is sorted", lambda v: list(v) == sorted(v)), [1, 2, 3], [2, 1]),
    ],
)
def test_conditions_pass_and_fail_at_their_bounds(condition: object, passing: object,
                                                  failing: object) -> None:
    claims = Claims()
    assert claims.check("the claim", passing, condition) is passing  # type: ignore[arg-type]
    with pytest.raises(ClaimError):
        claims.check("the claim", failing, condition)  # type: ignore[arg-type]


def test_a_tensor_scalar_is_compared_as_a_number() -> None:
    Claims().check("loss below 2", torch.tensor(1.5), below(2))


def test_each_of_nothing_fails() -> None:
    with pytest.raises(ClaimError):
        Claims().check("every run", [], each(above(0)))


def test_the_error_quotes_claim_value_condition_and_cause() -> None:
    claims = Claims()
    with pytest.raises(ClaimError) as failure:
        claims.check("the cache is over 3x faster at 384 tokens", 2.7, above(3), kind="timing")
    message = str(failure.value)
    assert "the cache is over 3x faster at 384 tokens" in message
    assert "2.7" in message and "> 3" in message
    assert "busy" in message  # the timing advice: a slow or busy machine
    assert isinstance(failure.value, AssertionError)


@pytest.mark.parametrize(("kind", "advice"), [("exact", "device"), ("result", "from the top")])
def test_each_kind_gives_its_own_advice(kind: str, advice: str) -> None:
    with pytest.raises(ClaimError, match=advice):
        Claims().check("x", 1, equals(2), kind=kind)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["trained", "exact"])
def test_on_a_gpu_a_result_of_training_that_differs_is_marked_not_raised(
        kind: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    claims = Claims()
    with pytest.raises(ClaimError, match="from the top" if kind == "trained" else "device"):
        claims.check("the MLP wins", 0.2, above(0.3), key="wins", kind=kind)  # type: ignore[arg-type]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # as on Colab's GPU
    claims.check("the MLP wins", 0.2, above(0.3), key="wins", kind=kind)  # type: ignore[arg-type]
    claims.check("it learns", 0.9, above(0.5), kind=kind)  # type: ignore[arg-type]
    assert "the claim 'the MLP wins' does not hold in this run (0.2, expected > 0.3)" in \
        capsys.readouterr().out
    with pytest.raises(ClaimError):  # any other kind still stops the notebook
        claims.check("ours equals PyTorch's", 1e-3, below(1e-6))
    report = claims.report()
    assert report.failed == ["the MLP wins", "ours equals PyTorch's"]
    assert "✗ FAILED: the MLP wins: 0.2 (expected > 0.3) (not on this device" in str(report)
    assert "✓ it learns" in str(report)
    box = report._repr_html_()
    assert re.search(r'id="claim-wins" data-status="failed">.*?'
                     r'<span class="claim-note">\(not on this device: ', box)
    assert box.count('class="claim-note"') == 1


def test_a_condition_that_cannot_be_evaluated_fails_clearly() -> None:
    with pytest.raises(ClaimError, match="Could not check"):
        Claims().check("a number", "not a number", above(1))


def test_bad_arguments_say_what_to_do() -> None:
    with pytest.raises(TypeError, match="must be a Condition"):
        Claims().check("x", 1, lambda v: v > 0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="kind must be one of"):
        Claims().check("x", 1, above(0), kind="speed")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lower bound"):
        between(2, 1)
    with pytest.raises(ValueError, match="positive"):
        near(1, 0)


def test_the_report_lists_claims_in_order_and_measures_apart() -> None:
    claims = Claims()
    claims.check("first", 1, equals(1), key="first")
    claims.check("second claim", 0.25, below(1))
    claims.measured("one step", 0.0123)
    claims.measured("throughput", 1234.5, "tokens/s")
    text = str(claims.report())
    assert text.index("first") < text.index("second claim")
    assert "Checked on this page (2)" in text
    assert "one step: 12.3 ms" in text and "throughput: 1.23e+03 tokens/s" in text


def test_the_html_box_has_the_hooks_the_book_relies_on() -> None:
    claims = Claims()
    claims.check("a < b & c", 3, above(2), key="amp")
    with pytest.raises(ClaimError):
        claims.check("fails", 1, above(2))
    claims.measured("a time", 2.5)
    box = claims.report()._repr_html_()
    assert box.startswith('<details class="checked-claims">')
    assert "Checked on this page (2, 1 failed)" in box
    items = re.findall(r'<li class="claim" id="claim-([a-z0-9-]+)" data-status="(\w+)"', box)
    assert items == [("amp", "passed"), ("fails", "failed")]
    assert "a &lt; b &amp; c" in box  # the words are escaped
    assert 'class="measured"' in box and "2.5 s" in box
    assert claims.report().failed == ["fails"]


def test_running_a_claim_again_replaces_it() -> None:
    claims = Claims()
    claims.check("loss below 2", 1.9, below(2))
    claims.check("other", 1, holds)
    claims.check("loss below 2", 1.5, below(2))
    report = claims.report()
    assert [c.words for c in report.claims] == ["other", "loss below 2"]
    assert report.claims[1].value == "1.5"


def test_a_passing_claim_fixed_after_a_failure_shows_passed() -> None:
    claims = Claims()
    with pytest.raises(ClaimError):
        claims.check("loss below 2", 2.5, below(2))
    claims.check("loss below 2", 1.5, below(2))
    assert claims.report().failed == []


def test_values_are_shown_as_a_reader_reads_them() -> None:
    claims = Claims()
    claims.check("big", 354309, above(0))
    claims.check("float", 1.86482, above(0))
    claims.check("long", list(range(20)), satisfies("any", lambda v: True))
    shown = {c.words: c.value for c in claims.report().claims}
    assert shown == {"big": "354,309", "float": "1.865",
                     "long": "[0, 1, 2, 3, 4, 5, 6, 7, …]"}


def test_a_script_prints_the_report() -> None:
    code = (
        "from d2lmini.claims import check, report, above\n"
        "check('two is above one', 2, above(1))\n"
        "report()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "Checked on this page (1)" in out and "✓ two is above one" in out
