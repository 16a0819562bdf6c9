"""The F table as a tensor: nearest and tricubic lookups are differentiable with respect to
it (gradcheck against finite differences in float64), and the round crystal's lattice factor
has a finite gradient at the centre of a spot."""

from __future__ import annotations

import numpy as np
import torch

from nanobragg.config import CrystalShape
from nanobragg.lattice import lattice_factor
from nanobragg.structure_factors import HKLData, StructureFactorTable


def _table() -> StructureFactorTable:
    rng = np.random.default_rng(5)
    h, k, l = np.meshgrid(np.arange(-3, 4), np.arange(-2, 3), np.arange(-3, 3), indexing="ij")
    indices = np.stack([h.ravel(), k.ravel(), l.ravel()], axis=1)
    amplitudes = rng.uniform(50, 150, len(indices))
    return StructureFactorTable.from_hkl(HKLData(indices, amplitudes, "test"))


def _points(n: int = 40, spread: float = 1.2) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(1)
    return tuple(torch.rand(n, generator=gen, dtype=torch.float64) * 2 * spread - spread
                 for _ in range(3))


def test_nearest_lookup_gradcheck_wrt_table():
    table = _table()
    grid = torch.tensor(table.grid, requires_grad=True)
    h, k, l = _points(spread=4.0)  # some points off the table: default_F, no gradient

    def lookup(g):
        return table.with_grid_tensor(g).nearest(h, k, l)

    assert torch.autograd.gradcheck(lookup, (grid,))
    # the value is the table's own
    assert torch.equal(lookup(grid).detach(), table.nearest(h, k, l))


def test_tricubic_lookup_gradcheck_wrt_table():
    table = _table()
    grid = torch.tensor(table.grid, requires_grad=True)
    h, k, l = _points(spread=0.9)  # neighbourhoods inside the table

    def lookup(g):
        return table.with_grid_tensor(g).lookup(h, k, l, interpolate=True)

    assert torch.autograd.gradcheck(lookup, (grid,))
    assert torch.allclose(lookup(grid).detach(), table.lookup(h, k, l, interpolate=True),
                          rtol=0, atol=1e-12)


def test_round_lattice_gradient_is_finite_at_the_spot_centre():
    n = tuple(torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (5.0, 4.0, 3.0))
    h = torch.tensor([1.0, 1.1, 2.0], dtype=torch.float64)  # 1 and 2: hrad = 0 exactly
    k = torch.tensor([0.0, 0.05, 3.0], dtype=torch.float64)
    l = torch.tensor([-1.0, -0.9, 0.0], dtype=torch.float64)
    f = lattice_factor(h, k, l, n, CrystalShape.ROUND, 1.0)
    assert torch.allclose(f[[0, 2]], torch.tensor(60.0 * 0.723601254558268, dtype=torch.float64))
    f.sum().backward()
    for cells in n:
        assert torch.isfinite(cells.grad)
