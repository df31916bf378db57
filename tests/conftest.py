"""The test suite checks the course itself, so `import rnnlib` gives the reference (solutions/rnnlib).

Students check their own package with `make check`, which runs only the lesson notebooks.
"""

import os

os.environ["RNNLIB"] = "reference"

# Two pytest workers share two cores: one BLAS thread each is fastest, and the notebook kernels the
# tests start inherit it.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
