"""The course's tools, run from a terminal in the course's folder (the Makefile names each) and imported
as ``tools.<name>`` by one another and by the tests:

generate        rnnlib/ and exercises/ from the single source in solutions/ (make generate)
check           the student's checks and problem sets (make check)
nbval_lessons   the lessons under nbval on the student's rnnlib/ (make nbval)
notebooks       execute the lessons and solved problem sets with the reference (make notebooks)
architecture    docs/architecture.md, drawn from the code
benchmark       rnnlib beside PyTorch, in one run
screenshots     the README's pictures, from JupyterLab in Chromium
lab_server      a JupyterLab server for the browser tests and the screenshots
lab_browser     driving that JupyterLab in Chromium through Playwright
"""
