"""The crash soak, short: SIGKILL the pipeline at random moments, check the lake, rerun, converge.

``make soak`` runs ``python -m bench.soak --trials 50``; this is the same harness with three small
trials (see ``bench/soak.py``): a driver process pulls a week of catalog from the local FDSN service,
evaluates it (an expedition opens) and ingests a building survey; it is killed with SIGKILL after a
random delay, the lake is opened and checked (no partial rows), the trial is rerun and the lake
checked again; at the end it must equal a reference lake that ran without interruption.

Three trials, not five (issue 15: the suite's time): the soak aims its kills at the steps in turn, so
the three kills are aimed one inside each of pull, evaluate and survey, with a random delay within the
step (five trials with the step drawn at random could leave one step without a kill).
Each trial costs about 8 s of CPU (a fresh driver process with its imports and reference data, the
reference run beside it, the rerun and the checks). The many random trials are ``make soak`` (50).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import soak


@pytest.mark.slow
def test_killed_pipeline_leaves_whole_transactions_and_converges(tmp_path: Path) -> None:
    report = soak.soak(3, tmp_path, seed=7, background=20, survey_rows=60, via="lib")
    table = report.table()
    assert not report.divergence, table
    for trial in report.trials:
        assert trial.problems == [], table
    assert [t.aimed_at for t in report.trials] == list(soak.STEPS), table
    assert any(t.killed_in in soak.STEPS for t in report.trials), "no kill interrupted a step:\n" + table
    assert report.reference["events"] == report.soaked["events"] > 0
    assert len(report.reference["expeditions"]) == 3 and report.reference["survey_rows"] == 3 * 60
    # the checker is not blind: break one invariant on purpose and it must say so
    home = tmp_path / "soak" / "home"
    assert soak.check(home) == []
    from expedition.settings import load_settings
    from warehouse.lake import Lake

    lake = Lake.from_settings(load_settings(home))
    with lake.writer() as w:
        w.delete("event_revisions", "event_revision = ?", [1])
    assert any(p.startswith("every event has all its revisions") for p in soak.check(home))
