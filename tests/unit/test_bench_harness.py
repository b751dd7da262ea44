"""bench/harness.py's ``measured``: a child's CPU from its rusage, its own and its waited-for
children's, and none of the parent's.
"""

from __future__ import annotations

import os
import sys
import threading
import time

import pytest

from bench.harness import measured

# Busy for ``sys.argv[1]`` seconds of CPU, in this process or (argv[2] == "fork") in a child
# it forks and waits for, as getmail does for each delivery.
_BURN = """
import os, sys, time
def burn(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass
if sys.argv[2] == "fork":
    pid = os.fork()
    if pid == 0:
        burn(float(sys.argv[1]))
        os._exit(0)
    os.waitpid(pid, 0)
else:
    burn(float(sys.argv[1]))
print('{"done": true}')
"""


def _burn(seconds: float, where: str) -> dict[str, object]:
    return measured([sys.executable, "-c", _BURN, str(seconds), where], dict(os.environ), cpu=True)


def test_counts_the_childs_own_cpu() -> None:
    out = _burn(0.4, "self")
    assert out["done"] is True
    assert isinstance(out["cpu_s"], float)
    assert 0.35 <= out["cpu_s"] <= 0.4 + 0.5  # plus the interpreter's start


def test_counts_a_grandchild_the_child_waited_for() -> None:
    out = _burn(0.4, "fork")
    assert isinstance(out["cpu_s"], float)
    assert out["cpu_s"] >= 0.35


def test_leaves_out_the_parents_cpu() -> None:
    # The parent burns CPU (as the emulator would, in its threads) while the child sleeps.
    def burn() -> None:
        end = time.thread_time() + 0.4
        while time.thread_time() < end:
            pass

    burner = threading.Thread(target=burn)
    burner.start()
    out = measured(
        [sys.executable, "-c", "import time; time.sleep(0.6)"], dict(os.environ), cpu=True
    )
    burner.join()
    assert isinstance(out["cpu_s"], float)
    assert out["cpu_s"] < 0.25  # the child's own start is ~20-60 ms


def test_no_cpu_field_unless_asked_and_failures_still_raise() -> None:
    out = measured([sys.executable, "-c", "print('{\"x\": 1}')"], dict(os.environ))
    assert out["x"] == 1 and "cpu_s" not in out
    with pytest.raises(RuntimeError, match=r"failed \(3\)"):
        measured([sys.executable, "-c", "raise SystemExit(3)"], dict(os.environ))
