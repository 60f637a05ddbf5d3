"""The collector pause around reading a file: nested and overlapping pauses leave the collector as found."""

from __future__ import annotations

import gc
import threading

from tximport.gcpause import collector_paused


def test_pauses_nest_and_the_collector_runs_again_after_the_last():
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_overlapping_pauses_of_threads_end_with_the_collector_running():
    started, release = threading.Barrier(5), threading.Event()

    def read() -> None:
        with collector_paused():
            started.wait()
            release.wait(5)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    started.wait()
    assert not gc.isenabled()
    release.set()
    for thread in threads:
        thread.join()
    assert gc.isenabled()


def test_a_collector_turned_off_before_stays_off():
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_an_error_inside_ends_the_pause():
    try:
        with collector_paused():
            raise ValueError("boom")
    except ValueError:
        pass
    assert gc.isenabled()
