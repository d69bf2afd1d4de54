"""``single_threaded_blas`` under threads: one process-wide setting, shared safely.

The BLAS thread count is per process. Overlapping blocks from two threads must keep it at one
until the last block leaves, then restore the count found before the first; and two
``simulate`` calls from two user threads must give the numbers they give one after the other.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from negmaml.numeric import blas, simulate


@pytest.fixture
def two_blas_threads():
    """The loaded BLAS set to two threads for the test (restored after), or skip."""
    controls = blas._blas_thread_controls()
    if not controls:
        pytest.skip("no OpenBLAS/MKL thread control found in this process")
    get, set_ = controls[0]
    before = int(get())
    set_(2)
    if int(get()) != 2:
        set_(before)
        pytest.skip("this BLAS cannot be set to two threads")
    yield get
    set_(before)


def test_overlapping_blocks_from_two_threads_restore_only_when_the_last_leaves(two_blas_threads):
    get = two_blas_threads
    entered, leave, left = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with blas.single_threaded_blas():
            entered.set()
            leave.wait(10)
        left.set()

    t = threading.Thread(target=first)
    t.start()
    assert entered.wait(10)
    with blas.single_threaded_blas():  # the second block, in this thread
        assert get() == 1
        leave.set()
        assert left.wait(10)  # the first block has left, this one has not
        assert get() == 1
    t.join()
    assert get() == 2  # restored by the last block to leave


def test_nested_blocks_in_one_thread(two_blas_threads):
    get = two_blas_threads
    with blas.single_threaded_blas():
        with blas.single_threaded_blas():
            assert get() == 1
        assert get() == 1
    assert get() == 2


def test_concurrent_simulate_calls_give_the_sequential_numbers():
    calls = [dict(alpha_t=[-0.5, 0.0, 0.5], alpha_r=0.2, p=20, n_t=10, n_v=10, n_r=10, m=4,
                  sigma=0.5, nu=0.5, runs=30, seed=seed, workers=2) for seed in (0, 1, 2, 3)]
    sequential = [simulate(**kw) for kw in calls]
    concurrent: list = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(i: int) -> None:
        start.wait(10)
        concurrent[i] = simulate(**calls[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for seq, con in zip(sequential, concurrent, strict=True):
        np.testing.assert_array_equal(con.mean, seq.mean)
        np.testing.assert_array_equal(con.stderr, seq.stderr)
    assert blas._depth == 0
