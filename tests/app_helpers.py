"""Helpers the app tests share."""


def plan_goal(window, qtbot, text: str):
    """Type `text` as the goal, plan it in the window and wait: (the plan, its execution)."""
    window.goal_editor.set_text(text)
    assert window.goal_editor.goal is not None, window.goal_editor.message.text()
    with qtbot.waitSignal(window.planFinished, timeout=120_000):
        window.start_plan()
    assert window.plan is not None, window.result_label.text()
    return window.plan, window.last_result
