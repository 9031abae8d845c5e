"""The guided explanation end to end in real Chromium (issue 18): every step in both
languages, each question answered from the numbers the page prints (read from the DOM, not
from a fixture) and accepted, a wrong answer refused, progress kept across a reload, the
gradient check on the live model, and the glossary.
"""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import READY_TIMEOUT_MS

pytestmark = pytest.mark.browser

STEPS = 20

# The numbers the equations panel prints (its 4-digit text), first occurrence per quantity.
EQ_NUMBERS = """() => {
  const out = {};
  for (const el of document.querySelectorAll('[data-testid=equations] .eq-n[data-q]')) {
    if (!(el.dataset.q in out)) out[el.dataset.q] = el.textContent;
  }
  return out;
}"""


def number(text: str) -> float:
    return float(text.replace("\u2212", "-").strip())


def answer(question_id: str, nums: dict[str, str], prompt: str) -> float:
    """What a reader works out from the printed numbers (and, for `init`, the prompt's T)."""
    n = {q: number(v) for q, v in nums.items()}
    if question_id == "keep":
        return n["f"] * n["c_prev"]
    if question_id == "write":
        return n["i"] * n["g"]
    if question_id == "edge":
        return n["dc"] * n["f"]
    if question_id == "closed":
        return 0.0
    if question_id == "throughH":
        return n["dc"] - n["dc_next"]
    if question_id == "init":
        steps = int(re.findall(r"\d+", prompt)[-1])
        return 0.5**steps
    raise AssertionError(question_id)


def check(question, text: str) -> str:
    question.get_by_test_id("question-answer").fill(text)
    question.get_by_test_id("question-check").click()
    result = question.get_by_test_id("question-result")
    result.wait_for(state="visible")
    return result.get_attribute("data-result")


def walk(probe, lang: str) -> list[str]:
    """Every step from the first; each question answered right (and one answer wrong first)."""
    page = probe.page
    page.locator("#explain-dots button[data-step='0']").click()
    probe.wait_attr("explain", "step", "1")
    asked = []
    for k in range(1, STEPS + 1):
        probe.wait_attr("explain", "step", str(k))
        step = probe.testid("explain")
        mode = "forward" if k <= 7 else "backward"
        page.wait_for_function(
            "m => document.querySelector('[data-testid=equations]').dataset.mode === m",
            arg=mode,
            timeout=READY_TIMEOUT_MS,
        )
        text = page.locator("#explain-text").inner_text()
        assert "{" not in text, f"{lang} step {k}: unfilled placeholder in {text[:200]}"
        if lang == "ko":
            assert re.search("[가-힣]", text), f"step {k} is not in Korean"
        questions = step.get_by_test_id("question")
        for q in range(questions.count()):
            question = questions.nth(q)
            qid = question.get_attribute("data-question")
            prompt = question.locator(".question-prompt").inner_text()
            right = answer(qid, page.evaluate(EQ_NUMBERS), prompt)
            wrong = right + 0.5 if right == 0 else right * 1.5 + 0.1
            assert check(question, f"{wrong:.6g}") == "wrong", f"{lang} {qid}: a wrong answer was accepted"
            assert check(question, f"{right:.6g}") == "correct", f"{lang} {qid}: {right} refused ({prompt})"
            asked.append(qid)
        if k < STEPS:
            probe.testid("explain-next").click()
    return asked


def test_the_explanation_in_both_languages_with_its_questions(probe):
    probe.open()
    probe.page.evaluate("() => localStorage.removeItem('lstm-viz.questions.v1')")
    probe.open()
    asked = walk(probe, "en")
    assert asked == ["keep", "write", "edge", "closed", "throughH", "init"]
    # Questions sit in both the forward and the backward part.
    assert probe.testid("question-progress").get_attribute("data-answered") == "6"

    # The gradient check on the live model (the step before the last).
    probe.testid("explain-prev").click()
    probe.wait_attr("explain", "step-id", "gradcheck")
    probe.testid("gradcheck-run").click()
    probe.wait_attr("gradcheck-result", "passed", "true", timeout=60_000)
    assert (
        "W" in probe.testid("gradcheck-result").inner_text()
        or "weight" in probe.testid("gradcheck-result").inner_text()
    )

    # The glossary lists the book's Korean terms.
    glossary = probe.testid("glossary")
    glossary.locator("summary").click()
    assert "기울기 클리핑" in glossary.inner_text() and "기억 셀" in glossary.inner_text()

    # Korean: the same walk, the same questions, answered from the same kind of numbers.
    probe.testid("lang").click()
    probe.page.wait_for_selector('body[data-lang="ko"]')
    assert walk(probe, "ko") == asked
    assert "맞힌 질문" in probe.testid("question-progress").inner_text()

    # Progress survives a reload.
    probe.open()
    assert probe.testid("question-progress").get_attribute("data-answered") == "6"
