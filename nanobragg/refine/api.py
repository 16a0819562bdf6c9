"""``nanobragg.refine(...)``: fit a nanobragg model to observed images.

    result = nanobragg.refine(["obs.img"], "-cell 100 100 100 90 90 90 -N 10 ...",
                              ["distance", "beam_x", "beam_y", "scale"], out="fit")
    result.parameters["distance"]   # {"start": ..., "value": ..., "stderr": ...} (mm)
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from nanobragg.refine import fisher, optimise
from nanobragg.refine.errors import RefineError
from nanobragg.refine.loss import Likelihood
from nanobragg.refine.model import ImageModel, table_amplitudes
from nanobragg.refine.observed import SMV_DEFAULT_ADC, check_shape, read_mask, read_observed
from nanobragg.refine.outputs import refined_command, reflection_indices
from nanobragg.refine.parameters import Parameter, parse_names, spec
from nanobragg.refine.pixels import Selection, indices, spot_mask
from nanobragg.refine.problem import FBlock, ImageData, Problem


@dataclass
class RefinementResult:
    converged: bool
    iterations: int
    loss: float
    #: label -> {"start", "value", "stderr"} in the command line's units (F: a summary)
    parameters: dict[str, dict]
    #: refined nanobragg arguments, one list per image
    commands: list[list[str]]
    labels: list[str]
    correlation: np.ndarray
    history: list[dict]
    warnings: list[str]
    message: str
    #: refined F of every reflection of the table and its standard errors (F refined only)
    f_values: np.ndarray | None = None
    f_stderr: np.ndarray | None = None
    #: photons each reflection contributes to the selected pixels of all images
    f_photons: np.ndarray | None = None
    #: (h, k, l) of each entry of ``f_values`` [n, 3]
    f_indices: np.ndarray | None = None
    #: refined model images (scale * signal + background), float64 [slow, fast] per image
    images: list[np.ndarray] = field(default_factory=list)

    @property
    def command(self) -> list[str]:
        return self.commands[0]


def refine(
    images: Sequence[str | Path | np.ndarray],
    command: str | Sequence[str],
    refine: str | Sequence[str],
    *,
    out: str | Path | None = None,
    per_image: str | Sequence[str] = (),
    start: dict[str, float] | None = None,
    bounds: dict[str, tuple[float, float]] | None = None,
    priors: dict[str, tuple[float, float]] | None = None,
    loss: str = "poisson",
    readout_sigma: float = 0.0,
    mask: str | Path | np.ndarray | None = None,
    pixels: str = "all",
    settings: optimise.Settings | None = None,
    adc: float | None = None,
    shape: tuple[int, int] | None = None,
    cwd: str | Path | None = None,
    report: Callable[[dict], None] | None = None,
) -> RefinementResult:
    """Refine ``refine`` (parameter names) of the model ``command`` against ``images``.

    ``command`` is one nanobragg command line (a string or a list of arguments) for every
    image, or a list of them, one per image (each image's own orientation, for instance);
    shared unknowns start from the first image's model.

    ``images`` are file names (SMV, CBF, HDF5, raw float with ``shape``) or arrays of counts.
    ``per_image`` names get one unknown per image; ``start``, ``bounds`` and ``priors`` are
    keyed by name or by ``name@i`` (image i, 1-based), in the command line's units. ``adc`` is
    subtracted from integer images (default: the command's -adc, 40, for SMV and CBF files;
    0 otherwise). Writes the output files into ``out`` when given (see
    :mod:`nanobragg.refine.outputs`). Raises :class:`RefineError` (one line) on bad input.
    """
    cwd = Path.cwd() if cwd is None else Path(cwd)
    argvs = _commands(command, len(images))
    names = parse_names(refine, "--refine")
    if not names:
        raise RefineError("--refine: give at least one parameter name")
    shared_per_image = parse_names(per_image, "--per-image")
    if "F" in shared_per_image:
        raise RefineError("--per-image: F is shared by all images (one table)")
    if not images:
        raise RefineError("--image: give at least one observed image")
    likelihood = Likelihood(loss, float(readout_sigma))
    selection = Selection.parse(pixels)
    settings = settings or optimise.Settings()
    if settings.method not in optimise.METHODS:
        raise RefineError(f"--method: expected lbfgs or adam, got {settings.method!r}")
    data = _load_images(images, argvs, cwd, adc, shape, mask)
    params = _parameters(names, shared_per_image, data, start or {}, bounds or {}, priors or {})
    f_block = _f_block(data) if "F" in names else None
    problem = Problem(data, params, f_block, likelihood)
    _select_pixels(problem, selection)
    _start_background(problem, start or {})
    warnings = _scale_unknowns(problem)
    outcome = optimise.run(problem, settings, selection, report)
    result = _result(problem, outcome, warnings + outcome.warnings)
    if out is not None:
        from nanobragg.refine.outputs import write_outputs

        write_outputs(Path(out), problem, result)
    return result


def _commands(command, count: int) -> list[list[str]]:
    """One argument list per image: a single model for all, or one per image."""
    if isinstance(command, str):
        return [shlex.split(command)] * count
    items = list(command)
    if items and all(isinstance(c, str) for c in items):
        return [[str(a) for a in items]] * count
    lists = [shlex.split(c) if isinstance(c, str) else [str(a) for a in c] for c in items]
    if len(lists) != count:
        raise RefineError(f"{len(lists)} starting models for {count} images: give one model "
                          "for all images or one per image")
    return lists


def _load_images(images, argvs, cwd, adc, shape, mask) -> list[ImageData]:
    models: list[ImageModel] = []
    data = []
    extra_mask = None
    if mask is not None:
        extra_mask = np.asarray(mask) != 0 if isinstance(mask, np.ndarray) else read_mask(
            cwd / mask)
    for i, image in enumerate(images):
        model = ImageModel(argvs[i], cwd, table=models[0].table if models else None)
        models.append(model)
        if isinstance(image, np.ndarray):
            pixels, name, kind = np.asarray(image, dtype=np.float64), f"image {i + 1}", "array"
        else:
            name = str(image)
            pixels, kind = read_observed(cwd / image, shape, name)
        check_shape(pixels, model.shape, f"--image {name}")
        offset = adc if adc is not None else (
            model.parsed.outputs.adc if kind in ("smv", "cbf") else 0.0)
        counts = pixels - (SMV_DEFAULT_ADC if offset is None else offset)
        usable = np.isfinite(counts)
        for other, label in ((extra_mask, "--mask"), (model.config.detector.mask, "-mask")):
            if other is not None:
                check_shape(other, model.shape, label)
                usable &= np.asarray(other) != 0
        counts = np.where(usable, counts, 0.0)
        data.append(ImageData(name, model, torch.as_tensor(counts), usable))
    return data


def _lookup(table: dict, p: Parameter):
    return table.get(p.label, table.get(p.spec.name)) if p.image is not None else table.get(
        p.spec.name)


def _parameters(names, per_image, data, start, bounds, priors) -> list[Parameter]:
    for table, option in ((start, "--start"), (bounds, "--bounds"), (priors, "--prior")):
        for key in table:
            base, _, number = key.partition("@")
            spec(base)
            if number and not (number.isdigit() and 1 <= int(number) <= len(data)):
                raise RefineError(f"{option} {key}: image number must be 1..{len(data)}")
    params = []
    for name in names:
        if name == "F":
            continue
        owners = range(len(data)) if name in per_image else [None]
        for image in owners:
            model = data[0 if image is None else image].model
            p = Parameter(spec(name), image, model.start_value(name))
            given = _lookup(start, p)
            if given is not None:
                p.start = float(given)
            p.bounds, p.prior = _lookup(bounds, p), _lookup(priors, p)
            if p.prior is not None and not p.prior[1] > 0:
                raise RefineError(f"--prior {p.label}: sigma must be > 0")
            if p.bounds is not None and not p.bounds[0] < p.bounds[1]:
                raise RefineError(f"--bounds {p.label}: lower bound must be below the upper")
            p.check_start()
            params.append(p)
    return params


def _f_block(data: list[ImageData]) -> FBlock:
    table = data[0].model.table
    if not table.has_data:
        raise RefineError("F: the starting model has no structure-factor table (give -hkl)")
    start = table_amplitudes(table).astype(np.float64)
    return FBlock(table, start, np.ones_like(start))


def _select_pixels(problem: Problem, selection: Selection) -> None:
    x0 = torch.zeros(problem.size, dtype=torch.float64)
    for i, img in enumerate(problem.images):
        usable = img.usable
        if selection.kind == "spots":
            signal, _ = problem.predict(x0, i)
            usable = spot_mask(signal, usable)
        img.pixels = indices(usable)
        if len(img.pixels[0]) == 0:
            raise RefineError(f"--image {img.name}: no usable pixels (mask and selection)")


def _start_background(problem: Problem, given: dict) -> None:
    """A constant background not given by --start starts at the median of (observed - model)
    (at least a small positive level: a Poisson model of zero cannot learn a background)."""
    for p in problem.params:
        if p.spec.name != "background" or _lookup(given, p) is not None:
            continue
        x0 = torch.zeros(problem.size, dtype=torch.float64)
        images = range(len(problem.images)) if p.image is None else [p.image]
        excess, level = [], []
        for i in images:
            img = problem.images[i]
            signal, _ = problem.predict(x0, i)
            observed = img.observed.numpy()[img.usable]
            excess.append(observed - signal[img.usable])
            level.append(max(float(observed.mean()), 1.0))
        p.start = max(float(np.median(np.concatenate(excess))), 1e-3 * min(level))
    problem.restart()


def _scale_unknowns(problem: Problem) -> list[str]:
    """Steps from the information at the start (unit curvature in every coordinate); unknowns
    without information are frozen, with a warning."""
    x0 = torch.zeros(problem.size, dtype=torch.float64)
    info = fisher.information(problem, x0)
    warnings = []
    for i, p in enumerate(problem.params):
        curvature = info.scalar[i, i] * p.dvalue_du(p.start) ** 2
        if p.prior is not None:
            curvature += (p.dvalue_du(p.start) / p.prior[1]) ** 2
        if curvature > 0 and np.isfinite(curvature):
            p.step = float(curvature ** -0.5)
        else:
            problem.frozen[i] = True
            warnings.append(f"{p.label}: no effect on the selected pixels (zero gradient); "
                            "not refined")
    if problem.f_block is not None:
        diag = info.f_diagonal
        live = diag > 0
        problem.f_block.step = np.where(live, 1.0 / np.sqrt(np.where(live, diag, 1.0)), 1.0)
        problem.frozen[problem.n_scalar:] = torch.as_tensor(~live)
        if not live.any():
            warnings.append("F: no reflection contributes to the selected pixels; not refined")
    if bool(problem.frozen.all()):
        raise RefineError("--refine: no parameter has any effect on the selected pixels")
    return warnings


def _result(problem: Problem, outcome: optimise.Outcome, warnings: list[str]) -> RefinementResult:
    scalars, amplitudes = problem.natural(outcome.x)
    values = scalars.detach().numpy().copy()
    info = fisher.information(problem, outcome.x)
    errors = fisher.uncertainties(problem, info, outcome.loss)
    if errors.singular:
        warnings.append("the information matrix is singular: some parameters are degenerate "
                        "(their standard errors are not reliable)")
    parameters: dict[str, dict] = {}
    for i, p in enumerate(problem.params):
        stderr = float(errors.stderr[i])
        if bool(problem.frozen[i]):
            values[i] = p.start  # exactly: not refined
        parameters[p.label] = {"start": p.start, "value": float(values[i]),
                               "stderr": stderr if np.isfinite(stderr) else None}
        if p.bounds is not None:
            gap = min(values[i] - p.bounds[0], p.bounds[1] - values[i])
            if gap < max(stderr if np.isfinite(stderr) else 0.0, 1e-9 * np.ptp(p.bounds)):
                warnings.append(f"{p.label}: ended at its bound (within one standard error)")
    f_values = f_stderr = f_photons = f_indices = None
    if amplitudes is not None:
        f_values = np.abs(amplitudes.detach().numpy())
        f_stderr = errors.f_stderr
        f_photons = problem.reflection_photons(outcome.x)
        f_indices = reflection_indices(problem.f_block.table)
        parameters["F"] = _f_summary(problem.f_block.start, f_values, f_stderr)
    commands = []
    for i, img in enumerate(problem.images):
        own = {p.spec.name: float(values[k]) for k, p in enumerate(problem.params)
               if p.image in (None, i)}
        starts = {n: img.model.start_value(n) for n in
                  ("cell_a", "cell_b", "cell_c", "cell_alpha", "cell_beta", "cell_gamma",
                   "misset_x", "misset_y", "misset_z") if _has(img.model, n)}
        pivot = img.model.detector.pivot.value
        commands.append(refined_command(img.model.argv, starts, own, pivot))
    images = []
    for i in range(len(problem.images)):
        signal, background = problem.predict(outcome.x, i)
        images.append(signal + background)
    labels = [p.label for p in problem.params]
    return RefinementResult(outcome.converged, outcome.iterations, outcome.loss, parameters,
                            commands, labels, errors.correlation, outcome.history, warnings,
                            outcome.message, f_values, f_stderr, f_photons, f_indices, images)


def _has(model: ImageModel, name: str) -> bool:
    try:
        model.start_value(name)
    except RefineError:
        return False
    return True


def _f_summary(start: np.ndarray, values: np.ndarray, stderr: np.ndarray | None) -> dict:
    finite = stderr[np.isfinite(stderr)] if stderr is not None else np.array([])
    return {"start": float(np.mean(np.abs(start))), "value": float(np.mean(values)),
            "stderr": float(np.median(finite)) if finite.size else None,
            "file": "F_refined.hkl", "stderr_file": "F_refined_sigma.hkl",
            "reflections": int(values.size), "refined": int(finite.size),
            "summary": "start and value are the mean |F|, stderr the median standard error"}
