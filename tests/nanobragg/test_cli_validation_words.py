"""The refusals that moved from the parser and the CLI's own checks into the library
(nanobragg/validation.py) keep the CLI's words to the byte.

Each expected line is what ``nanobragg`` printed for the command line before the move (recorded
from commit d290c32, when the parser, ``_check_combinations`` and ``check_structure_factors`` /
``check_mask`` in ``cli/main.py`` refused these themselves); ``cli/terms.py`` now words the
library's error. The refusal contract (one line, status 2, nothing written) is
``refusal_harness.py``'s.
"""

from __future__ import annotations

import pytest
from refusal_harness import assert_refused
from test_cli_errors import BASE, NO_SF, smv_file

CELL_REST = BASE[7:]

#: (id, argv, files, the whole stderr line after "nanobragg: error: ")
CASES = [
    ("lambda_zero", BASE + ["-lambda", "0"], {}, "-lambda must be positive, got 0 A"),
    ("lambda_negative", BASE + ["-lambda", "-1.5"], {}, "-lambda must be positive, got -1.5 A"),
    ("wavelength_alias", BASE + ["-wavelength", "0"], {}, "-lambda must be positive, got 0 A"),
    ("wave_alias", BASE + ["-wave", "-2"], {}, "-lambda must be positive, got -2 A"),
    ("energy_zero", BASE + ["-energy", "0"], {}, "-energy must be positive, got 0 eV"),
    ("energy_negative", BASE + ["-energy", "-5"], {}, "-energy must be positive, got -5 eV"),
    ("energy_minus_zero", BASE + ["-energy", "-0"], {}, "-energy must be positive, got -0 eV"),
    ("distance_negative", BASE + ["-distance", "-100"], {}, "-distance -100: must be positive"),
    ("close_zero", BASE + ["-close_distance", "0"], {},
     "-close_distance must be positive, got 0 mm"),
    ("close_negative", BASE + ["-close_distance", "-3"], {},
     "-close_distance must be positive, got -3 mm"),
    ("close_huge", BASE + ["-close_distance", "1e9"], {},
     "-close_distance 1e9: distance must be positive and at most 1000 m"),
    ("max_terms_fraction", BASE + ["-max_terms", "2.5"], {},
     "-max_terms: expected a whole number of terms >= 0, got 2.5"),
    ("max_terms_negative", BASE + ["-max_terms", "-1"], {},
     "-max_terms: expected a whole number of terms >= 0, got -1"),
    ("device_unknown", BASE + ["-device", "tpu"], {},
     "-device: device 'tpu': expected cpu, cuda or cuda:N"),
    ("dtype_unknown", BASE + ["-dtype", "half"], {},
     "-dtype: expected float32 or float64, got 'half'"),
    ("flux_without_beamsize", BASE + ["-flux", "1e12", "-beamsize", "0"], {},
     "-flux needs a non-zero -beamsize (fluence = flux*exposure/beamsize^2)"),
    ("beamsize_zero", BASE + ["-beamsize", "0"], {}, "-beamsize 0: beam size must be positive"),
    ("no_structure_factors", NO_SF, {},
     "no structure factors: give -hkl FILE or -default_F F (no Fdump.bin cache here either)"),
    ("no_structure_factors_dump", NO_SF + ["-dump", "x.bin"], {},
     "no structure factors: give -hkl FILE or -default_F F (no x.bin cache here either)"),
    ("mask_size", BASE + ["-mask", "m.img"], {"m.img": smv_file(16, 16)},
     "-mask m.img: mask is 16x16 pixels but the detector is 8x8"),
    ("roi_empty_fast", BASE + ["-roi", "10", "5", "0", "3"], {},
     "-roi: x (fast) range is empty (10 > 5)"),
    ("roi_empty_slow", BASE + ["-roi", "0", "5", "7", "3"], {},
     "-roi: y (slow) range is empty (7 > 3)"),
    ("roi_negative_and_empty", BASE + ["-roi", "-1", "5", "7", "3"], {},
     "-roi: y (slow) range is empty (7 > 3)"),
    ("cell_angle_zero", ["-cell", "100", "100", "100", "0", "90", "90"] + CELL_REST, {},
     "-cell: angles must lie between 0 and 180 degrees, got 0"),
    ("cell_angle_200", ["-cell", "100", "100", "100", "90", "200", "90"] + CELL_REST, {},
     "-cell: angles must lie between 0 and 180 degrees, got 200"),
    ("cell_angle_tiny_negative", ["-cell", "100", "100", "100", "90", "90", "-1e-7"] + CELL_REST,
     {}, "-cell: angles must lie between 0 and 180 degrees, got -1e-07"),
    ("cell_angle_long", ["-cell", "100", "100", "100", "90", "90", "1234.5678"] + CELL_REST, {},
     "-cell: angles must lie between 0 and 180 degrees, got 1234.57"),
    ("cell_angle_before_length", ["-cell", "-100", "100", "100", "-3", "190", "90"] + CELL_REST,
     {}, "-cell: angles must lie between 0 and 180 degrees, got -3"),
    ("detector_abs_negative", BASE + ["-detector_abs", "-5"], {},
     "-detector_abs: attenuation length must be positive, got -5 um"),
    ("beam_parallel", BASE + ["-beam_vector", "0", "0", "1"], {},
     "the beam is parallel to the detector plane (beam vector . detector normal = 0): check "
     "-beam_vector, -odet_vector and the rotations"),
    ("auto_oversample", BASE + ["-lambda", "1e-30"], {},
     "automatic oversampling would need 1.5e+29x1.5e+29 sub-pixels per pixel (crystal 50 A, "
     "reciprocal pixel 1e-27 A): check -lambda, -distance, -pixel and N, or give -oversample"),
    ("term_limit", BASE + ["-max_terms", "3"], {},
     "the render would evaluate 64 pixels x 1 sub-pixel (1-fold oversampling) x 1 detector "
     "layer x 1 source x 1 phi step x 1 mosaic domain = 64 terms, above the limit of 3 (about "
     "0 s on cpu): reduce one of these counts, or raise the limit with -max_terms N or "
     "$NB_MAX_TERMS (0 = no limit)"),
]


@pytest.mark.parametrize(("argv", "files", "line"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_the_cli_words_a_library_refusal_as_before(argv, files, line, tmp_path, monkeypatch,
                                                   capsys):
    spy = _Spy(capsys)
    assert_refused(argv, files, [], tmp_path, monkeypatch, spy)
    assert spy.err == f"nanobragg: error: {line}\n"


def test_a_later_flag_replaces_a_bad_value(tmp_path, monkeypatch, capsys):
    # the physical rules apply to the config the whole command line gives (later flags win)
    from nanobragg.cli.main import main

    monkeypatch.chdir(tmp_path)
    assert main(BASE + ["-lambda", "0", "-lambda", "1", "-nonoise", "-nopgm"]) == 0


class _Spy:
    """capsys, keeping the stderr the harness reads for a second look."""

    def __init__(self, capsys):
        self.capsys, self.err = capsys, ""

    def readouterr(self):
        captured = self.capsys.readouterr()
        self.err = captured.err
        return captured
