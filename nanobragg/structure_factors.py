# ruff: noqa: E741  (h, k, l are the Miller indices, as in C)
"""Structure factors F(hkl): loading (HKL text, Fdump cache, MTZ), the choice of interpolation
and the lookup at fractional hkl that the kernel calls (:func:`f_lookup`).

Source selection follows nanoBragg (see ``../shared/reference/c-nanobragg.md`` §3.2):

* with an HKL file, the file is read, a dense grid over [min, max] of each index is built and
  the ``Fdump.bin`` cache (or the ``-dump`` name) is (re)written in C's byte layout;
* without one, an existing cache is read back (C does this silently; we report it in
  :attr:`StructureFactorTable.messages` as C's ``reading Fs from ...`` line);
* otherwise there is no table and every F is ``default_F``.

Grid layout (identical to C's ``Fhkl`` and to the cache): float64 of shape
``[h_range + 1, k_range + 1, l_range + 1]`` with ``h_range = h_max - h_min + 1``. The extra last
plane in each dimension is padding (zeros, never looked up). When ``default_F != 0`` only the
unpadded part is pre-filled with ``default_F``; listed reflections overwrite it (a later line
wins over an earlier duplicate).

The file formats are in :mod:`nanobragg.io.hkl`, :mod:`nanobragg.io.fdump` and
:mod:`nanobragg.io.mtz` (each says where it deliberately differs from C's reader).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from nanobragg.config import Interpolation, StructureFactorConfig
from nanobragg.io.fdump import DEFAULT_DUMP_NAME, read_fdump, write_fdump
from nanobragg.io.hkl import HKLData, read_hkl
from nanobragg.io.mtz import read_mtz

__all__ = [
    "FLookup",
    "FallbackEvent",
    "FallbackState",
    "HKLData",
    "StructureFactorTable",
    "f_lookup",
    "fallback_warning",
    "load_structure_factors",
    "read_fdump",
    "read_hkl",
    "read_mtz",
    "resolve_interpolation",
    "write_fdump",
]

# --------------------------------------------------------------------------------------------
# Interpolation fallback bookkeeping
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FallbackEvent:
    """Where C's one-time interpolation fallback happened.

    Attributes:
        index: flat index of the first point that used nearest-neighbour, counted over all
            chunks passed to :meth:`StructureFactorTable.lookup_with_fallback` (C loop order).
        hkl: its fractional (h, k, l).
        hkl0: its rounded indices ``ceil(x - 0.5)``.
    """

    index: int
    hkl: tuple[float, float, float]
    hkl0: tuple[int, int, int]

    def c_text(self) -> str:
        """C's stdout text, verbatim: two WARNING lines, the second without a newline."""
        h, k, l = self.hkl
        h0, k0, l0 = self.hkl0
        return (
            "WARNING: out of range for three point interpolation: h,k,l,h0,k0,l0: "
            f"{h:g},{k:g},{l:g},{h0:d},{k0:d},{l0:d} \n"
            "WARNING: further warnings will not be printed! "
        )


@dataclass(frozen=True)
class FallbackState:
    """State of C's ``interpolate`` flag carried across successive chunks of one image.

    Attributes:
        interpolating: tricubic still on (C's ``interpolate`` flag).
        consumed: number of points (valid or not) already passed in earlier chunks.
        event: the fallback, once it happened.
    """

    interpolating: bool = True
    consumed: int = 0
    event: FallbackEvent | None = None


# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------

_DENOMINATORS = (-6.0, 2.0, -2.0, 6.0)  # prod_{j != i} (xa_i - xa_j) for xa = f-1, f, f+1, f+2


def _lagrange_factors(x: torch.Tensor, base: torch.Tensor) -> list[torch.Tensor]:
    """C's polint numerators without the ``ya`` term: factor_i = prod_{j != i} (x - xa_j),
    multiplied left to right as C does. ``base`` = floor(x) (as float), xa_j = base - 1 + j."""
    d = [x - (base + float(j - 1)) for j in range(4)]
    return [d[1] * d[2] * d[3], d[0] * d[2] * d[3], d[0] * d[1] * d[3], d[0] * d[1] * d[2]]


