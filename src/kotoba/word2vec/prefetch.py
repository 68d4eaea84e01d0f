"""``prefetch_row``: ask the CPU to start loading a matrix row into its caches, from jitted code.

Why by hand: the rows a word2vec step reads are picked at random (negatives from the unigram^0.75
table, the target and the context word entering the window from the text), and with a vocabulary
of 50k+ words most of them are not in the core's L2 cache. A step waits for those loads; issued
one step ahead, they arrive while the previous step computes. NumPy and Numba have no prefetch
operation, so this emits LLVM's ``llvm.prefetch`` intrinsic (x86 ``prefetcht0``): a hint that
neither faults nor changes any value, so results are the same with or without it.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

_LINE = 64  # bytes per cache line on x86-64 and most ARM cores


@intrinsic
def prefetch_row(typingctx, matrix, row):
    """Prefetch every cache line of ``matrix[row]`` (2-D, C-contiguous) for reading.

    ``row`` is not bounds-checked, but a prefetch of an address outside the array is harmless.
    """
    if not (isinstance(matrix, types.Array) and matrix.ndim == 2 and matrix.layout == "C"):
        return None
    if not isinstance(row, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        aryty, rowty = signature.args
        ary = context.make_array(aryty)(context, builder, args[0])
        intp = context.get_value_type(types.intp)
        r = context.cast(builder, args[1], rowty, types.intp)
        start = cgutils.get_item_pointer(context, builder, aryty, ary, [r, ir.Constant(intp, 0)])
        ncols = builder.extract_value(ary.shape, 1)
        nbytes = builder.mul(ncols, ir.Constant(intp, aryty.dtype.bitwidth // 8))
        # rows need not start on a line: from the line holding the first byte to the one holding the last
        first = builder.and_(builder.ptrtoint(start, intp), ir.Constant(intp, -_LINE))
        end = builder.add(builder.ptrtoint(start, intp), nbytes)
        i8p = ir.IntType(8).as_pointer()
        fnty = ir.FunctionType(ir.VoidType(), [i8p, ir.IntType(32), ir.IntType(32), ir.IntType(32)])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
        # (address, 0 = read, 3 = keep in all cache levels, 1 = data cache)
        flags = [ir.Constant(ir.IntType(32), v) for v in (0, 3, 1)]
        with cgutils.for_range_slice(builder, first, end, ir.Constant(intp, _LINE)) as (address, _):
            builder.call(fn, [builder.inttoptr(address, i8p), *flags])
        return context.get_dummy_value()

    return types.void(matrix, row), codegen
