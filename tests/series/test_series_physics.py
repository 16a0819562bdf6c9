"""Physics identity: every frame carries the full fluence and divides by its own steps, so in
the corrected-quirks mode the mean of a rotation series' float frames is the single image of
the whole sweep with the same total number of phi steps."""

from __future__ import annotations

import numpy as np
from series_helpers import float_frame, run_nanobragg, run_series

FRAME = ["-cell", "70", "80", "90", "90", "90", "90", "-default_F", "100", "-N", "4",
         "-lambda", "1.0", "-distance", "80", "-detpixels", "48", "-pixel", "1.0",
         "-oversample", "1", "-misset", "10", "20", "30", "-mosaic", "0.3",
         "-mosaic_domains", "3", "-quirks", "corrected", "-dtype", "float64"]
FRAMES, OSC, PHI0, STEPS = 6, 1.5, 2.0, 3


def test_mean_of_frames_is_the_image_of_the_whole_sweep(tmp_path, monkeypatch, capsys):
    status, _, err = run_series(
        ["--frames", str(FRAMES), "--osc", str(OSC), "--phi0", str(PHI0), "--format", "float",
         "--quiet", "--out", "s", "--", *FRAME, "-phisteps", str(STEPS)],
        tmp_path, monkeypatch, capsys)
    assert status == 0, err
    frames = np.stack([float_frame(tmp_path / "s" / f"frame_{i + 1:05d}.bin", (48, 48))
                       for i in range(FRAMES)]).astype(np.float64)
    sweep = [*FRAME, "-phi", str(PHI0), "-osc", str(FRAMES * OSC), "-phisteps",
             str(FRAMES * STEPS), "-floatfile", "sweep.bin", "-nonoise", "-noprogress"]
    assert run_nanobragg(sweep, tmp_path, monkeypatch, capsys) == 0
    whole = float_frame(tmp_path / "sweep.bin", (48, 48)).astype(np.float64)
    # the frames really differ (reflections cross the Ewald sphere during the sweep)
    assert np.abs(frames - frames.mean(axis=0)).max() > 0.1 * whole.max()
    # files are float32: the sum of 6 rounded frames against one rounded image
    np.testing.assert_allclose(frames.mean(axis=0), whole, rtol=3e-7, atol=1e-7 * whole.max())