def _polint(factors: list[torch.Tensor], ya: torch.Tensor) -> torch.Tensor:
    """C's four-term ``polint`` along the last axis of ``ya`` ``[..., 4]`` -> ``[...]``.

    ``factors`` are ``[N]`` tensors; ``ya`` is ``[N, ..., 4]``. Term i is
    ``(factor_i * ya_i) / den_i`` and the terms are summed left to right, as in C.
    """
    terms = []
    for i in range(4):
        f = factors[i].reshape(factors[i].shape + (1,) * (ya.dim() - 2))
        terms.append(f * ya[..., i] / _DENOMINATORS[i])
    return ((terms[0] + terms[1]) + terms[2]) + terms[3]


@dataclass
class StructureFactorTable:
    """Dense F(hkl) grid with C's lookup rules.

    Attributes:
        grid: float64 ``[h_range+1, k_range+1, l_range+1]`` (last plane of each axis is padding),
            or None when there is no table (every F = ``default_F``).
        bounds: (h_min, h_max, k_min, k_max, l_min, l_max), inclusive.
        default_F: value for hkl outside the grid (and for in-range holes when loaded from an
            HKL file with a nonzero default_F).
        hkls: C's "initialized hkls" count: number of HKL lines, or
            ``h_range*k_range*l_range`` for a cache, 0 without a table.
        source: "hkl", "mtz", "fdump" or "none".
        messages: the stdout lines C prints while loading, in order (without newlines).
    """

    grid: np.ndarray | None
    bounds: tuple[int, int, int, int, int, int]
    default_F: float = 0.0
    hkls: int = 0
    source: str = "none"
    messages: tuple[str, ...] = ()
    _cache: dict = field(default_factory=dict, repr=False, compare=False)
    #: the grid as a tensor that lookups read instead of ``grid`` (refinement: F as parameters;
    #: lookups are then differentiable with respect to it). Same shape as ``grid``.
    grid_tensor: torch.Tensor | None = field(default=None, repr=False, compare=False)

    def with_grid_tensor(self, grid: torch.Tensor) -> StructureFactorTable:
        """This table with its F values taken from ``grid`` (shape of :attr:`grid`)."""
        if self.grid is None or tuple(grid.shape) != self.grid.shape:
            raise ValueError("grid tensor must have the shape of the table's grid")
        return dataclasses.replace(self, _cache={}, grid_tensor=grid)

    # ---------------------------------------------------------------- construction

    @classmethod
    def empty(cls, default_F: float) -> StructureFactorTable:
        """No table: every reflection has F = ``default_F`` (C without -hkl and Fdump)."""
        return cls(None, (0, 0, 0, 0, 0, 0), float(default_F), 0, "none", ())

    @classmethod
    def from_hkl(
        cls, data: HKLData, default_F: float = 0.0, source: str = "hkl"
    ) -> StructureFactorTable:
        """Build C's dense grid from a reflection list (default_F fill rule, last line wins)."""
        idx = data.indices
        lo, hi = idx.min(axis=0), idx.max(axis=0)
        bounds = (int(lo[0]), int(hi[0]), int(lo[1]), int(hi[1]), int(lo[2]), int(hi[2]))
        ranges = hi - lo + 1
        grid = np.zeros(tuple(int(r) + 1 for r in ranges), dtype=np.float64)
        if default_F != 0.0:
            grid[: ranges[0], : ranges[1], : ranges[2]] = default_F
        rel = idx - lo
        flat = np.ravel_multi_index((rel[:, 0], rel[:, 1], rel[:, 2]), grid.shape)
        # keep the last occurrence of each index, as C's sequential assignment does
        rev_unique, rev_pos = np.unique(flat[::-1], return_index=True)
        grid.reshape(-1)[rev_unique] = data.amplitudes[::-1][rev_pos]
        return cls(grid, bounds, float(default_F), len(data), source, data.messages)

    @classmethod
    def from_fdump(
        cls, path: Path, default_F: float = 0.0, name: str | None = None
    ) -> StructureFactorTable:
        """Read a cache (C: hkls = h_range*k_range*l_range)."""
        name = str(path) if name is None else name
        grid, bounds = read_fdump(path, name)
        h_range, k_range, l_range = (s - 1 for s in grid.shape)
        return cls(
            grid,
            tuple(bounds),
            float(default_F),
            h_range * k_range * l_range,
            "fdump",
            (f"reading Fs from {name}",),
        )

    def write_fdump(self, path: Path) -> None:
        """Write this grid as C's ``Fdump.bin``."""
        if self.grid is None:
            raise ValueError("no structure-factor table to dump")
        write_fdump(path, self.grid, self.bounds)

    # ---------------------------------------------------------------- properties

    @property
    def has_data(self) -> bool:
        """False when every F is ``default_F`` (C: ``hkls == 0``)."""
        return self.grid is not None and self.hkls != 0

    @property
    def ranges(self) -> tuple[int, int, int]:
        """(h_range, k_range, l_range) = max - min + 1 (C's definition)."""
        h_min, h_max, k_min, k_max, l_min, l_max = self.bounds
        return h_max - h_min + 1, k_max - k_min + 1, l_max - l_min + 1

    def _grid_on(self, like: torch.Tensor) -> torch.Tensor:
        """Flat padded grid in ``like``'s dtype/device (cached)."""
        if self.grid_tensor is not None:
            return self.grid_tensor.reshape(-1).to(like.device, like.dtype)
        key = (like.dtype, like.device)
        if key not in self._cache:
            self._cache[key] = torch.as_tensor(self.grid.reshape(-1)).to(like.device, like.dtype)
        return self._cache[key]

    # ---------------------------------------------------------------- lookup primitives

    def tricubic_in_range(self, h: torch.Tensor, k: torch.Tensor, l: torch.Tensor) -> torch.Tensor:
        """C's test that the 4x4x4 neighbourhood is safe: bool, same shape as h.

        C refuses when ``(h - h_min + 3) > h_range`` or ``h - 2 < h_min`` (same for k, l); this
        is the negation, evaluated in the same order. NaN counts as out of range.
        """
        if not self.has_data:
            return torch.zeros(h.shape, dtype=torch.bool, device=h.device)
        h_min, _, k_min, _, l_min, _ = self.bounds
        ok = torch.ones(h.shape, dtype=torch.bool, device=h.device)
        for x, lo, rng in zip((h, k, l), (h_min, k_min, l_min), self.ranges, strict=True):
            ok = ok & ((x - lo) + 3 <= rng) & (x - 2 >= lo)
        return ok

    def nearest(self, h: torch.Tensor, k: torch.Tensor, l: torch.Tensor) -> torch.Tensor:
        """Nearest-neighbour F: index ``ceil(x - 0.5)``, ``default_F`` outside [min, max].

        Args:
            h, k, l: fractional Miller indices, any (broadcastable) shape, float32/float64.

        Returns:
            F with the broadcast shape and h's dtype/device. No gradient w.r.t. h, k, l.
        """
        h, k, l = torch.broadcast_tensors(h, k, l)
        if not self.has_data:
            return torch.full_like(h, self.default_F)
        # On a grid bordered by default_F, clamping an index onto the border is the range test.
        flat = None
        for x, lo, size in zip((h, k, l), self.bounds[::2], self.ranges, strict=True):
            index = (x.detach() - 0.5).ceil_().sub_(lo - 1).nan_to_num_(nan=0.0).clamp_(0, size + 1)
            index = index.to(torch.int64)
            flat = index if flat is None else flat.mul_(size + 2).add_(index)
        return torch.take(self._bordered_grid_on(h), flat)

    def _bordered_grid_on(self, like: torch.Tensor) -> torch.Tensor:
        """Flat grid of the listed range inside a one-cell border of ``default_F`` (cached)."""
        h_range, k_range, l_range = self.ranges
        if self.grid_tensor is not None:
            inner = self.grid_tensor[:h_range, :k_range, :l_range].to(like.device, like.dtype)
            return torch.nn.functional.pad(inner, (1, 1, 1, 1, 1, 1),
                                           value=self.default_F).reshape(-1)
        key = ("bordered", like.dtype, like.device)
        if key not in self._cache:
            bordered = np.full((h_range + 2, k_range + 2, l_range + 2), self.default_F)
            bordered[1:-1, 1:-1, 1:-1] = self.grid[:h_range, :k_range, :l_range]
            self._cache[key] = torch.as_tensor(bordered.reshape(-1)).to(like.device, like.dtype)
        return self._cache[key]

    def tricubic(self, h: torch.Tensor, k: torch.Tensor, l: torch.Tensor) -> torch.Tensor:
        """C's tricubic Lagrange interpolation (polin3 = polint over h of polin2 over k, l).

        Uses the neighbourhood floor(x)-1 .. floor(x)+2 of each index. Only meaningful where
        :meth:`tricubic_in_range` holds; elsewhere the neighbourhood is clamped into the grid
        and the value is finite but meaningless. Differentiable w.r.t. h, k, l.

        Returns:
            F with the broadcast shape of h, k, l and h's dtype/device.
        """
        h, k, l = torch.broadcast_tensors(h, k, l)
        if not self.has_data:
            return torch.full_like(h, self.default_F)
        shape = h.shape
        h, k, l = h.reshape(-1), k.reshape(-1), l.reshape(-1)
        grid = self._grid_on(h)
        h_min, _, k_min, _, l_min, _ = self.bounds
        dims = self.grid.shape
        offs = torch.arange(-1, 3, device=h.device, dtype=h.dtype)
        bases, stencils = [], []
        for x, lo, n in zip((h, k, l), (h_min, k_min, l_min), dims, strict=True):
            base = torch.floor(x.detach())
            # [N, 4] grid positions of floor(x)-1 .. floor(x)+2, clamped into the padded grid
            rel = torch.nan_to_num(base[:, None] + offs - lo, nan=0.0, posinf=0.0, neginf=0.0)
            stencils.append(rel.clamp(0, n - 1).to(torch.int64))
            bases.append(base)
        fh, fk, fl = (_lagrange_factors(x, b) for x, b in zip((h, k, l), bases, strict=True))
        # [N, 4(k), 4(l)] flat offsets of the k, l stencil inside one h plane
        kl = stencils[1][:, :, None] * dims[2] + stencils[2][:, None, :]
        per_h = []
        for i in range(4):  # C's polin3 loop over the h stencil
            plane = stencils[0][:, i] * (dims[1] * dims[2])
            ya = torch.take(grid, plane[:, None, None] + kl)  # [N, 4(k), 4(l)]
            along_l = _polint(fl, ya)  # [N, 4(k)]
            per_h.append(_polint(fk, along_l))  # [N]
        return _polint(fh, torch.stack(per_h, dim=-1)).reshape(shape)

    # ---------------------------------------------------------------- lookups used by the engine

    def lookup(
        self, h: torch.Tensor, k: torch.Tensor, l: torch.Tensor, *, interpolate: bool
    ) -> torch.Tensor:
        """F at fractional hkl, each point independently (corrected mode, no fallback quirk).

        With ``interpolate``: tricubic where the neighbourhood is in range, nearest elsewhere.
        Without: nearest-neighbour. Shapes broadcast; result has h's dtype and device.
        """
        near = self.nearest(h, k, l)
        if not interpolate or not self.has_data:
            return near
        ok = self.tricubic_in_range(*torch.broadcast_tensors(h, k, l))
        return torch.where(ok, self.tricubic(h, k, l), near)

    def lookup_with_fallback(
        self,
        h: torch.Tensor,
        k: torch.Tensor,
        l: torch.Tensor,
        valid: torch.Tensor | None,
        state: FallbackState | None,
    ) -> tuple[torch.Tensor, FallbackState]:
        """F with C's one-time interpolation fallback (quirk ``interpolation_fallback``).

        Ordering contract: the points of one image are passed as successive chunks, in order,
        each chunk threading the state returned by the previous call, starting from
        ``FallbackState()`` (or None). Within a chunk, ``h, k, l, valid`` (broadcastable, any
        shape) are read in row-major (``reshape(-1)``) order, and that flattened order, chunk
        after chunk, must be **C's evaluation order**, i.e. the loop nest of upstream nanoBragg from
        outermost to innermost: slow pixel, fast pixel, detector layer (thick_tic), sub-pixel
        slow, sub-pixel fast, source, phi step, mosaic domain. ``valid`` (bool, or None = all)
        marks the points where C really looks F up: C skips the lookup with ``continue`` when
        F_latt == 0 and there is no water, and never reaches points of skipped pixels (ROI,
        mask) or sources/points dropped by dmin. Invalid points never trigger the switch and
        get a finite but unspecified value.

        Semantics: while ``state.interpolating``, the first valid point whose neighbourhood
        fails C's range test (:meth:`tricubic_in_range`) switches interpolation off for good:
        that point and every later point (this chunk and all later ones) use nearest-neighbour,
        earlier points are interpolated. Call it only when tricubic interpolation is on (see
        :func:`resolve_interpolation`); for the corrected mode (quirk off) use
        :meth:`lookup` with ``interpolate=True``.

        Returns:
            (F with h's shape and dtype, new state). ``new_state.event`` holds the switch (flat
            index counted over all chunks, C's warning via ``event.c_text()``) from the chunk
            where it happened on; print the warning when it first appears.
        """
        state = FallbackState() if state is None else state
        shape = torch.broadcast_shapes(h.shape, k.shape, l.shape)
        h, k, l = (x.expand(shape).reshape(-1) for x in (h, k, l))
        n = h.shape[0]
        if not self.has_data or not state.interpolating:
            values = self.nearest(h, k, l).reshape(shape)
            return values, FallbackState(False, state.consumed + n, state.event)
        ok = self.tricubic_in_range(h, k, l)
        bad = ~ok if valid is None else valid.expand(shape).reshape(-1) & ~ok
        if not bool(bad.any()):
            values = torch.where(ok, self.tricubic(h, k, l), self.nearest(h, k, l))
            return values.reshape(shape), FallbackState(True, state.consumed + n, None)
        first = int(torch.argmax(bad.to(torch.uint8)))  # argmax returns the first maximum
        use_tricubic = ok & (torch.arange(n, device=h.device) < first)
        values = torch.where(use_tricubic, self.tricubic(h, k, l), self.nearest(h, k, l))
        hv, kv, lv = (float(x[first]) for x in (h, k, l))
        event = FallbackEvent(
            state.consumed + first,
            (hv, kv, lv),
            tuple(int(np.ceil(x - 0.5)) for x in (hv, kv, lv)),
        )
        return values.reshape(shape), FallbackState(False, state.consumed + n, event)


