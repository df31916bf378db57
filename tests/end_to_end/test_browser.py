"""The course as a student sees it: `make lab`'s JupyterLab in Chromium, 1280x800, the file browser open.

Every lesson and problem set opens with its saved outputs and must show no MathJax error, no TeX left
unrendered, no error output and no display equation wider than its cell; lesson 11's sampling panel
must answer its temperature slider with what `rnnlib.sampling.sample` gives. Select these tests with
`pytest -m browser`; without Playwright or Chromium they skip, saying which is missing.
"""

import html
import importlib.util
import json
import re

import pytest

from tools.lab_browser import (
    ACTIVE_NOTEBOOK,
    close_all,
    discard_and_close,
    ensure_file_browser_open,
    file_browser_names,
    lab_in_chromium,
    missing_browser,
    notebook_cells,
    open_lab,
    open_without_kernel,
    run_all_from_menu,
    sampling_panel,
    wait_for_kernel_idle,
    wait_until_all_ran,
    wait_until_rendered,
)
from tools.lab_server import PROJECT_ROOT

pytestmark = [pytest.mark.browser, pytest.mark.skipif(bool(missing_browser()), reason=f"{missing_browser()}")]


def _notebooks(*patterns):
    found = (path for pattern in patterns for path in PROJECT_ROOT.glob(pattern))
    return sorted(str(path.relative_to(PROJECT_ROOT)) for path in found)


LESSONS = _notebooks("notebooks/[0-9][0-9]_*.ipynb")
PROBLEM_SETS = _notebooks("exercises/*.ipynb", "solutions/exercises/*.ipynb")

# What is wrong in the open notebook's page, one line each:
# - MathJax 3 draws an undefined macro (\R) as red text holding the macro's name, and a TeX error it
#   cannot typeset (an unknown environment, a double superscript) as <mjx-merror>;
# - TeX that MathJax never saw (an unbalanced $, a broken delimiter) stays in the prose as text;
# - an error output renders as stderr text with the exception's name (a stderr warning does not);
# - a display equation wider than the content area of its cell runs off the cell.
PROBLEMS_JS = r"""notebookSelector => {
    const stderr = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]';
    const exception = /Traceback \(most recent call last\)|^\s*[\w.]*(Error|Exception|Failed|NotDone)\b/m;
    const problems = [];
    [...document.querySelectorAll(`${notebookSelector} .jp-Cell`)].forEach((cell, i) => {
        for (const e of cell.querySelectorAll('mjx-merror'))
            problems.push(`cell ${i}: MathJax error "${e.dataset.mjxError}" in ${e.textContent}`);
        for (const e of cell.querySelectorAll('mjx-assistive-mml mtext[mathcolor="red"]'))
            if (e.textContent.startsWith('\\'))
                problems.push(`cell ${i}: MathJax does not know ${e.textContent}`);
        for (const md of cell.querySelectorAll('.jp-RenderedMarkdown')) {
            const prose = document.createTreeWalker(md, NodeFilter.SHOW_TEXT, {acceptNode: t =>
                t.parentElement.closest('mjx-container, code, pre, kbd') ? NodeFilter.FILTER_REJECT
                    : NodeFilter.FILTER_ACCEPT});
            for (let t = prose.nextNode(); t; t = prose.nextNode())
                if (/\$|\\[A-Za-z]+/.test(t.textContent))
                    problems.push(`cell ${i}: TeX left unrendered: "${t.textContent.trim().slice(0, 80)}"`);
            const style = getComputedStyle(md);
            const width = md.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
            for (const eq of md.querySelectorAll('mjx-container[display="true"] > mjx-math')) {
                const wide = eq.getBoundingClientRect().width;
                if (wide > width + 0.5) {
                    const text = eq.parentElement.querySelector('mjx-assistive-mml').textContent;
                    problems.push(`cell ${i}: a display equation ${Math.round(wide)} px wide in a ` +
                                  `${Math.round(width)} px cell: ${text.slice(0, 60)}`);
                }
            }
        }
        for (const out of cell.querySelectorAll(stderr)) {
            const lastLine = out.textContent.trim().split('\n').pop();
            if (exception.test(out.textContent)) problems.push(`cell ${i}: error output: ${lastLine}`);
        }
    });
    return problems;
}"""


