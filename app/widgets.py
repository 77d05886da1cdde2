"""Small widget helpers shared by the app's windows."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QScrollArea, QVBoxLayout, QWidget


def scrolling(widget: QWidget) -> QScrollArea:
    """`widget` in a scroll area, so a dock can shrink below its content's height."""
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    return area


def side_panel(widgets, width: int) -> QScrollArea:
    """`widgets` stacked in a panel of fixed width that scrolls vertically.

    The controls scroll rather than set the window's minimum height: at 1280 x 720 (or with the
    arrangement editor open, or a long result) nothing falls off the screen, and the 3-D view
    keeps its size when the panel's content grows."""
    panel = QWidget()
    column = QVBoxLayout(panel)
    for w in widgets:
        column.addWidget(w)
    column.addStretch(1)
    area = scrolling(panel)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    panel.setFixedWidth(width)
    area.setFixedWidth(width + area.verticalScrollBar().sizeHint().width() + 4)
    return area