# --------------------------------------------------------------------------------------------
# Source selection
# --------------------------------------------------------------------------------------------


def _resolve(path: Path, cwd: Path) -> Path:
    path = Path(path)
    return path if path.is_absolute() else Path(cwd) / path


def load_structure_factors(config: StructureFactorConfig, cwd: Path) -> StructureFactorTable:
    """Load F(hkl) with C's source selection (see the module docstring).

    * ``hkl_file`` set: read it (``.mtz`` files through :func:`read_mtz`, the rest as text),
      build the grid, write the cache to ``dump_file`` (default ``Fdump.bin``), relative paths
      against ``cwd``. An unwritable cache gives C's warning line, not an error.
    * else, if the cache file exists, read it (message ``reading Fs from <name>``).
    * else an empty table (``source == "none"``; every F = default_F). The caller refuses the
      run when ``default_F == 0`` too, as C does.

    The returned table's ``messages`` are C's stdout lines of this phase, in order.

    Raises:
        InputFileError: missing/malformed HKL or MTZ file, corrupt cache.
    """
    default_F = float(config.default_F)
    dump_name = str(config.dump_file) if config.dump_file is not None else DEFAULT_DUMP_NAME
    dump_path = _resolve(Path(dump_name), cwd)
    if config.hkl_file is None:
        if dump_path.is_file():
            return StructureFactorTable.from_fdump(dump_path, default_F, dump_name)
        return StructureFactorTable.empty(default_F)

    name = str(config.hkl_file)
    path = _resolve(config.hkl_file, cwd)
    if path.suffix.lower() == ".mtz":
        data = read_mtz(path, config.mtz_column, name=name)
        table = StructureFactorTable.from_hkl(data, default_F, source="mtz")
        messages = list(data.messages)
    else:
        data = read_hkl(path, name)
        table = StructureFactorTable.from_hkl(data, default_F)
        messages = [f"counting entries in {name}"]
        if default_F != 0.0:
            messages += [f"initializing to default_F = {default_F:g}:", "done initializing:"]
        messages.append(f"re-reading {name}")
    try:
        table.write_fdump(dump_path)
        messages.append(f"writing dump file for next time: {dump_name}")
    except OSError:
        messages.append(f"WARNING: unable to open dump file: {dump_name}")
    table.messages = tuple(messages)
    return table


