"""Eight-lane sums over the rows of a unit-major array, as explicit vector code.

The SGD state (:mod:`bnbounds._kernels.sgd`) keeps unit j's coordinates B_j
(``r`` of them, zero-padded to ``rp``, a multiple of :data:`LANES`) in row j
of a C-contiguous array. Every sum over k of a row is computed in eight lanes:
lane l adds the terms ``k = l, l + 8, l + 16, ...`` in order of k (each term by
one fused multiply-add, :func:`bnbounds._kernels._cpu.mul_add`), and the eight
lanes are added as the fixed tree ``((l0 + l1) + (l2 + l3)) + ((l4 + l5) +
(l6 + l7))``. The association is fixed, so a sum is the same on every CPU
with FMA whatever its vector width (the eight lanes are one 512-bit vector,
two 256-bit or four 128-bit ones: :data:`WIDTH`, from
:data:`bnbounds._kernels._cpu.VECTOR_BITS`), the same in every thread, and
independent of which other units are processed with it.

Why explicit vector code: LLVM vectorises a reduction loop only if it may
reassociate it (fastmath), which would make the sums depend on the target;
its SLP vectoriser did not pack eight scalar lanes either (measured: scalar
``vfmadd231sd`` only). So each function below is a Numba ``@intrinsic`` that
emits the loop over ``rp / 8`` with ``<WIDTH x double>`` operations. Several
units go through one loop (:func:`row_dot4`, :func:`row_update2`) so that
their independent sums overlap: one unit's eight-lane chain is latency-bound.

The tree is three shuffle-and-add steps on the vector (lane 0 ends with the
tree's value; IEEE addition is commutative, so it equals the scalar tree bit
for bit) instead of eight extracts and seven scalar adds: the pass of
:func:`bnbounds._kernels.sgd._pass_update` went from 15.0 to 13.8 us
(m = 1024, r = 100, half the units active, this Xeon).

With ``NUMBA_DISABLE_JIT=1`` the same lanes and tree run in NumPy (a multiply
and an add per term, as :func:`~bnbounds._kernels._cpu.mul_add` without JIT).

Contract of every function (not checked here: the callers validate shapes):
``B`` (and ``B0``) are C-contiguous float64 (units, rp) arrays, ``rp % 8 == 0``;
vectors (``t``, ``tn``, ``lam``) are contiguous float64 of length >= rp; ``j``
is a row index in range.
"""

from __future__ import annotations

import numpy as np

from .. import _config
from . import _cpu

