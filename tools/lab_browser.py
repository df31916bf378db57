"""Drive the course's JupyterLab in Debian's Chromium through Playwright, as a student's browser would.

Shared by tests/end_to_end/test_browser.py and tools/screenshots.py. Playwright (the `browser` extra) is
only the driver: its own browser download cannot run here, so Chromium is the system's (`apt-get install
chromium`). Every wait is for a condition (in the page, or in the server's report on a kernel), with a
bound; nothing sleeps for a guessed time.
"""

import contextlib
import json
import re
import shutil
import tempfile
import time
from pathlib import Path

from tools.lab_server import PROJECT_ROOT, get_json, running_lab

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking switches Chromium's own calls home would be refused by a closed
# network; headless needs no GPU and no sandbox as root.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WINDOW = {"width": 1280, "height": 800}
# The test's server exposes JupyterLab's application object so that a test can open a notebook with
# the same command the file browser's "Open With" menu runs.
LAB_ARGS = ["--LabApp.expose_app_in_browser=True"]


def missing_browser():
    """Why a browser test cannot run here, or None when Playwright and Chromium are both installed."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (make test installs it: pip install -e '.[browser]')"
    if not Path(CHROMIUM).is_file():
        return f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    return None


@contextlib.contextmanager
def lab_in_chromium(workdir=None):
    """(lab, page): `make lab`'s server and one Chromium tab at 1280x800; both stopped on exit."""
    from playwright.sync_api import sync_playwright

    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="lab-browser-"))
        workdir = Path(workdir)
        lab = stack.enter_context(running_lab(workdir, args=LAB_ARGS))
        playwright = stack.enter_context(sync_playwright())
        context = playwright.chromium.launch_persistent_context(
            str(workdir / "chromium-profile"),  # a fresh profile: no cache or state from another run
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport=WINDOW,
        )
        stack.callback(context.close)
        page = context.pages[0] if context.pages else context.new_page()
        page.set_default_timeout(30_000)
        yield lab, page


def open_lab(page, lab, path=""):
    """Load JupyterLab (on `path`, a notebook, if given) from a fresh workspace and wait for the app."""
    page.goto(f"{lab.url}/lab/tree/{path}?reset" if path else f"{lab.url}/lab?reset")
    page.wait_for_function("() => window.jupyterapp !== undefined")
    page.evaluate("async () => { await window.jupyterapp.restored; }")


def file_browser_names(page, seconds=15):
    """The names the file browser lists, once it lists something (empty if it still lists nothing)."""
    from playwright.sync_api import TimeoutError

    try:
        page.wait_for_selector("#filebrowser .jp-DirListing-item", timeout=seconds * 1000)
    except TimeoutError:
        return []
    return page.eval_on_selector_all(
        "#filebrowser:not(.lm-mod-hidden) .jp-DirListing-itemText", "items => items.map(e => e.textContent)"
    )


def ensure_file_browser_open(page):
    """The left sidebar shows the file browser, as it does for a student on a first start."""
    if not page.locator("#filebrowser").is_visible():
        page.click(".jp-SideBar.jp-mod-left [data-id='filebrowser']")
    page.wait_for_selector("#filebrowser", state="visible")


ACTIVE_NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook"


def open_without_kernel(page, path):
    """Open `path` as File Browser > Open With > "Notebook (no kernel)" does: its saved outputs, no kernel."""
    # The command returns the notebook widget; handing that back to Python would serialise the whole app.
    page.evaluate(
        """async path => {
            const notebook = await window.jupyterapp.commands.execute('docmanager:open', {
                path, factory: 'Notebook', kernelPreference: {shouldStart: false, shouldReuse: false}});
            await notebook.context.ready;
            await notebook.revealed;
        }""",
        path,
    )
    page.wait_for_selector(f"{ACTIVE_NOTEBOOK} .jp-Cell")


def close_all(page):
    page.evaluate("async () => { await window.jupyterapp.commands.execute('application:close-all'); }")
    page.wait_for_selector(".jp-NotebookPanel", state="detached")


def notebook_cells(path):
    """The cells of a notebook file, as saved (its path relative to the course root)."""
    return json.loads((PROJECT_ROOT / path).read_text())["cells"]


# What the page has not rendered yet of the open notebook: a Markdown cell without its HTML, a cell
# whose source has math without typeset math (nor a MathJax error), a text output without its text, an
# image not loaded. `mathCells` are indices of the cells with math, from the saved file.
UNRENDERED_JS = r"""([notebookSelector, mathCells]) => {
    const notebook = document.querySelector(notebookSelector);
    if (!notebook) return ['the notebook is not shown'];
    const missing = [];
    [...notebook.querySelectorAll('.jp-Cell')].forEach((cell, i) => {
        if (cell.classList.contains('jp-MarkdownCell') && !cell.querySelector('.jp-RenderedMarkdown'))
            missing.push(`cell ${i}: Markdown not rendered`);
        else if (mathCells.includes(i) && !cell.querySelector('.jp-RenderedMarkdown mjx-container'))
            missing.push(`cell ${i}: its math is not typeset`);
        if ([...cell.querySelectorAll('.jp-RenderedText')].some(e => !e.querySelector('pre')))
            missing.push(`cell ${i}: an output without its text`);
        if ([...cell.querySelectorAll('.jp-OutputArea img')].some(img => !(img.complete && img.naturalWidth)))
            missing.push(`cell ${i}: an image not loaded`);
    });
    return missing;
}"""


