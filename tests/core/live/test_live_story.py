"""Issue 20, the live engine (headless, no Qt): the same verdict and hints as `main.py train` for the same run,
and a verdict that names the step it judged once training continues past the step total."""

from core.live.engine import LiveEngine
from core.runs.headless import train
from tests.core.runs.test_collapse import COLLAPSE, RISE_CODES, collapse_report


def run_to_end(cfg) -> LiveEngine:
    eng = LiveEngine(cfg)
    eng.start()
    while eng.running:
        eng.advance(1.0)
    return eng


def test_the_live_engine_gives_the_headless_verdict_and_hint_for_the_collapse_run():
    eng = run_to_end(COLLAPSE)
    s = eng.snapshot()
    report = collapse_report()
    assert s.verdict is not None and s.verdict.code == "lost"
    assert s.verdict.to_dict() == report["final"]["verdict"]  # the same object, field for field, story included
    live_codes = [(h.code, h.level) for h in s.analysis.hints]
    assert RISE_CODES & {c for c, lvl in live_codes if lvl == "warning"}
    assert [h for h in s.analysis.hints if h.code in RISE_CODES][0].to_dict() in report["hints"]


def test_a_verdict_after_start_continues_names_its_step():
    cfg = COLLAPSE.replace(lr=1e-3, steps=1500, eval_steps=300)
    eng = run_to_end(cfg)
    first = eng.verdict
    assert first is not None and first.step == 1500 and "at step 1,500" in first.text
    eng.start()  # Start continues past the step total
    eng.advance(budget_s=600, max_steps=700)  # the step count ends it, not the clock
    assert eng.running and eng.steps == 2200
    assert eng.snapshot().verdict.text == first.text  # still the step-1,500 verdict, and it says so
    eng.pause()  # paused past its end: judged again where it stands
    v = eng.snapshot().verdict
    assert v.step == 2200 and "at step 2,200" in v.text
    # measured at step 2,200: the held-out figures of a headless run of that length
    final = train(cfg.replace(steps=2200), log_every=2200, out=lambda *_: None)["final"]
    assert (v.figure, v.loss, v.n) == (final["heldout_accuracy"], final["heldout_loss"], final["heldout_steps"])
    assert eng.judge().step == 2200  # asked: judged at this step (no training happened)
