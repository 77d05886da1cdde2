"""Helpers the app tests share."""


def plan_goal(window, qtbot, text: str):
    """Type `text` as the goal, plan it in the window and wait: (the plan, its execution)."""
    window.goal_editor.set_text(text)
    assert window.goal_editor.goal is not None, window.goal_editor.message.text()
    with qtbot.waitSignal(window.planFinished, timeout=120_000):
        window.start_plan()
    assert window.plan is not None, window.result_label.text()
    return window.plan, window.last_result


def library_window(qtbot, tmp_path, n: int, states: int = 3):
    """A window over a plans file of `n` demonstrator plans (`states` states each), its prefs in tmp_path."""
    import numpy as np
    from PySide6.QtCore import QSettings

    from app.main_window import MainWindow
    from tasks.goals import parse_goal
    from tasks.plans import Plan, append_plan
    from tasks.world import initial_state

    plans = tmp_path / "plans.h5"
    for k in range(n):
        append_plan(plans, Plan(np.repeat(initial_state(k)[None], states, 0), parse_goal("red,green"), "demonstrator",
                                name=f"p{k}", created=f"2026-01-01T00:00:{k:02d}"))
    w = MainWindow(prefs=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), plans_file=plans,
                   dataset_file=tmp_path / "demos.h5", models_dir=tmp_path / "models")
    qtbot.addWidget(w)
    w.resize(1280, 720)
    w.show()
    qtbot.waitExposed(w)
    return w