def math_cells(cells):
    """Indices of the Markdown cells whose prose (outside code) has TeX for MathJax to typeset."""
    found = []
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "markdown":
            continue
        prose = re.sub(r"```.*?```|`[^`\n]*`", "", "".join(cell["source"]), flags=re.S)
        if re.search(r"\$|\\\(|\\\[|\\begin\{", prose):
            found.append(i)
    return found


def wait_until_rendered(page, path, seconds=20):
    """Wait until the open notebook `path` is rendered whole; fail naming what never rendered."""
    from playwright.sync_api import TimeoutError

    arg = [ACTIVE_NOTEBOOK, math_cells(notebook_cells(path))]
    try:
        page.wait_for_function(f"a => ({UNRENDERED_JS})(a).length === 0", arg=arg, timeout=seconds * 1000)
    except TimeoutError:
        missing = page.evaluate(UNRENDERED_JS, arg)
        raise AssertionError(f"{path} did not render within {seconds} s: {'; '.join(missing)}") from None


def wait_for_kernel_idle(page, lab, path, seconds=60):
    """Wait until the kernel of the open notebook `path` has started and is idle, as the server and
    the notebook's toolbar both report (the toolbar says idle once before the kernel even starts)."""
    deadline = time.monotonic() + seconds
    while True:
        sessions = get_json(f"{lab.url}/api/sessions")
        kernel = next((s["kernel"] for s in sessions if s["path"] == path and s.get("kernel")), None)
        if kernel and kernel["execution_state"] == "idle":
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"the kernel of {path} was not idle within {seconds} s: {sessions}")
        page.wait_for_timeout(250)  # polling the server's own report, not a guess at a duration
    page.wait_for_selector(
        ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator[data-status='idle']",
        timeout=max(1, deadline - time.monotonic()) * 1000,
    )


def run_all_from_menu(page):
    """Run > Run All Cells, clicked in the menu bar."""
    page.click(".lm-MenuBar-itemLabel:text-is('Run')")
    page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")


# How far a run of every cell got: each code cell's prompt is [n] once run and [*] while waiting; an
# error output (a traceback) stops the run.
RUN_STATE_JS = r"""notebookSelector => {
    const cells = [...document.querySelectorAll(`${notebookSelector} .jp-CodeCell`)];
    const prompts = cells.map(c => c.querySelector('.jp-InputPrompt').textContent.trim());
    const failed = cells.findIndex(c => [...c.querySelectorAll(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')].some(e =>
            /Traceback|^\w*(Error|Exception)\b/m.test(e.textContent)));
    return {ran: prompts.filter(p => /\[\d+\]/.test(p)).length,
            waiting: prompts.filter(p => p.includes('*')).length, failed: failed < 0 ? null : failed};
}"""


def wait_until_all_ran(page, path, seconds):
    """Wait until every non-empty code cell of `path` has run; fail on an error output, or after `seconds`."""
    from playwright.sync_api import TimeoutError

    code = sum(1 for c in notebook_cells(path) if c["cell_type"] == "code" and "".join(c["source"]).strip())
    try:
        state = f"({RUN_STATE_JS})(nb)"
        done = f"([nb, n]) => {{ const s = {state}; return s.failed !== null || (s.ran >= n && !s.waiting) }}"
        page.wait_for_function(done, arg=[ACTIVE_NOTEBOOK, code], timeout=seconds * 1000)
    except TimeoutError:
        state = page.evaluate(RUN_STATE_JS, ACTIVE_NOTEBOOK)
        raise AssertionError(f"{path}: {state['ran']} of {code} code cells ran within {seconds} s") from None
    state = page.evaluate(RUN_STATE_JS, ACTIVE_NOTEBOOK)
    if state["failed"] is not None:
        error = page.locator(f"{ACTIVE_NOTEBOOK} .jp-CodeCell").nth(state["failed"]).inner_text()
        raise AssertionError(f"{path}: code cell {state['failed']} failed when run:\n{error[-1500:]}")


def discard_and_close(page):
    """Close every notebook without saving what this session changed in it."""
    page.evaluate(
        """() => { for (const w of window.jupyterapp.shell.widgets('main'))
                       if (w.context) w.context.model.dirty = false; }"""
    )
    close_all(page)


def sampling_panel(page):
    """(slider, panel) of lesson 11's sampling panel in the open notebook: the FloatSlider described
    "temperature", and the cell output that holds it (its sample is the <pre> of its Output widget)."""
    label = page.locator("label.widget-label").filter(has_text=re.compile(r"^\s*temperature\s*$"))
    any_slider = page.locator(".widget-slider", has=label)
    notebook = page.locator(ACTIVE_NOTEBOOK)
    return notebook.locator(any_slider), notebook.locator(".jp-Cell .jp-OutputArea-output", has=any_slider)
