# gdb pretty-printers for bayun: `print x` on a bayun::Tensor shows its label, shape and first values,
#   $1 = Tensor 'h.0.attn.c_attn.weight' (48, 16) [0.0123, -0.0441, 0.0087, ...] requires_grad
# instead of a shared_ptr's raw pointers. Load it from ~/.gdbinit (see docs/TOUR.md):
#   source /path/to/bayun/tools/gdb/bayun_printers.py
# It follows the fields that autograd/tensor.h declares: Tensor::impl_ -> TensorImpl {storage -> Storage
# {values}, shape, label, requires_grad, grad_fn}. Only libstdc++'s layouts of shared_ptr, vector and string
# are read, so it works without libstdc++'s own printers and on -O0 and -O1 builds alike.
#
# Also: `$bayun_values(t, n)` returns the first n values of tensor t as a string (print $bayun_values(x, 32)).

import gdb
import gdb.printing

SHOWN = 6  # values shown by `print`


def _shared_ptr_target(sp):
    """The object a std::shared_ptr points at, or None when it is empty."""
    ptr = sp["_M_ptr"]
    if int(ptr) == 0:
        return None
    return ptr.dereference()


def _vector_items(vec, limit):
    """(count, first `limit` elements) of a std::vector with any allocator."""
    impl = vec["_M_impl"]
    start, finish = impl["_M_start"], impl["_M_finish"]
    count = int(finish - start)
    if count < 0 or count > (1 << 40):
        raise ValueError("not a constructed vector")
    return count, [start[i] for i in range(min(count, limit))]


def _string(s):
    try:
        return s["_M_dataplus"]["_M_p"].string(length=int(s["_M_string_length"]))
    except gdb.error:
        return str(s)


def _shape(impl):
    count, dims = _vector_items(impl["shape"], 8)
    text = ", ".join(str(int(d)) for d in dims)
    return "(" + text + ("," if count == 1 else "") + ")"


def _values(impl, limit):
    storage = _shared_ptr_target(impl["storage"])
    if storage is None:
        return "[no storage]"
    count, items = _vector_items(storage["values"], limit)
    text = ", ".join("%.4f" % float(v) for v in items)
    if count > limit:
        text += ", ..."
    return "[" + text + "]"


def _describe(impl, limit=SHOWN):
    label = _string(impl["label"])
    parts = ["Tensor"]
    if label:
        parts.append("'%s'" % label)
    parts.append(_shape(impl))
    parts.append(_values(impl, limit))
    if bool(impl["requires_grad"]):
        parts.append("requires_grad")
    if _shared_ptr_target(impl["grad_fn"]) is not None:
        parts.append("(has grad_fn)")
    return " ".join(parts)


class TensorPrinter:
    """bayun::Tensor: a handle; follows impl_ to the TensorImpl."""

    def __init__(self, val):
        self.val = val

    def to_string(self):
        try:
            impl = _shared_ptr_target(self.val["impl_"])
            if impl is None:
                return "Tensor (undefined)"
            return _describe(impl)
        except (gdb.error, gdb.MemoryError, OverflowError, ValueError):
            return "Tensor (not constructed yet: step past its line first)"


class TensorImplPrinter:
    """bayun::TensorImpl: what `print *x.impl_._M_ptr` shows."""

    def __init__(self, val):
        self.val = val

    def to_string(self):
        try:
            return "TensorImpl: " + _describe(self.val)
        except (gdb.error, gdb.MemoryError, OverflowError, ValueError):
            return "TensorImpl (not constructed yet)"


class BayunValues(gdb.Function):
    """$bayun_values(tensor, n): the first n values of a bayun::Tensor as a string."""

    def __init__(self):
        super(BayunValues, self).__init__("bayun_values")

    def invoke(self, tensor, n=None):
        limit = int(n) if n is not None else 64
        impl = _shared_ptr_target(tensor["impl_"])
        if impl is None:
            return "Tensor (undefined)"
        return _shape(impl) + " " + _values(impl, limit)


def build_printer():
    pp = gdb.printing.RegexpCollectionPrettyPrinter("bayun")
    pp.add_printer("Tensor", "^bayun::Tensor$", TensorPrinter)
    pp.add_printer("TensorImpl", "^bayun::TensorImpl$", TensorImplPrinter)
    return pp


gdb.printing.register_pretty_printer(gdb.current_objfile(), build_printer(), replace=True)
BayunValues()