#: Lanes of every row sum (fixed: results do not depend on the vector width).
LANES = 8
#: Doubles per vector the lanes are computed in (8, 4 or 2).
WIDTH = max(2, min(LANES, _cpu.VECTOR_BITS // 64))


def padded_rank(r: int) -> int:
    """r rounded up to a whole number of lanes (at least one)."""
    return max(LANES, -(-r // LANES) * LANES)


def _tree_py(acc) -> float:
    a = [float(v) for v in acc]
    return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))


def _lanes_py(B, j, vecs, term) -> float:
    acc = np.zeros(LANES)
    rows = [v.reshape(-1, LANES) for v in vecs]
    x = B[j].reshape(-1, LANES)
    for q in range(x.shape[0]):
        acc = term(x[q], *(v[q] for v in rows)) + acc
    return _tree_py(acc)


if _config.JIT_DISABLED:

    def row_dot(B, j, t):
        """``sum_k B[j, k] t[k]`` in eight lanes."""
        return _lanes_py(B, j, [t[: B.shape[1]]], lambda x, y: x * y)

    def row_dot4(B, j0, j1, j2, j3, t):
        """:func:`row_dot` of four rows."""
        return tuple(row_dot(B, j, t) for j in (j0, j1, j2, j3))

    def row_dot_sq(B, j, t, lam):
        """``(sum_k B[j, k] t[k], sum_k (lam[k] B[j, k]) B[j, k])``."""
        rp = B.shape[1]
        return (
            row_dot(B, j, t),
            _lanes_py(B, j, [lam[:rp]], lambda x, lk: (lk * x) * x),
        )

    def row_update(B, j, ck, cf, lam, t, tn):
        """``B[j] <- fma(-cf, t, fma(ck, lam * B[j], B[j]))``; returns
        ``(sum_k (lam_k b_k) b_k, sum_k b_k tn_k)`` of the new row b."""
        rp = B.shape[1]
        x = B[j]
        B[j] = -cf * t[:rp] + (ck * (lam[:rp] * x) + x)
        return row_dot_sq(B, j, tn, lam)[::-1]

    def row_update2(B, j0, ck0, cf0, j1, ck1, cf1, lam, t, tn):
        """:func:`row_update` of two rows: ``(s0, z0, s1, z1)``."""
        return row_update(B, j0, ck0, cf0, lam, t, tn) + row_update(
            B, j1, ck1, cf1, lam, t, tn
        )

    def row_sq(B, j):
        """``sum_k B[j, k]^2`` in eight lanes."""
        return _lanes_py(B, j, [], lambda x: x * x)

    def row_sqdist(B, j, B0):
        """``sum_k (B[j, k] - B0[j, k])^2`` in eight lanes."""
        return _lanes_py(B, j, [B0[j]], lambda x, y: (x - y) * (x - y))

    def split8(ck, coef, act, still):
        """The first ``8 (m // 8)`` units with ``ck_j`` or ``coef_j`` nonzero (or
        not a number), in order, into ``act``, the others into ``still``;
        returns ``(na, ns)``."""
        n8 = coef.shape[0] - coef.shape[0] % 8
        moves = (coef[:n8] != 0.0) | (ck[:n8] != 0.0)
        a = np.flatnonzero(moves)
        b = np.flatnonzero(~moves)
        act[: a.size] = a
        still[: b.size] = b
        return a.size, b.size

else:
    from llvmlite import ir
    from numba import types
    from numba.core import cgutils
    from numba.extending import intrinsic

    _DBL = ir.DoubleType()
    _VEC = ir.VectorType(_DBL, WIDTH)
    _I32 = ir.IntType(32)
    _PIECES = LANES // WIDTH

    def _is_matrix(ty) -> bool:
        return (
            isinstance(ty, types.Array)
            and ty.ndim == 2
            and ty.layout == "C"
            and ty.dtype == types.float64
        )

    def _is_vector(ty) -> bool:
        return (
            isinstance(ty, types.Array)
            and ty.ndim == 1
            and ty.layout == "C"
            and ty.dtype == types.float64
        )

    def _fma(builder, a, b, c):
        if not _cpu.HAS_FMA:
            return builder.fadd(builder.fmul(a, b), c)
        fnty = ir.FunctionType(_VEC, [_VEC, _VEC, _VEC])
        fn = cgutils.get_or_insert_function(
            builder.module, fnty, f"llvm.fma.v{WIDTH}f64"
        )
        return builder.call(fn, [a, b, c])

    def _load(builder, base, k):
        ptr = builder.bitcast(builder.gep(base, [k]), _VEC.as_pointer())
        return builder.load(ptr, align=8)

    def _store(builder, v, base, k):
        ptr = builder.bitcast(builder.gep(base, [k]), _VEC.as_pointer())
        builder.store(v, ptr, align=8)

    def _splat(builder, x):
        undef = ir.Constant(_VEC, ir.Undefined)
        v = builder.insert_element(undef, x, ir.Constant(_I32, 0))
        mask = ir.Constant(ir.VectorType(_I32, WIDTH), [0] * WIDTH)
        return builder.shuffle_vector(v, undef, mask)

    def _tree(builder, pieces):
        """The fixed tree over the eight lanes held in ``pieces`` (WIDTH each)."""
        if WIDTH == LANES:
            v = pieces[0]
            undef = ir.Constant(_VEC, ir.Undefined)
            for mask in (
                [1, 0, 3, 2, 5, 4, 7, 6],  # lanes 0, 2, 4, 6: l0+l1, l2+l3, ...
                [2, 3, 0, 1, 6, 7, 4, 5],  # lanes 0, 4: the two halves' sums
                [4, 5, 6, 7, 0, 1, 2, 3],  # lane 0: the tree
            ):
                sh = ir.Constant(ir.VectorType(_I32, LANES), mask)
                v = builder.fadd(v, builder.shuffle_vector(v, undef, sh))
            return builder.extract_element(v, ir.Constant(_I32, 0))
        e = [
            builder.extract_element(p, ir.Constant(_I32, i))
            for p in pieces
            for i in range(WIDTH)
        ]
        pairs = [builder.fadd(e[i], e[i + 1]) for i in range(0, LANES, 2)]
        return builder.fadd(
            builder.fadd(pairs[0], pairs[1]), builder.fadd(pairs[2], pairs[3])
        )

    def _shuffle(builder, a, b, mask):
        return builder.shuffle_vector(
            a, b, ir.Constant(ir.VectorType(_I32, len(mask)), mask)
        )

    def _trees(builder, sums):
        """The fixed tree of each of ``sums`` (lists of pieces), returned as
        scalars. With whole 8-lane vectors, two or four trees share their
        shuffles: level by level, the partial sums of several units are packed
        into one vector and added at once, each pair in the tree's own order
        (so every result equals :func:`_tree` of its unit bit for bit)."""
        if WIDTH != LANES or len(sums) not in (2, 4):
            return [_tree(builder, pieces) for pieces in sums]
        even = [0, 2, 4, 6, 8, 10, 12, 14]
        odd = [1, 3, 5, 7, 9, 11, 13, 15]
        swap = [1, 0, 3, 2, 5, 4, 7, 6]
        undef = ir.Constant(_VEC, ir.Undefined)

        def pairs(a, b):  # [a01, a23, a45, a67, b01, b23, b45, b67]
            return builder.fadd(
                _shuffle(builder, a, b, even), _shuffle(builder, a, b, odd)
            )

        vs = [pieces[0] for pieces in sums]
        if len(vs) == 2:
            p = pairs(vs[0], vs[1])
            q = builder.fadd(p, _shuffle(builder, p, undef, swap))  # a0123 at 0
            r = builder.fadd(q, _shuffle(builder, q, undef, [2, 3, 0, 1, 6, 7, 4, 5]))
            lanes = (0, 4)
        else:
            p1, p2 = pairs(vs[0], vs[1]), pairs(vs[2], vs[3])
            # [a0123, a4567, b0123, b4567, c0123, c4567, d0123, d4567]
            q = builder.fadd(
                _shuffle(builder, p1, p2, even), _shuffle(builder, p1, p2, odd)
            )
            r = builder.fadd(q, _shuffle(builder, q, undef, swap))
            lanes = (0, 2, 4, 6)
        return [builder.extract_element(r, ir.Constant(_I32, i)) for i in lanes]

    def _lane_loop(builder, intp, nq, nacc, body):
        """``for q in range(nq)`` with ``nacc`` vector accumulators (zero at the
        start), ``body(k, accs) -> new accs`` at offset ``k = 8 q``; returns
        the final accumulators (zeros when ``nq == 0``)."""
        zero = ir.Constant(_VEC, [0.0] * WIDTH)
        pre = builder.block
        loop = builder.append_basic_block("lanes.loop")
        done = builder.append_basic_block("lanes.done")
        builder.cbranch(builder.icmp_signed(">", nq, ir.Constant(intp, 0)), loop, done)
        builder.position_at_end(loop)
        q = builder.phi(intp)
        q.add_incoming(ir.Constant(intp, 0), pre)
        accs = []
        for _ in range(nacc):
            phi = builder.phi(_VEC)
            phi.add_incoming(zero, pre)
            accs.append(phi)
        new = body(builder.mul(q, ir.Constant(intp, LANES)), accs)
        end = builder.block
        qn = builder.add(q, ir.Constant(intp, 1))
        q.add_incoming(qn, end)
        for phi, val in zip(accs, new, strict=True):
            phi.add_incoming(val, end)
        builder.cbranch(builder.icmp_signed("<", qn, nq), loop, done)
        builder.position_at_end(done)
        out = []
        for val in new:
            phi = builder.phi(_VEC)
            phi.add_incoming(zero, pre)
            phi.add_incoming(val, end)
            out.append(phi)
        return out

    def _pieces(builder, intp, k):
        return [builder.add(k, ir.Constant(intp, p * WIDTH)) for p in range(_PIECES)]

    class _Rows:
        """Pointers to rows of a C-contiguous matrix argument."""

        def __init__(self, context, builder, ty, val):
            self.ary = context.make_array(ty)(context, builder, val)
            self.rp = builder.extract_value(self.ary.shape, 1)
            self.builder = builder

        def row(self, context, jty, j):
            j = context.cast(self.builder, j, jty, types.intp)
            return self.builder.gep(self.ary.data, [self.builder.mul(j, self.rp)])

    def _data(context, builder, ty, val):
        return context.make_array(ty)(context, builder, val).data

    def _one_row_sum(second, term):
        """Codegen of ``sum_k term(B[j, k], y_k)`` for one row, in eight lanes:
        ``y`` is the vector argument 2 (``second == "vector"``), row j of the
        matrix argument 2 (``"row"``) or absent (None); ``term(builder, x, y,
        acc)`` adds one term to a lane accumulator."""

        def codegen(context, builder, sig, args):
            intp = context.get_value_type(types.intp)
            rows = _Rows(context, builder, sig.args[0], args[0])
            base = rows.row(context, sig.args[1], args[1])
            other = None
            if second == "vector":
                other = _data(context, builder, sig.args[2], args[2])
            elif second == "row":
                other = _Rows(context, builder, sig.args[2], args[2]).row(
                    context, sig.args[1], args[1]
                )
            nq = builder.udiv(rows.rp, ir.Constant(intp, LANES))

            def body(k, accs):
                out = []
                for kp, acc in zip(_pieces(builder, intp, k), accs, strict=True):
                    x = _load(builder, base, kp)
                    y = None if other is None else _load(builder, other, kp)
                    out.append(term(builder, x, y, acc))
                return out

            return _tree(builder, _lane_loop(builder, intp, nq, _PIECES, body))

        return codegen

    @intrinsic
    def row_dot(typingctx, B, j, t):
        """``sum_k B[j, k] t[k]`` in eight lanes."""
        if not (_is_matrix(B) and isinstance(j, types.Integer) and _is_vector(t)):
            return None
        term = lambda b, x, y, acc: _fma(b, x, y, acc)  # noqa: E731
        return types.float64(B, j, t), _one_row_sum("vector", term)

    @intrinsic
    def row_dot4(typingctx, B, j0, j1, j2, j3, t):
        """:func:`row_dot` of four rows in one loop: ``(z0, z1, z2, z3)``."""
        js = (j0, j1, j2, j3)
        if not (
            _is_matrix(B)
            and all(isinstance(j, types.Integer) for j in js)
            and _is_vector(t)
        ):
            return None
        sig = types.UniTuple(types.float64, 4)(B, *js, t)

        def codegen(context, builder, sig, args):
            intp = context.get_value_type(types.intp)
            rows = _Rows(context, builder, sig.args[0], args[0])
            bases = [rows.row(context, sig.args[1 + u], args[1 + u]) for u in range(4)]
            tp = _data(context, builder, sig.args[5], args[5])
            nq = builder.udiv(rows.rp, ir.Constant(intp, LANES))

            def body(k, accs):
                out = []
                kps = _pieces(builder, intp, k)
                ts = [_load(builder, tp, kp) for kp in kps]
                for u, base in enumerate(bases):
                    for p, kp in enumerate(kps):
                        x = _load(builder, base, kp)
                        out.append(_fma(builder, x, ts[p], accs[u * _PIECES + p]))
                return out

            acc = _lane_loop(builder, intp, nq, 4 * _PIECES, body)
            sums = _trees(
                builder, [acc[u * _PIECES : (u + 1) * _PIECES] for u in range(4)]
            )
            return context.make_tuple(builder, sig.return_type, sums)

        return sig, codegen

    @intrinsic
    def row_dot_sq(typingctx, B, j, t, lam):
        """``(sum_k B[j, k] t[k], sum_k (lam[k] B[j, k]) B[j, k])``."""
        if not (
            _is_matrix(B)
            and isinstance(j, types.Integer)
            and _is_vector(t)
            and _is_vector(lam)
        ):
            return None
        sig = types.UniTuple(types.float64, 2)(B, j, t, lam)

        def codegen(context, builder, sig, args):
            intp = context.get_value_type(types.intp)
            rows = _Rows(context, builder, sig.args[0], args[0])
            base = rows.row(context, sig.args[1], args[1])
            tp = _data(context, builder, sig.args[2], args[2])
            lp = _data(context, builder, sig.args[3], args[3])
            nq = builder.udiv(rows.rp, ir.Constant(intp, LANES))

            def body(k, accs):
                zs, ss = [], []
                for p, kp in enumerate(_pieces(builder, intp, k)):
                    x = _load(builder, base, kp)
                    lx = builder.fmul(_load(builder, lp, kp), x)
                    zs.append(_fma(builder, x, _load(builder, tp, kp), accs[p]))
                    ss.append(_fma(builder, lx, x, accs[_PIECES + p]))
                return zs + ss

            acc = _lane_loop(builder, intp, nq, 2 * _PIECES, body)
            sums = _trees(builder, [acc[:_PIECES], acc[_PIECES:]])
            return context.make_tuple(builder, sig.return_type, sums)

        return sig, codegen

    def _update_codegen(nunits):
        def codegen(context, builder, sig, args):
            intp = context.get_value_type(types.intp)
            rows = _Rows(context, builder, sig.args[0], args[0])
            units = []
            for u in range(nunits):
                j, ck, cf = args[1 + 3 * u : 4 + 3 * u]
                base = rows.row(context, sig.args[1 + 3 * u], j)
                ck = context.cast(builder, ck, sig.args[2 + 3 * u], types.float64)
                cf = context.cast(builder, cf, sig.args[3 + 3 * u], types.float64)
                units.append(
                    (base, _splat(builder, ck), _splat(builder, builder.fneg(cf)))
                )
            o = 1 + 3 * nunits
            lp, tp, np_ = (
                _data(context, builder, sig.args[o + i], args[o + i]) for i in range(3)
            )
            nq = builder.udiv(rows.rp, ir.Constant(intp, LANES))

            def body(k, accs):
                out = [None] * len(accs)
                for p, kp in enumerate(_pieces(builder, intp, k)):
                    lk = _load(builder, lp, kp)
                    tk = _load(builder, tp, kp)
                    nk = _load(builder, np_, kp)
                    for u, (base, ck, ncf) in enumerate(units):
                        x = _load(builder, base, kp)
                        b = _fma(builder, ck, builder.fmul(lk, x), x)
                        b = _fma(builder, ncf, tk, b)
                        _store(builder, b, base, kp)
                        si = (2 * u) * _PIECES + p
                        zi = (2 * u + 1) * _PIECES + p
                        out[si] = _fma(builder, builder.fmul(lk, b), b, accs[si])
                        out[zi] = _fma(builder, b, nk, accs[zi])
                return out

            acc = _lane_loop(builder, intp, nq, 2 * nunits * _PIECES, body)
            sums = _trees(
                builder,
                [acc[i * _PIECES : (i + 1) * _PIECES] for i in range(2 * nunits)],
            )
            return context.make_tuple(builder, sig.return_type, sums)

        return codegen

    def _update_sig(B, units, vecs):
        ok = _is_matrix(B) and all(_is_vector(v) for v in vecs)
        for j, ck, cf in units:
            ok = ok and isinstance(j, types.Integer)
            ok = ok and isinstance(ck, types.Float) and isinstance(cf, types.Float)
        if not ok:
            return None
        flat = [x for unit in units for x in unit]
        return types.UniTuple(types.float64, 2 * len(units))(B, *flat, *vecs)

    @intrinsic
    def row_update(typingctx, B, j, ck, cf, lam, t, tn):
        """``B[j] <- fma(-cf, t, fma(ck, lam * B[j], B[j]))`` in place; returns
        ``(sum_k (lam_k b_k) b_k, sum_k b_k tn_k)`` of the new row b, in lanes."""
        sig = _update_sig(B, [(j, ck, cf)], (lam, t, tn))
        return None if sig is None else (sig, _update_codegen(1))

    @intrinsic
    def row_update2(typingctx, B, j0, ck0, cf0, j1, ck1, cf1, lam, t, tn):
        """:func:`row_update` of rows j0 and j1 (distinct) in one loop:
        ``(s0, z0, s1, z1)``."""
        sig = _update_sig(B, [(j0, ck0, cf0), (j1, ck1, cf1)], (lam, t, tn))
        return None if sig is None else (sig, _update_codegen(2))

    @intrinsic
    def row_sq(typingctx, B, j):
        """``sum_k B[j, k]^2`` in eight lanes."""
        if not (_is_matrix(B) and isinstance(j, types.Integer)):
            return None
        term = lambda b, x, y, acc: _fma(b, x, x, acc)  # noqa: E731
        return types.float64(B, j), _one_row_sum(None, term)

    @intrinsic
    def row_sqdist(typingctx, B, j, B0):
        """``sum_k (B[j, k] - B0[j, k])^2`` in eight lanes (B0 of B's shape)."""
        if not (_is_matrix(B) and isinstance(j, types.Integer) and _is_matrix(B0)):
            return None

        def term(b, x, y, acc):
            e = b.fsub(x, y)
            return _fma(b, e, e, acc)

        return types.float64(B, j, B0), _one_row_sum("row", term)

    _COMPRESS = WIDTH == LANES and _cpu.COMPRESS_STORE  # see _cpu.COMPRESS_STORE

    @intrinsic
    def split8(typingctx, ck, coef, act, still):
        """The first ``8 (m // 8)`` units with ``ck_j`` or ``coef_j`` nonzero (or
        not a number), in order, into ``act``, the others into ``still``;
        returns ``(na, ns)``. Eight units at a time: two compares, then
        ``llvm.masked.compressstore`` of their indices into each list (where
        :data:`bnbounds._kernels._cpu.COMPRESS_STORE`; elsewhere ``(0, 0)``,
        and the caller's loop does all units)."""
        ints = (act, still)
        if not (
            _is_vector(ck)
            and _is_vector(coef)
            and all(
                isinstance(t, types.Array)
                and t.ndim == 1
                and t.layout == "C"
                and t.dtype == types.int64
                for t in ints
            )
        ):
            return None
        sig = types.UniTuple(types.intp, 2)(ck, coef, act, still)

        def codegen(context, builder, sig, args):
            intp = context.get_value_type(types.intp)
            zero = ir.Constant(intp, 0)
            if not _COMPRESS:
                return context.make_tuple(builder, sig.return_type, [zero, zero])
            i64 = ir.IntType(64)
            v8i64 = ir.VectorType(i64, LANES)
            v8i1 = ir.VectorType(ir.IntType(1), LANES)
            ckp, cfp, ap, sp = (
                _data(context, builder, sig.args[i], args[i]) for i in range(4)
            )
            m = builder.extract_value(
                context.make_array(sig.args[1])(context, builder, args[1]).shape, 0
            )
            nq = builder.udiv(m, ir.Constant(intp, LANES))
            i64p = i64.as_pointer()
            fnty = ir.FunctionType(ir.VoidType(), [v8i64, i64p, v8i1])
            cstore = cgutils.get_or_insert_function(
                builder.module, fnty, "llvm.masked.compressstore.v8i64"
            )
            ctpop = cgutils.get_or_insert_function(
                builder.module,
                ir.FunctionType(ir.IntType(8), [ir.IntType(8)]),
                "llvm.ctpop.i8",
            )
            lanes = ir.Constant(v8i64, list(range(LANES)))
            zv = ir.Constant(_VEC, [0.0] * LANES)
            ones = ir.Constant(v8i1, [1] * LANES)
            pre = builder.block
            loop = builder.append_basic_block("split.loop")
            done = builder.append_basic_block("split.done")
            builder.cbranch(builder.icmp_signed(">", nq, zero), loop, done)
            builder.position_at_end(loop)
            q = builder.phi(intp)
            na = builder.phi(intp)
            ns = builder.phi(intp)
            for phi in (q, na, ns):
                phi.add_incoming(zero, pre)
            k = builder.mul(q, ir.Constant(intp, LANES))
            c1 = builder.fcmp_unordered("!=", _load(builder, cfp, k), zv)
            c2 = builder.fcmp_unordered("!=", _load(builder, ckp, k), zv)
            mask = builder.or_(c1, c2)
            idx = builder.add(_splat_int(builder, builder.sext(k, i64), v8i64), lanes)
            builder.call(cstore, [idx, builder.gep(ap, [na]), mask])
            builder.call(cstore, [idx, builder.gep(sp, [ns]), builder.xor(mask, ones)])
            cnt = builder.call(ctpop, [builder.bitcast(mask, ir.IntType(8))])
            cnt = builder.zext(cnt, intp)
            na_n = builder.add(na, cnt)
            ns_n = builder.add(ns, builder.sub(ir.Constant(intp, LANES), cnt))
            q_n = builder.add(q, ir.Constant(intp, 1))
            for phi, val in ((q, q_n), (na, na_n), (ns, ns_n)):
                phi.add_incoming(val, loop)
            builder.cbranch(builder.icmp_signed("<", q_n, nq), loop, done)
            builder.position_at_end(done)
            out = []
            for val in (na_n, ns_n):
                phi = builder.phi(intp)
                phi.add_incoming(zero, pre)
                phi.add_incoming(val, loop)
                out.append(phi)
            return context.make_tuple(builder, sig.return_type, out)

        return sig, codegen

    def _splat_int(builder, x, vty):
        undef = ir.Constant(vty, ir.Undefined)
        v = builder.insert_element(undef, x, ir.Constant(_I32, 0))
        mask = ir.Constant(ir.VectorType(_I32, LANES), [0] * LANES)
        return builder.shuffle_vector(v, undef, mask)
