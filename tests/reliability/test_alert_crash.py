"""kill -9 during alert delivery: nothing lost, at most one duplicate per kill, ledger intact.
(The full measurement is `bench/alert_crash.py`; CI runs a smaller count.)"""
from __future__ import annotations

import os

from bench.alert_crash import run


def test_kill9_during_delivery_loses_nothing():
    kills = int(os.environ.get("CHAVDER_RELIABILITY_KILLS", "6"))
    result = run(stories=40, kills=kills, seed=7, quiet=True)
    assert result["losses"] == 0, result
    assert result["duplicates"] <= result["kills_landed"], result
    assert result["ledger"] == {"sent": 40}, result
    assert result["integrity"] == "ok" and result["final_exit"] == 0
