"""The recovery case of the refinement tests and benchmarks: a 128x128 detector, a cubic
50 A cell of 5x5x5 round cells; the truth is rendered with Poisson noise (-noisefile)."""

from __future__ import annotations

from pathlib import Path

from nanobragg.cli.main import run as run_nanobragg

COMMON = ("-default_F 300 -lambda 1.0 -detpixels 128 -pixel 0.1 -mosaic_dom 5 -oversample 1 "
          "-round_xtal").split()
TRUTH = {"distance": 100.0, "beam_x": 6.4, "beam_y": 6.4, "misset_x": 10.0, "misset_y": 20.0,
         "misset_z": 30.0, "cell_a": 50.0, "Na": 5.0, "Nb": 5.0, "Nc": 5.0, "mosaic": 0.5,
         "scale": 1.0}
#: the issue's perturbation: distance +2 mm, beam centre +3 pixels, misset +0.3 deg on each
#: axis, cell a +0.5 %, N -30 %, mosaic spread x2, scale x1.5
START = {"distance": 102.0, "beam_x": 6.7, "beam_y": 6.7, "misset_x": 10.3, "misset_y": 20.3,
         "misset_z": 30.3, "cell_a": 50.25, "Na": 3.5, "Nb": 3.5, "Nc": 3.5, "mosaic": 1.0,
         "scale": 1.5}
NAMES = list(TRUTH)


def model_args(values: dict[str, float]) -> list[str]:
    """nanobragg arguments of the model with these values (N as the nearest whole number;
    refinements pass the fractional start through ``start``)."""
    v = values
    return ["-cell", str(v["cell_a"]), "50", "50", "90", "90", "90",
            "-N", str(round(v["Na"])), "-distance", str(v["distance"]),
            "-Xbeam", str(v["beam_x"]), "-Ybeam", str(v["beam_y"]),
            "-misset", str(v["misset_x"]), str(v["misset_y"]), str(v["misset_z"]),
            "-mosaic", str(v["mosaic"]), *COMMON]


def simulate_observed(folder: Path, seed: int, name: str = "obs.img",
                      values: dict[str, float] | None = None) -> Path:
    """Render the truth with Poisson noise into ``folder/name`` (SMV, ADC offset 40); the
    noiseless float image goes to ``truth.bin`` (``truth_<stem>.bin`` for other names)."""
    floatfile = "truth.bin" if name == "obs.img" else f"truth_{Path(name).stem}.bin"
    argv = [*model_args(values or TRUTH), "-seed", str(seed), "-noisefile", name,
            "-floatfile", floatfile, "-intfile", "truth_int.img", "-nopgm"]
    run_nanobragg(argv, folder, log=lambda line: None)
    return folder / name
