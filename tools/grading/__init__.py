"""Grading a class's submissions with the instructor's checks (docs/instructors.md).

``tools/grade.py`` is the command (``make grade``); here are its parts: ``wire`` (the data-only channel
between two processes), ``sandbox`` (the bubblewrap command a submission runs under), ``worker`` (the
process that imports one student's modules, inside the sandbox) and ``judge`` (the process that runs one
check with the reference and decides its verdict, never importing the student's code).
"""
