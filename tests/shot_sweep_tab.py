"""The Sweep tab's screenshot (resources/sweep.png): a small finished map, one cell loaded into the window.

    Xvfb :96 -screen 0 1440x900x24 &
    DISPLAY=:96 QT_QPA_PLATFORM=xcb python tests/shot_sweep_tab.py resources/sweep.png [STEPS=5000] [SEEDS=4]
"""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import pyqtgraph as pg
from PySide6.QtWidgets import QApplication

from core.config import preset
from gui.main_window import MainWindow


def main():
    app = QApplication([])
    pg.setConfigOptions(background="w", foreground="k", antialias=False)
    win = MainWindow(preset("question-fixed"), restore=False)
    win.resize(1440, 900)
    win.show()
    win.show_tab("sweep")
    p = win.pages.sweep
    p.x_edit.setText("lag=1:4")
    p.y_edit.setText("window=1:4")
    p.seeds.setValue(int(sys.argv[3]) if len(sys.argv) > 3 else 4)
    p.steps.setValue(int(sys.argv[2]) if len(sys.argv) > 2 else 5000)
    assert p.run()
    t0 = time.time()
    while p.report is None and time.time() - t0 < 300:
        app.processEvents()
        time.sleep(0.02)
    rep = p.report
    print(p.status.text())
    if rep is None:
        raise SystemExit("the sweep did not finish within 300 s")
    cell = next((c for c in rep["cells"] if 0 < c["learned"] < c["n_seeds"]), rep["cells"][0])
    p.load_cell(cell["index"])
    t0 = time.time()
    while time.time() - t0 < 2:
        app.processEvents()
        time.sleep(0.02)
    print(f"screenshot: {win.exports.save_screenshot(sys.argv[1])}")
    win.close()


if __name__ == "__main__":
    main()
