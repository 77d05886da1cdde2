"""The long commands' signal handling (tasks/stopping.py): the first SIGINT or SIGTERM asks to
stop after the current unit of work, a second stops at once, an ignored SIGINT stays ignored,
and the exit code is 128 + the signal's number."""
import signal
import threading

import pytest

from tasks.stopping import Cancelled, StopOnSignal, StoppedNow


@pytest.fixture(autouse=True)
def sigint_as_a_terminal_gives_it():
    """Run from a background job (`.ci/run &`) this process starts with SIGINT ignored."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.parametrize("first, second, code, name", [
    (signal.SIGINT, signal.SIGTERM, 130, "SIGINT (Ctrl+C)"),
    (signal.SIGTERM, signal.SIGINT, 143, "SIGTERM"),
])
def test_the_first_signal_asks_the_second_stops_at_once(first, second, code, name):
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    with StopOnSignal() as stop:
        assert not stop.requested and not stop() and stop.signum is None
        signal.raise_signal(first)
        assert stop.requested and stop() and stop.signum == first
        assert stop.exit_code == code and stop.name == name
        with pytest.raises(StoppedNow) as caught:
            signal.raise_signal(second)
        assert caught.value.signum == second and isinstance(caught.value, KeyboardInterrupt)
        assert stop.signum == first  # the first signal still names the stop
    assert {s: signal.getsignal(s) for s in before} == before  # the handlers are put back


def test_an_ignored_sigint_stays_ignored():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with StopOnSignal() as stop:
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            signal.raise_signal(signal.SIGINT)
            assert not stop.requested
            signal.raise_signal(signal.SIGTERM)
            assert stop.requested and stop.exit_code == 143
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


def test_outside_the_main_thread_no_handler_is_installed():
    before = signal.getsignal(signal.SIGTERM)
    seen = []

    def work() -> None:
        with StopOnSignal() as stop:
            seen.append((signal.getsignal(signal.SIGTERM), stop.requested, stop.exit_code))

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert seen == [(before, False, 130)]
    assert signal.getsignal(signal.SIGTERM) is before


def test_cancelled_is_an_error_and_stopped_now_an_interrupt():
    assert issubclass(Cancelled, Exception) and not issubclass(Cancelled, KeyboardInterrupt)
    assert issubclass(StoppedNow, KeyboardInterrupt) and StoppedNow(15).signum == 15 and StoppedNow(15).args == (15,)


def test_a_reused_stopper_puts_back_only_what_it_changed():
    stop = StopOnSignal()
    with stop:
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # now a background job's: left alone, and not undone
    with stop:
        pass
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
