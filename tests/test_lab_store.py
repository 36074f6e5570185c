"""The lab's stored runs: migration v4 (from a v3 store with data), the row contract, and evidence."""

from __future__ import annotations

import pytest

from studytool import lab
from studytool.store import Store, utcnow


def _record(store, exp="layernorm", status="completed", quick=False, reproduced=True):
    return lab.record_run(
        store,
        experiment=exp,
        status=status,
        quick=quick,
        seed=3,
        settings={"a": 1},
        sources={"prenorm_postnorm": "reference"},
        results={"x": [1.0, None]} if status == "completed" else None,
        reproduced=reproduced if status == "completed" else None,
        verdict={"findings": [{"en": "f", "zh": "f"}]},
        environment={"torch": "2"},
        error=None if status == "completed" else "boom",
        duration_s=1.5,
        started_at=utcnow(),
    )


def test_migration_v4_from_a_v3_store_keeps_its_data(tmp_path):
    path = tmp_path / "s.db"
    with Store(path, migrate=False) as store:
        store.migrate(3)
        store.record_exercise_attempt("rope", "code", {"status": "pass", "passed": 2, "total": 2})
        assert "lab_runs" not in store.db.table_names()
    with Store(path) as store:
        assert store.version >= 4  # and on to the latest (5: item_state.last_review)
        assert store.integrity_check() == "ok"
        assert store.exercise_summary()["rope"].passed
        cols = {c.name for c in store.db["lab_runs"].columns}
        assert {
            "experiment",
            "status",
            "quick",
            "seed",
            "settings_json",
            "sources_json",
            "results_json",
            "reproduced",
            "environment_json",
            "duration_s",
        } <= cols
        names = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        assert "lab_runs_exp" in names
        r = _record(store)
        assert lab.get_run(store, r.id) == r
        assert r.results == {"x": [1.0, None]} and r.reproduced is True and r.seed == 3


def test_only_a_completed_run_carries_results(tmp_path):
    with Store(tmp_path / "s.db") as store:
        with pytest.raises(ValueError):
            lab.record_run(
                store,
                experiment="kv_decode",
                status="cancelled",
                quick=True,
                seed=0,
                settings={},
                sources={},
                results={"x": 1},
                reproduced=None,
                verdict={},
                environment={},
                error=None,
                duration_s=0.0,
                started_at=utcnow(),
            )
        with pytest.raises(ValueError):
            _record(store, status="running")
        assert lab.runs(store) == []
        r = _record(store, status="failed")
        assert r.results is None and r.reproduced is None and r.error == "boom"


def test_a_completed_default_run_ticks_its_checklist_items(tmp_path):
    from studytool.checklist import Evidence, checklist_status
    from studytool.content import default_content

    content, _ = default_content()
    with Store(tmp_path / "s.db") as store:

        def status(item):
            return next(s for s in checklist_status(store, content) if s.item.id == item)

        assert not status("t04").done
        _record(store, quick=True)  # a quick run checks the machinery: no evidence
        _record(store, status="failed")
        assert not status("t04").done
        r = _record(store, reproduced=False)  # completed, whatever it found
        st = status("t04")
        assert st.done and st.source == "evidence"
        assert Evidence("lab", "layernorm", r.id) in st.evidence
        assert st.evidence[0].render("zh") == f"实验 layernorm 第 {r.id} 次运行已完成"
        # an item with exercises still needs them: attention_cost serves p05 (linear_attention)
        _record(store, exp="attention_cost")
        p05 = status("p05")
        assert not p05.done and Evidence("exercise", "linear_attention") in p05.missing
        assert any(e.kind == "lab" and e.id == "attention_cost" for e in p05.evidence)
        assert status("s04").done
