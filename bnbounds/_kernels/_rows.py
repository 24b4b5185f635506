"""Row kernels of the SGD pass in explicit 8-lane vectors (LLVM IR via intrinsics).

The SGD state keeps B row-major, one unit a row of ``rp`` entries (r padded with
zeros to a multiple of ``LANES`` = 8; the eigenvalues and example rows are padded
the same way, so the padding stays exactly 0). A row is reduced along k, which
LLVM does not vectorise without reassociation (fastmath, which ``_config``
forbids). These kernels therefore spell the vectors out: each sum over k runs
in 8 lane-wise partial sums (lane q adds the terms k = q, q + 8, q + 16, ... in
order), combined at the end in the fixed tree ``((0+1)+(2+3))+((4+5)+(6+7))``.
That order is part of the definition, not the compiler's choice: the result is
the same on every CPU and vector width (LLVM splits the 8 lanes into 2 ymm or 4
xmm registers where there is no zmm). Products are fused where the target has
FMA (:data:`bnbounds._kernels._cpu.HAS_FMA`).

``row_update(B, j, lam, ti, tn, ck, ncf)``  B_j <- fma(ncf, ti, fma(ck, lam B_j, B_j))
                                            (written back), returns
                                            (sum_k lam_k B_jk^2, sum_k B_jk tn_k)
``row_sums(B, j, lam, tn)``                 the same two sums, B_j unchanged
``row_dot(B, j, tn)``                       sum_k B_jk tn_k
``row_sqdist(B, B0, j)``                    sum_k (B_jk - B0_jk)^2

Arguments: ``B``, ``B0`` float64 C-contiguous 2-d with ``rp`` columns, ``rp`` a
multiple of 8; ``lam``, ``ti``, ``tn`` float64 C-contiguous of length ``rp``
(read through their data pointers: the caller guarantees the lengths, as for any
kernel of this package). With ``NUMBA_DISABLE_JIT=1`` they are plain Python with
the same lane order (two roundings where the JIT fuses).
"""

from __future__ import annotations

from .. import _config
from ._cpu import HAS_FMA

#: Lanes of every row reduction (fixed: the summation order must not depend on
#: the CPU).
LANES = 8


def _tree(p):
    return ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]))


if _config.JIT_DISABLED:

    def row_update(B, j, lam, ti, tn, ck, ncf):
        row = B[j]
        s = [0.0] * LANES
        z = [0.0] * LANES
        for k in range(row.shape[0]):
            x = row[k]
            b = ncf * ti[k] + (ck * (lam[k] * x) + x)
            row[k] = b
            q = k % LANES
            s[q] = (lam[k] * b) * b + s[q]
            z[q] = b * tn[k] + z[q]
        return _tree(s), _tree(z)

    def row_sums(B, j, lam, tn):
        row = B[j]
        s = [0.0] * LANES
        z = [0.0] * LANES
        for k in range(row.shape[0]):
            b = row[k]
            q = k % LANES
            s[q] = (lam[k] * b) * b + s[q]
            z[q] = b * tn[k] + z[q]
        return _tree(s), _tree(z)

    def row_dot(B, j, tn):
        row = B[j]
        z = [0.0] * LANES
        for k in range(row.shape[0]):
            q = k % LANES
            z[q] = row[k] * tn[k] + z[q]
        return _tree(z)

    def row_sqdist(B, B0, j):
        row = B[j]
        row0 = B0[j]
        d = [0.0] * LANES
        for k in range(row.shape[0]):
            e = row[k] - row0[k]
            q = k % LANES
            d[q] = e * e + d[q]
        return _tree(d)

