"""Miller indices of the term stage: h = a·S for every (orientation, evaluation), [K, N].

h is formed as C forms it, a_x S_x + a_y S_y + a_z S_z rounded after every operation, left to
right (a matrix product sums in another order and moves single pixels of C's float image by an
ulp). float64 evaluates C's expressions on h itself; a lower precision takes h split in float64
into the nearest integer and the fraction, with the grating function's numerator argument
N h reduced there too (:func:`nanobragg.lattice.sincg_reduced`).

The compiled loop ``nanobragg/_cindex.c`` does either in one pass over [K, N] instead of 5-15
torch passes, on the CPU without autograd; the torch functions here are
its reference and fallback, equal to it bit for bit. The loop runs on the calling thread.
"""

from __future__ import annotations

import torch
import torch.autograd.forward_ad as fwAD

try:  # built by `pip install`; the torch path is the fallback
    from nanobragg import _cindex
except ImportError:  # pragma: no cover - depends on the build
    _cindex = None



def compiled_available() -> bool:
    """True when ``nanobragg._cindex`` is importable."""
    return _cindex is not None


def use_compiled(*tensors: torch.Tensor) -> bool:
    """The compiled loop applies: built, CPU float64 inputs, no tangent to carry (reverse or
    forward mode)."""
    if _cindex is None:
        return False
    return all(t.device.type == "cpu" and t.dtype == torch.float64 and not t.requires_grad
               and fwAD.unpack_dual(t).tangent is None for t in tensors)


def miller_index(vectors: torch.Tensor, st: torch.Tensor, compiled: bool = True) -> torch.Tensor:
    """[K, 3] vectors against [3, N] columns: [K, N] float64, summed left to right."""
    v = vectors.to(st.dtype)
    if compiled and use_compiled(v, st):
        out = torch.empty(v.shape[0], st.shape[1], dtype=torch.float64)
        v, st = v.contiguous(), st.contiguous()
        _over_threads(st.shape[1], lambda a, b: _cindex.miller_exact(
            v.numpy(), st.numpy(), st.shape[1], a, b, out.numpy()))
        return out
    index = v[:, 0:1] * st[0]
    index = index + v[:, 1:2] * st[1]
    return index + v[:, 2:3] * st[2]


def miller_split(vectors: torch.Tensor, st: torch.Tensor, cells: torch.Tensor,
                 dtype: torch.dtype, compiled: bool = True):
    """(whole, frac, rest) in ``dtype`` for one axis, [K, N] each: whole = ceil(h - 0.5),
    frac = h - whole, rest = ±(N h - m) with m = round(N h), N = ``cells``, negated when
    m + whole is odd. What the lattice factor (:func:`nanobragg.lattice.sincg_reduced`) and a
    nearest F need of h."""
    v = vectors.to(st.dtype)
    cells = cells.to(torch.float64)
    if compiled and dtype == torch.float32 and use_compiled(v, st, cells):
        shape = (v.shape[0], st.shape[1])
        whole, frac, rest = (torch.empty(shape, dtype=torch.float32) for _ in range(3))
        v, st = v.contiguous(), st.contiguous()
        _over_threads(shape[1], lambda a, b: _cindex.miller_split(
            v.numpy(), st.numpy(), shape[1], a, b, float(cells), whole.numpy(), frac.numpy(),
            rest.numpy()))
        return whole, frac, rest
    index = miller_index(v, st, compiled=False)
    whole64 = (index.detach() - 0.5).ceil_()
    turns = index * cells
    nearest = torch.round(turns.detach())
    odd = ((nearest + whole64).to(torch.int64) & 1).to(torch.bool)
    rest = turns - nearest
    rest = torch.where(odd, -rest, rest)
    return whole64.to(dtype), (index - whole64).to(dtype), rest.to(dtype)


def _over_threads(n: int, work) -> None:
    """work(start, stop) over [0, n), in one call.

    Slicing it over Python threads (the loop releases the GIL) was measured 5x slower in a
    process whose OpenMP workers spin between torch's parallel regions (OMP_WAIT_POLICY
    unset): the threads fight the spinning workers for the cores. One memory-bound pass is a
    small share of a chunk; it runs on the calling thread.
    """
    work(0, n)
