"""The test suite checks the course itself, so `import rnnlib` gives the reference (solutions/rnnlib).

Students check their own package with `make check`, which runs only the lesson notebooks.
"""

import os

from hypothesis import settings

os.environ["RNNLIB"] = "reference"

# Two pytest workers share two cores: one BLAS thread each is fastest, and the notebook kernels the
# tests start inherit it.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

# Property tests draw the same examples on every run, so CI cannot pass one day and fail the next.
settings.register_profile("course", derandomize=True, deadline=None)
settings.load_profile("course")
