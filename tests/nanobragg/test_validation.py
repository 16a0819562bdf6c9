"""Physically meaningless input is refused with one clear message that names the input (the
library names config fields; the CLI's corpus, test_cli_errors.py, checks its flag names)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nanobragg.config import Convention, SimulationConfig
from nanobragg.errors import ConfigError, InputFileError, NanoBraggError
from nanobragg.io.matrix import read_matrix
from nanobragg.simulator import Simulator
from nanobragg.structure_factors import read_hkl


def good_config() -> SimulationConfig:
    cfg = SimulationConfig()
    cfg.crystal.cell = (50.0, 60.0, 70.0, math.pi / 2, math.pi / 2, math.pi / 2)
    cfg.structure_factors.default_F = 10.0
    cfg.detector.fpixels = cfg.detector.spixels = 4
    return cfg


def test_good_config_renders():
    assert Simulator(good_config()).run().shape == (4, 4)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        # angles within (0, 180) degrees that close no cell (one exceeds the sum of the others)
        (lambda c: setattr(c.crystal, "cell", (50.0, 60.0, 70.0, math.radians(100),
                                               math.pi / 4, math.pi / 4)),
         "zero cell volume"),
        (lambda c: setattr(c.crystal, "cell", (50.0, 60.0, 70.0, math.pi / 3, math.pi / 3,
                                               math.radians(150))), "zero cell volume"),
        (lambda c: setattr(c.crystal, "cell", (50.0, 60.0, 70.0, 0.0, 0.0, 0.0)),
         "angles must lie between 0 and 180 degrees, got 0"),
        (lambda c: setattr(c.crystal, "cell", (50.0, 60.0, 70.0, math.pi, math.pi / 2,
                                               math.pi / 2)),
         "angles must lie between 0 and 180 degrees, got 180"),
        (lambda c: setattr(c.crystal, "cell", (-50.0, 60.0, 70.0, 1.5, 1.5, 1.5)),
         "lengths must be positive"),
        (lambda c: setattr(c.detector, "pixel_size", -1e-4), "pixel size must be positive"),
        (lambda c: setattr(c.detector, "distance", 0.0), "distance must be positive"),
        (lambda c: setattr(c.beam, "wavelength", 0.0), "wavelength must be positive"),
        (lambda c: (setattr(c.detector, "convention", Convention.CUSTOM),
                    setattr(c.detector, "fdet_vector", (0.0, 0.0, 2.0))), "detector.fdet_vector"),
        (lambda c: (setattr(c.detector, "convention", Convention.CUSTOM),
                    setattr(c.detector, "sdet_vector", (0.0, 0.0, 0.0))), "detector.sdet_vector"),
        (lambda c: (setattr(c.detector, "convention", Convention.CUSTOM),
                    setattr(c.detector, "fdet_vector", (0.0, 0.0, 1.0)),
                    setattr(c.detector, "sdet_vector", (0.0, 0.0, -1.0))), "parallel"),
        (lambda c: setattr(c.beam, "beam_vector", (1.0, 1.0, 0.0)), "beam.beam_vector"),
        (lambda c: setattr(c.crystal, "cell", None), "no crystal: give crystal.cell or "
         "crystal.amatrix"),
    ],
)
def test_bad_physics_is_refused(mutate, message):
    cfg = good_config()
    mutate(cfg)
    with pytest.raises(ConfigError, match=message) as info:
        Simulator(cfg)
    assert "\n" not in str(info.value)


def test_hkl_line_that_is_not_four_numbers(tmp_path):
    hkl = tmp_path / "bad.hkl"
    hkl.write_text("1 2 3 100.0\n1 2 3\n")
    with pytest.raises(InputFileError, match=r"bad\.hkl:2") as info:
        read_hkl(hkl, "bad.hkl")
    assert "\n" not in str(info.value)


def test_a_matrix_with_fewer_than_nine_numbers(tmp_path):
    mat = tmp_path / "short.mat"
    mat.write_text("0.01 0.0 0.0\n0.0 0.01 0.0\n0.0 0.0\n")
    with pytest.raises(InputFileError, match="short.mat") as info:
        read_matrix(mat, "short.mat")
    assert "\n" not in str(info.value)


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="CUDA is available here: "
                    "the refusal is for machines without it")
@pytest.mark.parametrize("device", ["cuda", "cuda:0"])
def test_api_cuda_without_cuda_is_one_clear_error(device):
    import nanobragg

    cfg = good_config()
    cfg.device = device
    with pytest.raises(NanoBraggError) as info:
        nanobragg.simulate(cfg)
    assert str(info.value) == f"device {device!r}: CUDA is not available on this machine"


def test_api_unknown_device_is_one_clear_error():
    cfg = good_config()
    cfg.device = "tpu"
    with pytest.raises(ConfigError, match="device 'tpu': expected cpu, cuda or cuda:N"):
        Simulator(cfg)


@pytest.mark.parametrize(
    ("mutate", "field", "message"),
    [
        (lambda c: setattr(c.beam, "wavelength", math.nan), "beam.wavelength",
         "wavelength must be positive"),
        (lambda c: setattr(c.detector, "close_distance", 0.0), "detector.close_distance",
         "close distance must be positive, got 0 mm"),
        (lambda c: setattr(c.detector, "distance", -0.1), "detector.distance",
         "distance must be positive, got -100 mm"),
        (lambda c: setattr(c, "device", "tpu"), "device", "device 'tpu': expected cpu"),
        (lambda c: (setattr(c.beam, "flux", 1e12), setattr(c.beam, "beamsize", 0.0)), None,
         "beam.flux needs a non-zero beam.beamsize"),
        (lambda c: setattr(c.structure_factors, "default_F", 0.0), None,
         "no structure factors: give structure_factors.hkl_file or "
         "structure_factors.default_F"),
        (lambda c: setattr(c.detector, "mask", np.ones((5, 4), dtype=np.uint16)),
         "detector.mask", "mask is 4x5 pixels but the detector is 4x4"),
        (lambda c: setattr(c.detector, "roi", (3, 1, 0, 3)), "detector.roi",
         r"detector.roi: x \(fast\) range is empty \(3 > 1\)"),
        (lambda c: setattr(c.detector, "attenuation_length", -5e-6),
         "detector.attenuation_length", "attenuation length must be positive, got -5 um"),
        (lambda c: setattr(c.crystal, "cell", (50.0, 60.0, 70.0, math.pi / 2, -0.1, 1.0)),
         "crystal.cell", "crystal.cell: angles must lie between 0 and 180 degrees"),
    ],
)
def test_the_library_refuses_what_the_cli_refuses(mutate, field, message, tmp_path):
    # the rules the CLI used to apply itself (parser, _check_combinations, check_*) are the
    # library's: Simulator(config) without the CLI refuses the same configs, in config terms
    cfg = good_config()
    mutate(cfg)
    with pytest.raises(ConfigError, match=message) as info:
        Simulator(cfg, cwd=tmp_path)
    assert info.value.field == field
    assert "-" + (field or "x").split(".")[-1] not in str(info.value)  # no flag spelling


def test_a_dump_file_in_cwd_is_a_source_of_structure_factors(tmp_path):
    cfg = good_config()
    cfg.structure_factors.default_F = 0.0
    with pytest.raises(ConfigError, match=r"\(no Fdump\.bin cache here either\)"):
        cfg.validate(tmp_path)
    (tmp_path / "Fdump.bin").write_bytes(b"")  # validation only asks whether it is there
    assert cfg.validate(tmp_path) == []


def test_a_term_limit_that_is_not_a_whole_number_is_refused():
    with pytest.raises(ConfigError, match="max_terms: expected a whole number of terms >= 0, "
                       "got 2.5"):
        Simulator(good_config(), max_terms=2.5)
