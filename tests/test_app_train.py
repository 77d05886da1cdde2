"""The Train tab, end to end: demonstrations collected in the app, a fine-tune of the shipped
move model in its own process, stopped and resumed, the evaluation beside the model in use, and
the planner switched to the new model; bad data refused with its reason."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from planner.config import SHIPPED_MOVER  # noqa: E402
from planner.model_store import CHECKPOINT, SHIPPED_NAME  # noqa: E402

pytestmark = pytest.mark.skipif(not SHIPPED_MOVER.exists(), reason="needs the shipped move model")


def collect_demos(window, qtbot, n: int) -> None:
    c = window.collector
    window.blocks.setValue(2)  # two-block towers: one move a demonstration, fast to collect and to plan
    c.task.setCurrentText("conditional")
    c.episodes.setValue(n)
    with qtbot.waitSignal(c.collectionFinished, timeout=120_000):
        c.start()
    assert "Wrote" in c.status.text(), c.status.text()


def wait_job(qtbot, trainer, timeout: int = 180_000) -> str:
    with qtbot.waitSignal(trainer.jobFinished, timeout=timeout) as blocker:
        pass
    return blocker.args[0]


def digest(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_collect_fine_tune_stop_resume_evaluate_and_plan_with_the_new_model(window, qtbot):
    shipped_before = digest(SHIPPED_MOVER)
    collect_demos(window, qtbot, 3)
    t = window.trainer
    t.refresh()
    assert t.ticked_data()[0] == str(window.collector.path)
    t.data.item(1).setCheckState(t.data.item(1).checkState().Unchecked)  # the app's demos alone: a fast test
    assert t.start_from.currentData() == SHIPPED_NAME  # the default: fine-tune the model in use
    t.batch.setValue(8)
    window.planner_panel.candidates.setValue(2)  # the evaluation plans with the planner's settings
    t.eval_task.setCurrentText("conditional")
    t.eval_blocks.setValue(2)
    t.eval_episodes.setValue(1)
    name = t.start_training(steps=10**6)
    assert name is not None, t.status.text()
    qtbot.waitUntil(lambda: t.store.info(name).step >= 3, timeout=120_000)
    assert t.stop_button.isEnabled() and not t.train_button.isEnabled()  # one job at a time
    t.stop()
    assert wait_job(qtbot, t) == "stopped", t.status.text()
    stopped = t.store.info(name)
    assert stopped.state == "stopped" and stopped.step >= 3 and (t.store.folder(name) / CHECKPOINT).exists()
    assert stopped.init_from == str(SHIPPED_MOVER) and stopped.valid and stopped.losses  # the curves are recorded
    assert stopped.valid[0][0] == 0  # a fine-tune's curve starts at the shipped model's error
    assert len(t.valid_curve.getData()[0]) >= 1  # and drawn
    # Resume goes on from the checkpoint, not from zero; when it ends the evaluation starts by itself.
    t.select(name)
    assert t.resume_button.isEnabled()
    t.resume(steps=stopped.step + 3)
    assert wait_job(qtbot, t) == "done", t.status.text()
    info = t.store.info(name)
    assert info.state == "finished" and info.step == stopped.step + 3 and Path(info.path).exists()
    assert wait_job(qtbot, t) == "done", t.status.text()  # the evaluation: the new model beside the shipped one
    case = "conditional, 2 blocks, 1 episodes, seed 0"
    new, shipped = t.store.info(name).score_on(case), t.store.info(SHIPPED_NAME).score_on(case)
    assert new is not None and shipped is not None and new.against == SHIPPED_NAME
    assert name in t.status.text() and "shipped" in t.status.text()
    assert digest(SHIPPED_MOVER) == shipped_before and t.store.name_of(window.planner_panel.mover) == SHIPPED_NAME
    # Use this model: the window's Diffuser plans with it.
    t.select(name)
    assert t.use_button.isEnabled()
    t.use_button.click()
    assert window.planner_panel.mover == info.path
    from tests.app_helpers import plan_goal

    plan, _ = plan_goal(window, qtbot, "green,red")
    assert plan.settings["mover"] == f"{name}/model.pt"
    window.close()
    assert window.prefs.value("planner/mover") == info.path  # remembered for the next run


def test_bad_data_is_refused_with_its_reason_and_nothing_starts(window, qtbot, tmp_path):
    t = window.trainer
    t.data.item(1).setCheckState(t.data.item(1).checkState().Unchecked)
    assert t.start_training() is None  # the app's demonstrations file does not exist yet
    assert "collect some in the Demonstrations tab" in t.status.text()
    broken = tmp_path / "broken.h5"
    broken.write_bytes(b"not an hdf5 file")
    t.data.item(0).setCheckState(t.data.item(0).checkState().Unchecked)
    t.pick_files([str(broken)])
    assert "unreadable" in t.data.item(t.data.count() - 1).text()
    assert t.start_training(steps=10) is None
    assert "broken.h5" in t.status.text() and t.job is None, t.status.text()
    assert t.store.names() == []  # no model made
    assert SHIPPED_MOVER.exists()
