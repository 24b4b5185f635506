"""Acquire/release atomics and a spin barrier for threads inside Numba kernels.

The SGD loop runs one step at a time; splitting the units of a step over two
threads needs one barrier per step, which a Numba parallel region cannot give
(a ``workqueue`` region costs ~0.1 ms to launch, ten steps' worth). The threads
are Python threads, each running a ``nogil`` kernel; they meet at
:func:`barrier`, a counter per thread in its own cache line, written with a
*release* store and read with *acquire* loads (LLVM atomics, emitted through
``numba.extending.intrinsic``), so the data a thread writes before the barrier is
visible to the others after it, on any CPU, and the compiler cannot hoist the
loads out of the wait.

A waiting thread spins with the CPU's pause hint and, after ``SPINS_BEFORE_YIELD``
polls, calls ``sched_yield`` so that it gives its core back when the machine is
oversubscribed. An abort word after the counters lets the caller release threads
that wait for a partner that will never come.

With ``NUMBA_DISABLE_JIT=1`` the atomics are plain Python reads and writes (the
GIL orders them); the callers then use one thread.
"""

from __future__ import annotations

import platform

from numba import njit, types

from .. import _config

_JIT = {"cache": _config.CACHE, "fastmath": _config.FASTMATH}

#: Distance, in int64 words, between two threads' counters: one cache line each.
STRIDE = 8
#: Polls of a partner's counter between two ``sched_yield`` calls (~5 us): a
#: partner that shares this core (just started, not yet moved) gets it soon.
SPINS_BEFORE_YIELD = 1 << 8

if _config.JIT_DISABLED:
    # plain Python twins of the intrinsics below
    def load_acquire(arr, i):
        return arr[i]

    def store_release(arr, i, value):
        arr[i] = value

    def spin_pause():
        pass

    def yield_cpu():
        pass

else:
    from llvmlite import ir
    from numba.core import cgutils
    from numba.extending import intrinsic

    def _item_pointer(context, builder, aryty, ary, idx):
        arr = context.make_array(aryty)(context, builder, ary)
        return cgutils.get_item_pointer(context, builder, aryty, arr, [idx])

    @intrinsic
    def load_acquire(typingctx, arr, i):
        """``arr[i]`` (int64) as an atomic load with acquire ordering."""
        sig = types.int64(arr, types.intp)

        def codegen(context, builder, sig, args):
            ptr = _item_pointer(context, builder, sig.args[0], args[0], args[1])
            return builder.load_atomic(ptr, "acquire", 8)

        return sig, codegen

    @intrinsic
    def store_release(typingctx, arr, i, value):
        """``arr[i] = value`` (int64) as an atomic store with release ordering."""
        sig = types.void(arr, types.intp, types.int64)

        def codegen(context, builder, sig, args):
            ptr = _item_pointer(context, builder, sig.args[0], args[0], args[1])
            builder.store_atomic(args[2], ptr, "release", 8)
            return context.get_dummy_value()

        return sig, codegen

    _X86 = platform.machine().lower() in {"x86_64", "amd64", "i386", "i686"}

    @intrinsic
    def spin_pause(typingctx):
        """The CPU's spin-wait hint (``pause`` on x86; nothing elsewhere)."""
        sig = types.void()

        def codegen(context, builder, sig, args):
            if _X86:
                fnty = ir.FunctionType(ir.VoidType(), [])
                fn = cgutils.get_or_insert_function(
                    builder.module, fnty, "llvm.x86.sse2.pause"
                )
                builder.call(fn, [])
            return context.get_dummy_value()

        return sig, codegen

    @intrinsic
    def yield_cpu(typingctx):
        """``sched_yield()`` from the C library (a symbol, so the kernel caches)."""
        sig = types.void()

        def codegen(context, builder, sig, args):
            fnty = ir.FunctionType(ir.IntType(32), [])
            fn = cgutils.get_or_insert_function(builder.module, fnty, "sched_yield")
            builder.call(fn, [])
            return context.get_dummy_value()

        return sig, codegen


@njit(**_JIT)
def barrier(flags, tid, nthreads, count):
    """Publish ``count`` for thread ``tid`` and wait until every thread has.

    ``flags`` is int64 of length ``STRIDE * (nthreads + 1)``: thread t's counter
    at ``STRIDE * t``, the abort word at ``STRIDE * nthreads``. Returns False if
    the abort word was set while waiting. Counters only grow, so a thread that
    has moved on past ``count`` still satisfies the wait.
    """
    if nthreads == 1:
        return True
    store_release(flags, STRIDE * tid, count)
    for t in range(nthreads):
        if t == tid:
            continue
        polls = 0
        while load_acquire(flags, STRIDE * t) < count:
            if load_acquire(flags, STRIDE * nthreads) != 0:
                return False
            polls += 1
            if polls == SPINS_BEFORE_YIELD:
                yield_cpu()
                polls = 0
            else:
                spin_pause()
    return True
