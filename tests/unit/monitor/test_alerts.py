"""The alert lifecycle: fire once, remind, resolve, suppress behind a dependency, stop."""

from __future__ import annotations

from interlock.monitor.alerts import AlertEngine, Breach, ProbeView


def _views(**down: bool) -> dict[str, ProbeView]:
    return {
        "db": ProbeView(down=down.get("db", False), checked_at=100),
        "app": ProbeView(down=down.get("app", False), checked_at=100, depends_on=("db",)),
    }


DB_DOWN = Breach("down", "db", "db is down")
APP_DOWN = Breach("down", "app", "app is down")


def test_a_breach_fires_once_then_resolves_once() -> None:
    engine = AlertEngine(remind_every=0)
    events, _ = engine.evaluate(100, [DB_DOWN], _views(db=True))
    assert [(e.kind, e.alert.key) for e in events] == [("firing", "down:db")]
    events, _ = engine.evaluate(101, [DB_DOWN], _views(db=True))
    assert events == []
    events, _ = engine.evaluate(102, [], _views())
    assert [(e.kind, e.alert.key) for e in events] == [("resolved", "down:db")]


def test_for_duration_holds_the_alert_pending() -> None:
    engine = AlertEngine(for_s=5)
    assert engine.evaluate(100, [DB_DOWN], _views(db=True))[0] == []
    assert engine.open["down:db"].state == "pending"
    assert engine.evaluate(104, [DB_DOWN], _views(db=True))[0] == []
    events, _ = engine.evaluate(105, [DB_DOWN], _views(db=True))
    assert [e.kind for e in events] == ["firing"]


def test_a_breach_that_clears_before_its_for_duration_sends_nothing() -> None:
    engine = AlertEngine(for_s=5)
    engine.evaluate(100, [DB_DOWN], _views(db=True))
    assert engine.evaluate(102, [], _views())[0] == []


def test_firing_alert_is_reminded_every_interval() -> None:
    engine = AlertEngine(remind_every=10)
    engine.evaluate(100, [DB_DOWN], _views(db=True))
    assert engine.evaluate(109, [DB_DOWN], _views(db=True))[0] == []
    events, _ = engine.evaluate(110, [DB_DOWN], _views(db=True))
    assert [e.kind for e in events] == ["reminder"]
    assert engine.evaluate(115, [DB_DOWN], _views(db=True))[0] == []


def test_dependent_alert_is_suppressed_while_its_dependency_is_down() -> None:
    engine = AlertEngine()
    events, _ = engine.evaluate(100, [DB_DOWN, APP_DOWN], _views(db=True, app=True))
    assert [e.alert.key for e in events] == ["down:db"]
    app = engine.open["down:app"]
    assert (app.state, app.reason) == ("suppressed", "depends on db, which is down")
    # both recover: one resolve notice, for the alert that was sent
    events, changed = engine.evaluate(101, [], _views())
    assert [(e.kind, e.alert.key) for e in events] == [("resolved", "down:db")]
    reasons = {a.key: (a.state, a.reason) for a in changed}
    assert reasons["down:app"] == ("resolved", "cleared while suppressed")


def test_dependent_alert_waits_for_a_fresh_verdict_of_its_dependency() -> None:
    engine = AlertEngine()
    stale = {
        "db": ProbeView(down=False, checked_at=90),
        "app": ProbeView(down=True, checked_at=100, depends_on=("db",)),
    }
    assert engine.evaluate(100, [APP_DOWN], stale)[0] == []
    assert engine.open["down:app"].state == "pending"
    # the database's next check says it is down: the app's alert is suppressed, not sent
    events, _ = engine.evaluate(101, [APP_DOWN, DB_DOWN], _views(db=True, app=True))
    assert [e.alert.key for e in events] == ["down:db"]
    assert engine.open["down:app"].state == "suppressed"


def test_dependent_alert_fires_when_its_dependency_is_up() -> None:
    engine = AlertEngine()
    fresh = {
        "db": ProbeView(down=False, checked_at=101),
        "app": ProbeView(down=True, checked_at=100, depends_on=("db",)),
    }
    events, _ = engine.evaluate(100, [APP_DOWN], fresh)
    assert [e.alert.key for e in events] == ["down:app"]


def test_after_the_dependency_recovers_the_dependent_needs_a_new_check_to_fire() -> None:
    engine = AlertEngine()
    engine.evaluate(100, [DB_DOWN, APP_DOWN], _views(db=True, app=True))
    recovered = {
        "db": ProbeView(down=False, checked_at=110),
        "app": ProbeView(down=True, checked_at=100, depends_on=("db",)),
    }
    # the app's last failure was during the outage: no alert on that alone
    events, _ = engine.evaluate(110, [APP_DOWN], recovered)
    assert [e.kind for e in events] == ["resolved"]
    rechecked = {**recovered, "app": ProbeView(down=True, checked_at=112, depends_on=("db",))}
    events, _ = engine.evaluate(112, [APP_DOWN], rechecked)
    assert [(e.kind, e.alert.key) for e in events] == [("firing", "down:app")]


def test_window_alert_of_a_probe_that_is_down_is_suppressed_by_its_down_alert() -> None:
    engine = AlertEngine()
    rate = Breach("success_rate", "db", "db success rate 0%")
    events, _ = engine.evaluate(100, [DB_DOWN, rate], _views(db=True))
    assert [e.alert.key for e in events] == ["down:db"]
    assert engine.open["success_rate:db"].reason == "db is down"


def test_stop_ends_every_open_alert_as_monitor_stopped() -> None:
    engine = AlertEngine()
    engine.evaluate(100, [DB_DOWN, APP_DOWN], _views(db=True, app=True))
    events, stopped = engine.stop(105)
    assert [(e.kind, e.alert.key) for e in events] == [("stopped", "down:db")]
    assert {(a.key, a.state, a.reason) for a in stopped} == {
        ("down:db", "stopped", "monitor stopped"),
        ("down:app", "stopped", "monitor stopped"),
    }
    assert engine.open == {}