if not missing_browser():
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect


@pytest.fixture(scope="module")
def lab_page(tmp_path_factory):
    with lab_in_chromium(tmp_path_factory.mktemp("lab")) as (lab, page):
        yield lab, page


def _described(path, problems):
    """'cell 7: ...' -> 'cell 7 (## 3. The run): ...', so that a problem can be found in the notebook."""
    cells = notebook_cells(path)

    def name(match):
        first_line = "".join(cells[int(match[1])]["source"]).strip().split("\n")[0][:50]
        return f"cell {match[1]} ({first_line})"

    return [re.sub(r"^cell (\d+)", name, problem) for problem in problems]


def test_every_lesson_and_problem_set_renders_without_errors_and_fits_the_window(lab_page):
    lab, page = lab_page
    open_lab(page, lab)
    ensure_file_browser_open(page)
    listed = set(file_browser_names(page))
    assert {"notebooks", "rnnlib", "exercises"} <= listed, f"the file browser lists {sorted(listed)}"

    assert len(LESSONS) >= 10 and len(PROBLEM_SETS) >= 2, (LESSONS, PROBLEM_SETS)
    found = {}
    for path in LESSONS + PROBLEM_SETS:
        open_without_kernel(page, path)
        try:
            wait_until_rendered(page, path)
            problems = page.evaluate(PROBLEMS_JS, ACTIVE_NOTEBOOK)
        except AssertionError as never_rendered:
            problems = [str(never_rendered)]
        finally:
            close_all(page)
        if problems:
            found[path] = _described(path, problems)
    report = "\n".join(f"{path}:\n  " + "\n  ".join(problems) for path, problems in found.items())
    assert not found, f"what a student would see go wrong:\n{report}"


def test_make_lab_opens_lesson_00_with_the_course_root_in_the_file_browser(lab_page):
    """The address `make lab` sends the browser to (the page the server writes for it) opens lesson 00,
    and the file browser shows the course's root, where rnnlib/ and exercises/ are, not notebooks/."""
    lab, page = lab_page
    [opener] = lab.runtime_dir.glob("jpserver-*-open.html")
    url = html.unescape(re.search(r'href="([^"]+)"', opener.read_text())[1])
    page.goto(f"{url}{'&' if '?' in url else '?'}reset")  # reset: a fresh workspace, as on a first start
    page.wait_for_function("() => window.jupyterapp !== undefined")
    page.evaluate("async () => { await window.jupyterapp.restored; }")
    try:
        expect(page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current")).to_contain_text(
            "00_welcome.ipynb"
        )
        ensure_file_browser_open(page)
        try:
            page.wait_for_function(
                "() => { const names = [...document.querySelectorAll('#filebrowser .jp-DirListing-itemText')]"
                ".map(e => e.textContent); return ['notebooks', 'rnnlib', 'exercises']"
                ".every(name => names.includes(name)); }",
                timeout=15_000,
            )
        except PlaywrightTimeout:
            raise AssertionError(f"the file browser lists {file_browser_names(page)}") from None
    finally:
        discard_and_close(page)


