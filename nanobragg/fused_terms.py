"""The fused term stage of plain sums: the compiled loop ``nanobragg/_cterms.c``.

For plain sums (no running sum, no trace record) the term stage only needs, per evaluation
(pixel, layer, sub-pixel, source), the sum of F_cell² F_latt² over the K orientations. The
torch path (:func:`nanobragg.kernel.term_stage`) forms [K, N] tensors with ~20 elementwise
passes over memory; the compiled loop computes the Miller indices, the grating functions and
the nearest F of a block of evaluations in registers and the L1 cache, and returns the [N]
sums (float64, summed over the orientations in C's loop order: phi, then mosaic), split over
``torch.get_num_threads()`` threads. float64 keeps C's expressions on the full h, k, l;
float32 takes the indices split in float64 as :func:`nanobragg.miller.miller_split` does.

It applies to the square shape with a nearest F (or none) on the CPU without gradients; the
torch path stays the reference and the fallback for everything else (CUDA, autograd, F
interpolation, the other shapes, running sums, traces), and the tests hold the two equal
(float64 to 1e-12 relative, float32 to 2e-6 of the maximum). ``NB_FUSED=0`` turns it off.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.autograd.forward_ad as fwAD

from nanobragg.config import CrystalShape

try:  # built by `pip install`; the torch path is the fallback
    from nanobragg import _cterms
except ImportError:  # pragma: no cover - depends on the build
    _cterms = None


def fused_available() -> bool:
    """True when ``nanobragg._cterms`` is importable and ``NB_FUSED`` is not ``0``."""
    return _cterms is not None and os.environ.get("NB_FUSED", "").strip() != "0"


def _plain(t: torch.Tensor) -> bool:
    """A CPU tensor without a gradient or a forward-mode tangent to carry."""
    return (t.device.type == "cpu" and not t.requires_grad
            and fwAD.unpack_dual(t).tangent is None)


@dataclass
class FusedTerms:
    """The compiled term sums of one set of kernel inputs (orientations, N, F table)."""

    rows: torch.Tensor
    rows_first: torch.Tensor
    cells: tuple[float, float, float]
    active: tuple[int, int, int]
    grid: torch.Tensor | None
    lo: tuple[int, int, int]
    sizes: tuple[int, int, int]
    default_F: float
    precision: int
    masked: bool

    def applies(self, scattering: torch.Tensor) -> bool:
        return scattering.dtype == torch.float64 and _plain(scattering)

    def __call__(self, s: torch.Tensor, first: int | None, evaluated: torch.Tensor):
        """[N] float64 sums over the orientations for scattering vectors ``s`` [N, 3]; the
        evaluation ``first`` with the set-up orientation table (C's phi carry-over)."""
        st = s.detach().T.contiguous()
        mask = evaluated.reshape(-1).to(torch.uint8).contiguous() if self.masked else None
        out = self._sums(st, self.rows, mask)
        if first is not None:
            column = st[:, first:first + 1].contiguous()
            out[first] = self._sums(column, self.rows_first, None)[0]
        return out

    def _sums(self, st: torch.Tensor, rows: torch.Tensor, mask: torch.Tensor | None):
        out = torch.empty(st.shape[1], dtype=torch.float64)
        if st.shape[1]:
            _cterms.term_sums(
                st.numpy(), rows.numpy(), self.cells, self.active,
                None if self.grid is None else self.grid.numpy(), self.lo, self.sizes,
                self.default_F, None if mask is None else mask.numpy(), self.precision,
                torch.get_num_threads(), out.numpy())
        return out


def _rows(table: torch.Tensor) -> torch.Tensor:
    """[Phi, Mos, 3, 3] (a, b, c per orientation) as the loop reads it: K x (a, b, c)."""
    return table.detach().to(torch.float64).reshape(-1, 9).contiguous()


def fused_terms(inp, table) -> FusedTerms | None:
    """The compiled term sums for kernel inputs ``inp`` with structure-factor table ``table``,
    or None where only the torch path applies."""
    if not fused_available() or inp.device.type != "cpu" or inp.interpolate:
        return None
    if inp.dtype not in (torch.float32, torch.float64) or inp.shape is not CrystalShape.SQUARE:
        return None
    tensors = (inp.orientations, inp.orientations_first, *inp.n_cells)
    if not all(_plain(t) for t in tensors):
        return None
    grid, lo, sizes = None, (0, 0, 0), (0, 0, 0)
    if table is not None and table.has_data:
        if table.grid_tensor is not None:
            return None
        grid = table._bordered_grid_on(torch.empty(0, dtype=inp.dtype)).contiguous()
        lo, sizes = tuple(table.bounds[::2]), tuple(table.ranges)
    cells = tuple(float(n) for n in inp.n_cells)
    return FusedTerms(
        rows=_rows(inp.orientations), rows_first=_rows(inp.orientations_first), cells=cells,
        active=tuple(int(n > 1.0) for n in cells), grid=grid, lo=lo, sizes=sizes,
        default_F=float(inp.default_F), precision=64 if inp.dtype == torch.float64 else 32,
        masked=inp.dmin > 0)
