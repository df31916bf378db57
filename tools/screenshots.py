"""Take the screenshots the README shows, in `make lab`'s JupyterLab as a student sees it.

    .venv/bin/python tools/screenshots.py

Chromium at 1280x800 with the file browser open, through the browser tests' helpers (tests/lab_browser.py;
it needs Playwright, `pip install -e '.[browser]'`, and Debian's chromium):

- docs/lesson10_curves.png: lesson 10's training curves, from the lesson's saved outputs;
- docs/lesson11_panel.png: lesson 11's sampling panel, after Run > Run All Cells (widgets are live only
  while a kernel runs, so this one runs the lesson).

Lesson 10 without its saved curves (not executed) is skipped with the reason.
"""

import os
import re
import sys
from pathlib import Path

from tools.lab_browser import (
    ACTIVE_NOTEBOOK,
    discard_and_close,
    lab_in_chromium,
    missing_browser,
    notebook_cells,
    open_lab,
    run_all_from_menu,
    sampling_panel,
    wait_for_kernel_idle,
    wait_until_all_ran,
    wait_until_rendered,
)

ROOT = Path(__file__).resolve().parent.parent

LESSON_10 = "notebooks/10_shakespeare.ipynb"
LESSON_11 = "notebooks/11_sampling.ipynb"


def training_curves_cell(cells):
    """Index of the cell that trains (shows its run with Progress) and saved the picture of its curves, or
    None."""
    for i, cell in enumerate(cells):
        trains = cell["cell_type"] == "code" and re.search(r"\bProgress\(", "".join(cell["source"]))
        if trains and any("image/png" in output.get("data", {}) for output in cell.get("outputs", [])):
            return i
    return None


def not_ready(png):
    """Why the screenshot `png` cannot be taken yet, or None."""
    if png == LESSON_10_PNG and training_curves_cell(notebook_cells(LESSON_10)) is None:
        return "lesson 10 has no saved training curves yet (execute it first)"
    return None


def lesson10_curves(lab, page, png):
    index = training_curves_cell(notebook_cells(LESSON_10))
    open_lab(page, lab, LESSON_10)
    try:
        wait_for_kernel_idle(page, lab, LESSON_10)
        wait_until_rendered(page, LESSON_10)
        cell = page.locator(f"{ACTIVE_NOTEBOOK} .jp-Cell").nth(index)
        figure = cell.locator(".jp-OutputArea img").last
        figure.evaluate("img => img.scrollIntoView({block: 'center'})")
        page.screenshot(path=png)
    finally:
        discard_and_close(page)


def lesson11_panel(lab, page, png):
    open_lab(page, lab, LESSON_11)
    try:
        wait_for_kernel_idle(page, lab, LESSON_11)
        run_all_from_menu(page)
        wait_until_all_ran(page, LESSON_11, seconds=120)
        slider, panel = sampling_panel(page)
        panel.locator(".widget-output pre").first.wait_for()
        wait_for_kernel_idle(page, lab, LESSON_11)
        panel.evaluate("output => output.scrollIntoView({block: 'center'})")
        page.mouse.move(0, 0)  # no hover highlight in the picture
        page.screenshot(path=png)
    finally:
        discard_and_close(page)


LESSON_10_PNG, LESSON_11_PNG = "docs/lesson10_curves.png", "docs/lesson11_panel.png"
SCREENSHOTS = {LESSON_10_PNG: lesson10_curves, LESSON_11_PNG: lesson11_panel}


def main():
    if missing_browser():
        sys.exit(f"Cannot take screenshots: {missing_browser()}")
    # The pictures show the finished course: the lessons run on the reference, as `make notebooks` does.
    os.environ["RNNLIB"] = "reference"
    (ROOT / "docs").mkdir(exist_ok=True)
    with lab_in_chromium() as (lab, page):
        for png, take in SCREENSHOTS.items():
            if reason := not_ready(png):
                print(f"{png}: skipped, {reason}")
                continue
            take(lab, page, str(ROOT / png))
            print(f"{png}: saved")


if __name__ == "__main__":
    main()