def test_the_page_checks_see_each_kind_of_defect(lab_page):
    """Defects put at the end of an open lesson's page, far out of view (never saved), are each reported
    by PROBLEMS_JS."""
    lab, page = lab_page
    open_lab(page, lab)
    path = max(LESSONS, key=lambda lesson: len(notebook_cells(lesson)))
    end = len(notebook_cells(path))
    open_without_kernel(page, path)
    try:
        wait_until_rendered(page, path)
        assert page.evaluate(PROBLEMS_JS, ACTIVE_NOTEBOOK) == [], f"{path} should have no defect of its own"
        wide = " + ".join(f"W_{{{i}}} x_{{{i}}}" for i in range(40))
        page.evaluate(
            """([end, markdown, wide]) => {
                const model = window.jupyterapp.shell.currentWidget.content.model.sharedModel;
                model.insertCells(end, [
                    {cell_type: 'markdown', source: markdown},
                    {cell_type: 'markdown', source: `$$${wide}$$`},
                    {cell_type: 'code', source: '1 / 0', outputs: [{output_type: 'error',
                        ename: 'ZeroDivisionError', evalue: 'division by zero',
                        traceback: ['\\u001b[0;31mZeroDivisionError\\u001b[0m: division by zero']}]},
                ]);
            }""",
            [end, r"Undefined $\R$; unknown $\begin{foo} x \end{foo}$; unbalanced $x^{a$ here.", wide],
        )
        wide_cell = page.locator(f"{ACTIVE_NOTEBOOK} .jp-Cell").nth(end + 1)
        wide_cell.locator("mjx-container").wait_for(state="attached")
        problems = "\n".join(page.evaluate(PROBLEMS_JS, ACTIVE_NOTEBOOK))
    finally:
        # The inserted cells are thrown away: the notebook is closed unsaved (autosave is off).
        page.evaluate("() => { window.jupyterapp.shell.currentWidget.context.model.dirty = false; }")
        close_all(page)
    for expected in [
        f"cell {end}: MathJax does not know \\R",
        f"cell {end}: MathJax error \"Unknown environment 'foo'\"",
        f'cell {end}: TeX left unrendered: "',
        f"cell {end + 1}: a display equation",
        f"cell {end + 2}: error output: ZeroDivisionError: division by zero",
    ]:
        assert expected in problems, f"{expected!r} not reported; the checks reported:\n{problems}"


LESSON_11 = "notebooks/11_sampling.ipynb"
# Typed into a new cell at the end of lesson 11, as a student would: what rnnlib.sampling.sample gives for
# the panel's model and current settings (panel.settings() are the keyword arguments after the model,
# its parameters and vocabulary, which the panel keeps), as one line of JSON.
SAMPLE_AGAIN = """\
import json
import rnnlib.sampling
_settings = panel.settings()
_text = rnnlib.sampling.sample(panel.model, panel.params, panel.vocab, **_settings)
_slider = panel.temperature.value
print(json.dumps({"temperature": _settings["temperature"], "slider": _slider, "sample": _text}))"""


def _drag_slider(page, slider):
    """Drag the slider's handle with the mouse, as a student would: a third of its track, towards the
    side with more room."""
    slider.scroll_into_view_if_needed()
    handle = slider.locator(".noUi-handle")
    low, value, high = (float(handle.get_attribute(f"aria-value{end}")) for end in ("min", "now", "max"))
    box, track = handle.bounding_box(), slider.locator(".noUi-base").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + (1 if value - low < high - value else -1) * track["width"] / 3, y, steps=8)
    page.mouse.up()


