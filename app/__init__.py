"""The Qt desktop app (PySide6 + pyqtgraph); widgets only call tasks/ and planner/."""
