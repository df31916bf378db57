"""The test suite checks the course itself, so `import rnnlib` gives the reference (solutions/rnnlib).

Students check their own package with `make check`, which runs only the lesson notebooks.
"""

import os

os.environ["RNNLIB"] = "reference"
