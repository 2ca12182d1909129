"""glibc's heap held steady (``envs.heap``): after a batch's reset, a 31 MiB block comes from the heap and stays
there when freed, instead of being mapped and returned; the user's malloc tunables stay in charge. Each case runs in
a fresh process, where glibc's thresholds have not yet moved."""

import ctypes
import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc" or not hasattr(ctypes.CDLL(None), "mallinfo2"),
    reason="glibc's allocator (2.33 or later, for mallinfo2) only",
)

# Prints whether the heap is held, the MiB of a 31 MiB block mapped apart from the heap, and the MiB of free memory the
# heap keeps at its top once the block is freed.
PROBE = """
import ctypes
import numpy as np
from envs import core, make_world, market_keys
from envs.heap import hold_heap

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
core.reset(make_world("default").market, market_keys(0, 8), np.zeros(8, dtype=np.uint64))
before = libc.mallinfo2()
block = np.ones(31 * 2**20 // 8)
during = libc.mallinfo2()
del block
after = libc.mallinfo2()
print(hold_heap(), (during.hblkhd - before.hblkhd) >> 20, after.keepcost >> 20)
"""


def probe(**variables: str) -> list[str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("MALLOC_")}
    env.pop("GLIBC_TUNABLES", None)
    out = subprocess.run([sys.executable, "-c", PROBE], env={**env, **variables}, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_a_batch_holds_the_heap_so_a_freed_block_stays_for_the_next_step():
    held, mapped, kept = probe()
    assert held == "True"
    assert mapped == "0"
    assert int(kept) >= 31


@pytest.mark.parametrize(
    "variable", [("MALLOC_TOP_PAD_", "0"), ("MALLOC_ARENA_MAX", "2"), ("GLIBC_TUNABLES", "glibc.malloc.top_pad=0")]
)
def test_the_users_malloc_tunables_stay_in_charge(variable):
    # glibc's own thresholds where the user tunes malloc: a 31 MiB block is mapped, and unmapped when freed.
    held, mapped, kept = probe(**dict([variable]))
    assert held == "False"
    assert mapped == "31"
    assert int(kept) < 31
