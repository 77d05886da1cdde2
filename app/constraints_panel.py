"""The "Constraints and guides" panel: what the shown plan's goal became (app.constraints.describe),
one branch per segment."""
from __future__ import annotations

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem

from app.constraints import describe

EMPTY = "No plan shown: plan a goal or choose one in the library"


class ConstraintsPanel(QTreeWidget):
    """A two-column tree: each segment (and the plan) with what was pinned, conditioned on,
    guided, ranked, checked and post-processed."""

    def __init__(self) -> None:
        super().__init__()
        self.setColumnCount(2)
        self.setHeaderLabels(["", "For the shown plan"])
        self.setRootIsDecorated(True)
        self.setUniformRowHeights(True)
        self.setToolTip("What the shown plan's goal became, segment by segment: the states pinned (inpainting), the "
                        "conditioning, the guides and their scales, how the candidates were chosen, and the guide's "
                        "value across denoising (plotted beside the 3-D view)")
        self.show_plan(None)

    def show_plan(self, plan) -> None:
        self.clear()
        rows = describe(plan)
        if not rows:
            QTreeWidgetItem(self, ["", EMPTY])
            return
        bold = QFont(self.font())
        bold.setBold(True)
        sections: dict[str, QTreeWidgetItem] = {}
        for row in rows:
            parent = sections.get(row.section)
            if parent is None:
                parent = sections[row.section] = QTreeWidgetItem(self, [row.section])
                parent.setFirstColumnSpanned(True)
                parent.setFont(0, bold)
            item = QTreeWidgetItem(parent, [row.kind, row.text])
            item.setToolTip(1, row.text)
        self.expandAll()
        kinds = max(self.fontMetrics().horizontalAdvance(r.kind) for r in rows)
        self.setColumnWidth(0, kinds + 2 * self.indentation() + 12)  # the kinds, not the spanned headings

    def rows(self) -> list[tuple[str, str, str]]:
        """(section, kind, text) as shown (for the tests)."""
        out = []
        for i in range(self.topLevelItemCount()):
            top = self.topLevelItem(i)
            out += [(top.text(0), top.child(k).text(0), top.child(k).text(1)) for k in range(top.childCount())]
        return out