else:
    from llvmlite import ir
    from numba import types
    from numba.core import cgutils
    from numba.extending import intrinsic

    _DBL = ir.DoubleType()
    _VEC = ir.VectorType(_DBL, LANES)
    _I32 = ir.IntType(32)

    def _mul_add(builder, a, b, c):
        """a * b + c on vectors: llvm.fma (one rounding) or fmul + fadd."""
        if not HAS_FMA:
            return builder.fadd(builder.fmul(a, b), c)
        fnty = ir.FunctionType(_VEC, [_VEC, _VEC, _VEC])
        fn = cgutils.get_or_insert_function(
            builder.module, fnty, f"llvm.fma.v{LANES}f64"
        )
        return builder.call(fn, [a, b, c])

    def _splat(builder, x):
        v = builder.insert_element(ir.Constant(_VEC, ir.Undefined), x, _I32(0))
        mask = ir.Constant(ir.VectorType(_I32, LANES), [0] * LANES)
        return builder.shuffle_vector(v, ir.Constant(_VEC, ir.Undefined), mask)

    def _lane_sum(builder, v):
        e = [builder.extract_element(v, _I32(q)) for q in range(LANES)]
        a = builder.fadd(builder.fadd(e[0], e[1]), builder.fadd(e[2], e[3]))
        b = builder.fadd(builder.fadd(e[4], e[5]), builder.fadd(e[6], e[7]))
        return builder.fadd(a, b)

    def _row_ptr(context, builder, aryty, ary, j):
        arr = context.make_array(aryty)(context, builder, ary)
        ncols = cgutils.unpack_tuple(builder, arr.shape)[1]
        zero = context.get_constant(types.intp, 0)
        ptr = cgutils.get_item_pointer(context, builder, aryty, arr, [j, zero])
        return ptr, ncols

    def _data(context, builder, aryty, ary):
        return context.make_array(aryty)(context, builder, ary).data

    def _vload(builder, base, off):
        """8 float64 from ``base + off`` (only 8-byte aligned is assumed)."""
        ptr = builder.bitcast(builder.gep(base, [off]), _VEC.as_pointer())
        return builder.load(ptr, align=8)

    def _vstore(builder, value, base, off):
        ptr = builder.bitcast(builder.gep(base, [off]), _VEC.as_pointer())
        builder.store(value, ptr, align=8)

    def _loop(context, builder, ncols, body, naccs):
        """Run ``body(off, accs) -> accs`` over the 8-lane vectors of a row."""
        zero = ir.Constant(_VEC, [0.0] * LANES)
        slots = [cgutils.alloca_once_value(builder, zero) for _ in range(naccs)]
        nvec = builder.udiv(ncols, context.get_constant(types.intp, LANES))
        with cgutils.for_range(builder, nvec) as loop:
            off = builder.mul(loop.index, context.get_constant(types.intp, LANES))
            new = body(off, [builder.load(s) for s in slots])
            for slot, value in zip(slots, new, strict=True):
                builder.store(value, slot)
        return [_lane_sum(builder, builder.load(s)) for s in slots]

    @intrinsic
    def row_update(typingctx, B, j, lam, ti, tn, ck, ncf):
        f8 = types.float64
        sig = types.UniTuple(f8, 2)(B, types.intp, lam, ti, tn, f8, f8)

        def codegen(context, builder, sig, args):
            B_, j_, lam_, ti_, tn_, ck_, ncf_ = args
            row, ncols = _row_ptr(context, builder, sig.args[0], B_, j_)
            lp = _data(context, builder, sig.args[2], lam_)
            tip = _data(context, builder, sig.args[3], ti_)
            tnp = _data(context, builder, sig.args[4], tn_)
            ckv = _splat(builder, ck_)
            ncfv = _splat(builder, ncf_)

            def body(off, accs):
                s, z = accs
                x = _vload(builder, row, off)
                lv = _vload(builder, lp, off)
                q = _mul_add(builder, ckv, builder.fmul(lv, x), x)
                b = _mul_add(builder, ncfv, _vload(builder, tip, off), q)
                _vstore(builder, b, row, off)
                s = _mul_add(builder, builder.fmul(lv, b), b, s)
                z = _mul_add(builder, b, _vload(builder, tnp, off), z)
                return [s, z]

            s, z = _loop(context, builder, ncols, body, 2)
            return context.make_tuple(builder, sig.return_type, [s, z])

        return sig, codegen

    @intrinsic
    def row_sums(typingctx, B, j, lam, tn):
        sig = types.UniTuple(types.float64, 2)(B, types.intp, lam, tn)

        def codegen(context, builder, sig, args):
            B_, j_, lam_, tn_ = args
            row, ncols = _row_ptr(context, builder, sig.args[0], B_, j_)
            lp = _data(context, builder, sig.args[2], lam_)
            tnp = _data(context, builder, sig.args[3], tn_)

            def body(off, accs):
                s, z = accs
                b = _vload(builder, row, off)
                s = _mul_add(builder, builder.fmul(_vload(builder, lp, off), b), b, s)
                z = _mul_add(builder, b, _vload(builder, tnp, off), z)
                return [s, z]

            s, z = _loop(context, builder, ncols, body, 2)
            return context.make_tuple(builder, sig.return_type, [s, z])

        return sig, codegen

    @intrinsic
    def row_dot(typingctx, B, j, tn):
        sig = types.float64(B, types.intp, tn)

        def codegen(context, builder, sig, args):
            B_, j_, tn_ = args
            row, ncols = _row_ptr(context, builder, sig.args[0], B_, j_)
            tnp = _data(context, builder, sig.args[2], tn_)

            def body(off, accs):
                b = _vload(builder, row, off)
                return [_mul_add(builder, b, _vload(builder, tnp, off), accs[0])]

            return _loop(context, builder, ncols, body, 1)[0]

        return sig, codegen

    @intrinsic
    def row_sqdist(typingctx, B, B0, j):
        sig = types.float64(B, B0, types.intp)

        def codegen(context, builder, sig, args):
            B_, B0_, j_ = args
            row, ncols = _row_ptr(context, builder, sig.args[0], B_, j_)
            row0, _ = _row_ptr(context, builder, sig.args[1], B0_, j_)

            def body(off, accs):
                e = builder.fsub(_vload(builder, row, off), _vload(builder, row0, off))
                return [_mul_add(builder, e, e, accs[0])]

            return _loop(context, builder, ncols, body, 1)[0]

        return sig, codegen