def resolve_interpolation(
    mode: Interpolation, n_cells: tuple[float, float, float], table: StructureFactorTable
) -> tuple[bool, str | None]:
    """Whether tricubic interpolation is on, and C's auto-selection line (None if not auto).

    C: ``auto`` turns it on when any of Na, Nb, Nc <= 2; it is then switched off silently when
    there is no table (``hkls == 0``).
    """
    message = None
    if mode is Interpolation.AUTO:
        on = any(float(n) <= 2 for n in n_cells)
        message = (
            "auto-selected tricubic interpolation of structure factors"
            if on
            else "auto-selected no interpolation"
        )
    else:
        on = mode is Interpolation.TRICUBIC
    return on and table.has_data, message


# --------------------------------------------------------------------------------------------
# The kernel's lookup
# --------------------------------------------------------------------------------------------

#: where the lookup keeps C's fallback state between chunks (``KernelState.extra``)
FALLBACK_KEY = "fallback"


@dataclass(frozen=True, eq=False)
class FLookup:
    """F at fractional h, k, l as the kernel asks for it: ``lookup(h, k, l, live, state)``.

    ``h, k, l`` and ``live`` (where C really looks F up) are [N, K] views in C's loop order,
    chunk after chunk of one image; ``state`` is the kernel's carry-over (its ``extra`` dict
    keeps C's one-time interpolation fallback between chunks). Nearest-neighbour without
    interpolation; tricubic with it, falling back C's way (quirk ``interpolation_fallback``)
    or point by point (corrected mode).
    """

    table: StructureFactorTable
    interpolate: bool
    fallback_quirk: bool

    def __call__(self, h: torch.Tensor, k: torch.Tensor, l: torch.Tensor,
                 live: torch.Tensor | None, state) -> torch.Tensor:
        if not self.interpolate:
            return self.table.nearest(h, k, l)
        if not self.fallback_quirk:
            return self.table.lookup(h, k, l, interpolate=True)
        f, fallback = self.table.lookup_with_fallback(h, k, l, live,
                                                      state.extra.get(FALLBACK_KEY))
        state.extra[FALLBACK_KEY] = fallback
        return f


def f_lookup(table: StructureFactorTable, interpolate: bool,
             fallback_quirk: bool) -> FLookup | None:
    """The kernel's lookup into ``table``, or None without a table (every F is default_F)."""
    return FLookup(table, interpolate, fallback_quirk) if table.has_data else None


def fallback_warning(extra: dict) -> str | None:
    """C's fallback warning once a run's lookups switched interpolation off, else None."""
    fallback = extra.get(FALLBACK_KEY)
    event = getattr(fallback, "event", None)
    return None if event is None else event.c_text()
