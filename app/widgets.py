"""Small widget helpers shared by the app's windows."""
from __future__ import annotations

from PySide6.QtWidgets import QScrollArea, QWidget


def scrolling(widget: QWidget) -> QScrollArea:
    """`widget` in a scroll area, so a dock can shrink below its content's height."""
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    return area
