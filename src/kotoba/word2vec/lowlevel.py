"""Two Numba intrinsics the word2vec kernels need and Numba does not offer: ``prefetch_row`` and
``borrow``. Neither changes any value the kernels compute.

* ``prefetch_row(m, r)`` asks the CPU to start loading row ``r`` of ``m`` into its caches. The
  rows a step reads are picked at random (negatives from the unigram^0.75 table, the target and the
  context word entering the window from the text), and with a vocabulary of 50k+ words most are not
  in the core's L2 cache; issued one step ahead, the loads arrive while the previous step computes.
  It emits LLVM's ``llvm.prefetch`` (x86 ``prefetcht0``): a hint that never faults.
* ``borrow(a)`` is ``a`` without its reference count: the same data, shape and strides, no
  meminfo. Numba counts references to an array whenever it is bound to a new variable, passed to a
  function or inlined into a helper -- an atomic (``lock``-prefixed) add on the array's meminfo,
  which for the shared weight matrices is one cache line that every training thread writes, several
  times per step (17 % of a 1-thread skip-gram run's samples were in ``NRT_incref`` /
  ``NRT_decref``; with two threads each of those moves the line between the cores). A borrowed array
  must not outlive the array it was borrowed from: the kernels borrow their arguments for the
  duration of one call and never return or store the borrowed arrays.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic
from numba.np.arrayobj import populate_array

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


def _plain(ty) -> bool:
    """Whether values of type ``ty`` can be borrowed: arrays, numbers, and tuples of these."""
    if isinstance(ty, types.BaseTuple):
        return all(_plain(member) for member in ty)
    return isinstance(ty, (types.Array, types.Number, types.Boolean))


def _borrow_value(context, builder, ty, value):
    if isinstance(ty, types.Array):
        src = context.make_array(ty)(context, builder, value)
        out = context.make_array(ty)(context, builder)
        populate_array(out, data=src.data, shape=src.shape, strides=src.strides, itemsize=src.itemsize, meminfo=None)
        return out._getvalue()
    if isinstance(ty, types.BaseTuple):
        for k, member in enumerate(ty):
            value = builder.insert_value(
                value, _borrow_value(context, builder, member, builder.extract_value(value, k)), k
            )
    return value


@intrinsic
def borrow(typingctx, value):
    """``value`` with each array in it (an array, or a tuple or NamedTuple of arrays and numbers, nested)
    replaced by the same array without a meminfo: Numba's reference counting skips it (see the module
    docstring)."""
    if not _plain(value):
        return None

    def codegen(context, builder, signature, args):
        return _borrow_value(context, builder, signature.args[0], args[0])

    return value(value), codegen
