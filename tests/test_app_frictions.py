"""The app as a new user finds it (issue 21): the frictions removed, each with a test."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QFileDialog, QMessageBox, QStyle  # noqa: E402

from app.goal_editor import MODES  # noqa: E402
from app.main_window import MainWindow  # noqa: E402
from tests.app_helpers import library_window  # noqa: E402
from app.render import OrbitCamera  # noqa: E402
from tasks.layout import BLOCK_NAMES, LAYOUT  # noqa: E402
from tasks.world import initial_state  # noqa: E402


def test_plan_is_in_sight_at_1280_by_720_in_every_goal_mode(window, qtbot):
    window.resize(1280, 720)
    button = window.planner_panel.plan_button
    for mode in MODES:
        window.goal_editor.mode.setCurrentText(mode)
        qtbot.wait(20)
        assert button.visibleRegion().boundingRect().size() == button.size(), mode


def test_every_block_of_scene_0_is_in_sight_from_the_default_camera(window):
    from app.render import shared_renderer

    state, camera = initial_state(0), OrbitCamera()
    for name in BLOCK_NAMES:
        u, v = camera.project(state[LAYOUT.block(name).position][None] + [0, 0, 0.03], 640 / 400)[0]
        assert 0 < u < 1 and 0 < v < 1 and shared_renderer().pick(state, camera, u, v, 640 / 400) == name


def test_the_library_shows_rows_and_its_dock_can_take_the_height(qtbot, tmp_path):
    w = library_window(qtbot, tmp_path, 8)
    table = w.library.table
    assert table.viewport().height() >= 4 * table.rowHeight(0)  # four rows at least
    w.resizeDocks([w.library_dock], [400], Qt.Orientation.Vertical)
    qtbot.wait(20)
    assert w.library_dock.height() >= 350  # the splitter gives (nearly) the height asked for


def test_library_rows_show_their_plan_new_ones_scroll_into_view_undo_puts_back_in_place(qtbot, tmp_path, monkeypatch):
    from tests.test_app_issue21 import executed, made_plan

    (tmp_path / "empty").mkdir()
    empty = library_window(qtbot, tmp_path / "empty", 0)
    assert not any(b.isEnabled() for b in empty.library.buttons.values())  # nothing to act on
    w = library_window(qtbot, tmp_path, 12)
    lib = w.library
    lib.select(1)
    assert w.plan is not None and w.plan.name == "p1" and w.viewer.frames is not None  # the plan itself
    assert lib.buttons["Replay"].isEnabled() and not lib.buttons["Compare"].isEnabled()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    lib.delete()
    lib.undo_delete()
    assert [p.name for p in lib.plans][:3] == ["p0", "p1", "p2"]  # back in its place
    lib.table.scrollToTop()
    w._plan_done(made_plan().with_result(100, True), executed(made_plan()))
    row = lib.row_of(w.plan.id)
    assert row == 12 and lib.selected().id == w.plan.id
    assert lib.table.visualItemRect(lib.table.item(row, 0)).intersects(lib.table.viewport().rect())


def test_file_dialogs_start_in_the_last_folder_and_suggest_the_plans_name(qtbot, tmp_path, monkeypatch):
    w = library_window(qtbot, tmp_path, 2)
    asked = []

    def dialog(parent, title, start, filters):
        asked.append(start)
        return (str(tmp_path / "out" / Path(start).name), filters)

    (tmp_path / "out").mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", dialog)
    w.library.select(1)
    w.library.export()
    assert Path(asked[0]).name == "p1.h5" and Path(asked[0]).parent != Path.cwd()
    w.library.export()
    assert Path(asked[1]).parent == tmp_path / "out"  # where the last file went
    w.close()
    again = MainWindow(prefs=w.prefs, plans_file=w.library.path, dataset_file=tmp_path / "demos.h5")
    qtbot.addWidget(again)
    again.library.select(0)
    again.library.export()
    assert Path(asked[2]) == tmp_path / "out" / "p0.h5"  # remembered across a restart


def test_editor_texts_say_metres_floor_spots_and_references(window):
    editor = window.goal_editor
    editor.mode.setCurrentText("Arrangement")
    for axis in ("left", "bottom"):
        label = editor.topdown.plot.getAxis(axis).labelString()
        assert "(m)" in label and "mm" not in label
    assert "reference" in editor.message.text()  # the empty goal's hint
    editor.topdown.drop("red", [0.55, -0.30])
    assert "red on the floor at 0.55, -0.30" in editor.hint.text()


def test_clicking_a_sliders_groove_jumps_there(window):
    slider = window.playback.slider
    assert slider.style().styleHint(QStyle.StyleHint.SH_Slider_AbsoluteSetButtons, None, slider) == \
        Qt.MouseButton.LeftButton.value
