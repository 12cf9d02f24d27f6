"""The buffer path into FLINT gives the same matrices and ranks as the list path."""

from __future__ import annotations

import flint
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hdlgen.analysis.rank import _entries_offset, _fmpz_mat, exact_rank


def test_layout_is_found():
    assert _entries_offset() is not None


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.integers(0, 10**6), st.sampled_from([1, 3, 2**40, 2**61]))
def test_buffer_matrix_equals_list_matrix(r: int, c: int, seed: int, top: int):
    M = np.random.default_rng(seed).integers(-top, top + 1, size=(r, c), dtype=np.int64)
    want = flint.fmpz_mat(r, c, M.ravel().tolist())
    assert _fmpz_mat(M) == want
    assert _fmpz_mat(M).rank() == want.rank()


def test_entries_beyond_inline_words_take_the_list_path():
    big = np.array([[2**62, 1], [1, -(2**62)]], dtype=np.int64)
    assert _fmpz_mat(big) == flint.fmpz_mat(2, 2, [2**62, 1, 1, -(2**62)])


@pytest.mark.parametrize("n", [64, 300])
def test_rank_of_low_rank_products(n: int):
    rng = np.random.default_rng(n)
    k = n // 3
    M = rng.integers(0, 2, size=(n, k)) @ rng.integers(0, 2, size=(k, n))
    assert exact_rank(M) == flint.fmpz_mat(n, n, M.ravel().tolist()).rank()