def test_lesson_11_sampling_panel_follows_its_temperature_slider(lab_page):
    lab, page = lab_page
    open_lab(page, lab, LESSON_11)
    try:
        wait_for_kernel_idle(page, lab, LESSON_11)
        run_all_from_menu(page)
        wait_until_all_ran(page, LESSON_11, seconds=90)

        slider, panel = sampling_panel(page)
        expect(slider).to_have_count(1)
        readout = slider.locator(".widget-readout")
        sample = panel.locator(".widget-output pre")
        expect(sample.first).not_to_be_empty()
        before, temperature_before = sample.all_text_contents(), readout.inner_text()

        _drag_slider(page, slider)
        expect(readout).not_to_have_text(temperature_before)
        try:
            page.wait_for_function(
                "([panel, before]) => { const now = [...panel.querySelectorAll('.widget-output pre')]"
                ".map(e => e.textContent); return now.length && now.join() !== before.join(); }",
                arg=[panel.element_handle(), before],
                timeout=15_000,
            )
        except PlaywrightTimeout:
            moved = f"the temperature moved from {temperature_before} to {readout.inner_text()}"
            raise AssertionError(f"the sample did not change within 15 s; {moved}") from None
        wait_for_kernel_idle(page, lab, LESSON_11)
        shown = "".join(sample.all_text_contents())

        # The same settings, given to rnnlib.sampling.sample in a cell typed at the end of the notebook.
        page.locator(f"{ACTIVE_NOTEBOOK} .jp-Cell").last.locator(".jp-InputPrompt").click()
        page.keyboard.press("Escape")
        page.keyboard.press("b")  # command mode: insert a cell below
        page.keyboard.press("Enter")  # edit it
        page.keyboard.insert_text(SAMPLE_AGAIN)
        code_cells = page.locator(f"{ACTIVE_NOTEBOOK} .jp-CodeCell")
        typed = code_cells.nth(code_cells.count() - 1)
        page.keyboard.press("Control+Enter")  # run it, staying on it
        printed = typed.locator(".jp-OutputArea-output pre")
        expect(printed).to_contain_text('"sample"', timeout=30_000)
        kernel = json.loads(printed.inner_text())
    finally:
        discard_and_close(page)

    assert kernel["temperature"] == kernel["slider"], f"panel.settings() does not follow the slider: {kernel}"
    assert kernel["slider"] != float(temperature_before), "the slider did not move"
    assert shown != "".join(before), "the sample did not change when the temperature did"
    assert shown == kernel["sample"], (
        f"the panel shows:\n{shown}\nrnnlib.sampling.sample gives for its settings:\n{kernel['sample']}"
    )


def _committed_still():
    """The sample in the still that lesson 11's panel cell was saved with, as text."""
    (still,) = [
        output["data"]["text/html"]
        for cell in notebook_cells(LESSON_11)
        if cell["cell_type"] == "code" and "".join(cell["source"]).startswith("panel = sampling_panel(")
        for output in cell["outputs"]
    ]
    return html.unescape(re.search(r"<pre[^>]*>(.*?)</pre>", "".join(still), re.S)[1])


def test_lesson_11_opened_without_a_kernel_shows_a_still_of_its_panel(lab_page):
    """Widgets live in their kernel: the saved lesson shows the panel's still (its settings, its sample
    and a note to run the cell), never a widget's raw repr or "Error displaying widget"."""
    lab, page = lab_page
    open_lab(page, lab)
    open_without_kernel(page, LESSON_11)
    try:
        wait_until_rendered(page, LESSON_11)
        still = page.locator(f"{ACTIVE_NOTEBOOK} .jp-OutputArea-output", has_text="Sampling panel")
        expect(still).to_have_count(1)
        still.scroll_into_view_if_needed()
        shown = still.inner_text()
        outputs = "\n".join(page.locator(f"{ACTIVE_NOTEBOOK} .jp-OutputArea").all_inner_texts())
    finally:
        close_all(page)
    assert "Run the cell to use the panel." in shown, shown
    assert all(setting in shown for setting in ("temperature", "top-k", "prompt", "length", "seed")), shown
    assert _committed_still().strip() in shown, f"the still shows:\n{shown}"
    assert "Error displaying widget" not in outputs and "VBox(children" not in outputs


def _screenshots_tool():
    spec = importlib.util.spec_from_file_location("screenshots", PROJECT_ROOT / "tools" / "screenshots.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_the_readme_screenshots_exist_for_the_lessons_written():
    tool = _screenshots_tool()
    due = [png for png in tool.SCREENSHOTS if not tool.not_ready(png)]
    if not due:
        pytest.skip("; ".join(f"{png}: {tool.not_ready(png)}" for png in tool.SCREENSHOTS))
    missing = [png for png in due if not (PROJECT_ROOT / png).is_file()]
    assert not missing, f"run .venv/bin/python tools/screenshots.py to take {missing}"
    for png in due:
        assert (PROJECT_ROOT / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{png} is not a PNG"
