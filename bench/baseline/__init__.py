"""The code of the reference model, exact energy and rank before issue 17, kept as the bench's baseline.

bench/run.py measures the current code against these copies in the same run,
so every ratio it prints compares like with like on the same machine and load.
They are verbatim copies of the files at commit 621a9b7 (imports redirected here).
"""
