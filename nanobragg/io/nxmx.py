"""NXmx HDF5 files (``-h5``, ``nanobragg-series --format h5``): the layout DIALS imports;
and reading one frame of an HDF5 image file (:func:`read_hdf5_image`).

One ``/entry`` (``definition = "NXmx"``) holding

* ``/entry/data/data``: the frames [frame, slow, fast], one chunk per frame, compressed with
  bitshuffle/LZ4 (``hdf5plugin``); ``/entry/instrument/detector/data`` links to it;
* ``/entry/instrument/beam`` (and ``/entry/sample/beam``): the wavelength;
* ``/entry/instrument/detector``: pixel size, distance, beam centre, sensor, count time,
  saturation, and one ``detector_module`` whose ``depends_on`` chain places every pixel:
  ``fast_pixel_direction``/``slow_pixel_direction`` (one pixel along each axis) ->
  ``module_offset`` (from the foot of the detector normal to the corner of pixel (0, 0)) ->
  ``transformations/detector_z`` (from the sample along the detector normal);
* ``/entry/sample``: ``depends_on`` -> ``transformations/phi``, the goniometer rotation with
  one start angle per frame, ``phi_end`` and ``phi_increment_set``.

Vectors are written in the NeXus (McStas) frame: z along the beam, the spindle in the x-z plane
along -x (as on most beamlines), y completing a right-handed frame. In nanobragg's MOSFLM lab
frame this is (x, y, z)_NeXus = (-z, y, x)_lab. Lengths of the chain are in mm, angles in deg.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nanobragg.io.format import FileFormat

Vec3 = tuple[float, float, float]
FRAMES_PATH = "/entry/data/data"
DETECTOR = "/entry/instrument/detector"
_TRANSFORMS = f"{DETECTOR}/transformations"
_MODULE = f"{DETECTOR}/module"
_PHI = "/entry/sample/transformations/phi"
#: datasets tried in order when none is named
IMAGE_DATASETS = ("entry/data/data", "image", "data")


@dataclass(frozen=True)
class NXmxGeometry:
    """Detector, beam and spindle in nanobragg's lab frame (unit vectors; lengths in m).

    ``pix0_m`` is the corner of pixel (0, 0); ``close_distance_m`` = pix0 . odet;
    ``distance_m`` is the sample-to-detector distance as configured (``-distance``);
    ``beam_center_px`` is where the direct beam hits, in pixels from the corner (fast, slow).
    """

    fpixels: int
    spixels: int
    pixel_size_m: float
    fdet: Vec3
    sdet: Vec3
    odet: Vec3
    pix0_m: Vec3
    beam: Vec3
    spindle: Vec3
    distance_m: float
    close_distance_m: float
    beam_center_px: tuple[float, float]
    wavelength_A: float
    thickness_m: float = 0.0
    exposure_s: float = 1.0


@dataclass(frozen=True)
class NXmxScan:
    """The goniometer angle of each frame (deg) and the oscillation of one frame (deg)."""

    start_deg: Sequence[float]
    increment_deg: float


def nexus_basis(beam: Vec3, spindle: Vec3) -> np.ndarray:
    """Rows: the NeXus x, y, z axes as lab vectors (z = beam, x = -(spindle ⟂ beam))."""
    z = _unit(np.asarray(beam, dtype=float))
    s = np.asarray(spindle, dtype=float)
    perpendicular = s - np.dot(s, z) * z
    if np.linalg.norm(perpendicular) < 1e-9:  # spindle along the beam: any x will do
        perpendicular = np.cross(z, [0.0, 1.0, 0.0] if abs(z[1]) < 0.9 else [1.0, 0.0, 0.0])
    x = -_unit(perpendicular)
    return np.stack([x, np.cross(z, x), z])


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def create_nxmx(h5, geometry: NXmxGeometry, scan: NXmxScan, dtype: np.dtype | str,
                image: str, saturation: int | None, start_time: str):
    """Write the NXmx tree into the open ``h5py.File`` and return the empty frames dataset."""
    import hdf5plugin

    g = geometry
    to_nexus = nexus_basis(g.beam, g.spindle)
    entry = _group(h5, "entry", "NXentry")
    entry.create_dataset("definition", data="NXmx")
    entry.create_dataset("start_time", data=start_time)
    _group(entry, "source", "NXsource").create_dataset("name", data="nanobragg simulation")
    data = _group(entry, "data", "NXdata")
    data.attrs["signal"] = "data"
    frames = data.create_dataset(
        "data", shape=(len(scan.start_deg), g.spixels, g.fpixels), dtype=dtype,
        chunks=(1, g.spixels, g.fpixels), **hdf5plugin.Bitshuffle(cname="lz4"))
    frames.attrs["image"] = image
    instrument = _group(entry, "instrument", "NXinstrument")
    instrument.create_dataset("name", data="nanobragg")
    beam = _group(instrument, "beam", "NXbeam")
    _number(beam, "incident_wavelength", g.wavelength_A, "angstrom")
    _write_detector(instrument, g, to_nexus, image, saturation)
    instrument["detector"]["data"] = frames
    _write_sample(entry, g, scan, to_nexus)
    return frames


def _write_detector(instrument, g: NXmxGeometry, to_nexus: np.ndarray, image: str,
                    saturation: int | None) -> None:
    det = _group(instrument, "detector", "NXdetector")
    det.create_dataset("depends_on", data=f"{_TRANSFORMS}/detector_z")
    det.create_dataset("description", data=f"simulated pixel array detector ({image})")
    det.create_dataset("type", data="pixel")
    _number(det, "distance", g.distance_m * 1e3, "mm")
    _number(det, "beam_center_x", g.beam_center_px[0], "pixel")
    _number(det, "beam_center_y", g.beam_center_px[1], "pixel")
    _number(det, "x_pixel_size", g.pixel_size_m, "m")
    _number(det, "y_pixel_size", g.pixel_size_m, "m")
    det.create_dataset("sensor_material", data="Si")
    _number(det, "sensor_thickness", g.thickness_m * 1e3, "mm")
    _number(det, "count_time", g.exposure_s, "s")
    _number(det, "frame_time", g.exposure_s, "s")
    if saturation is not None:
        det.create_dataset("saturation_value", data=np.int64(saturation))
    det.create_dataset("underload_value", data=np.int64(-1))
    _group(det, "transformations", "NXtransformations")
    normal = to_nexus @ np.asarray(g.odet)
    _axis(det["transformations"], "detector_z", g.close_distance_m * 1e3, "mm", "translation",
          normal, ".")
    corner = to_nexus @ np.asarray(g.pix0_m) * 1e3
    in_plane = corner - np.dot(corner, normal) * normal
    length = float(np.linalg.norm(in_plane))
    module = _group(det, "module", "NXdetector_module")
    module.create_dataset("data_origin", data=np.array([0, 0], dtype=np.int64))
    module.create_dataset("data_size", data=np.array([g.spixels, g.fpixels], dtype=np.int64))
    module.create_dataset("data_stride", data=np.array([1, 1], dtype=np.int64))
    direction = in_plane / length if length > 0 else to_nexus @ np.asarray(g.fdet)
    _axis(module, "module_offset", length, "mm", "translation", direction,
          f"{_TRANSFORMS}/detector_z")
    pixel_mm = g.pixel_size_m * 1e3
    for name, axis in (("fast_pixel_direction", g.fdet), ("slow_pixel_direction", g.sdet)):
        _axis(module, name, pixel_mm, "mm", "translation", to_nexus @ np.asarray(axis),
              f"{_MODULE}/module_offset", offset=True)


def _write_sample(entry, g: NXmxGeometry, scan: NXmxScan, to_nexus: np.ndarray) -> None:
    sample = _group(entry, "sample", "NXsample")
    sample.create_dataset("name", data="simulated crystal")
    sample.create_dataset("depends_on", data=_PHI)
    sample["beam"] = entry["instrument/beam"]
    transforms = _group(sample, "transformations", "NXtransformations")
    starts = np.asarray(scan.start_deg, dtype=np.float64)
    _axis(transforms, "phi", starts, "deg", "rotation", to_nexus @ np.asarray(g.spindle), ".")
    _number(transforms, "phi_end", starts + scan.increment_deg, "deg")
    _number(transforms, "phi_increment_set", scan.increment_deg, "deg")


def _group(parent, name: str, nx_class: str):
    group = parent.create_group(name)
    group.attrs["NX_class"] = nx_class
    return group


def _number(parent, name: str, value, units: str):
    dataset = parent.create_dataset(name, data=value)
    dataset.attrs["units"] = units
    return dataset


def _axis(parent, name: str, value, units: str, kind: str, vector: np.ndarray, depends_on: str,
          offset: bool = False) -> None:
    dataset = _number(parent, name, value, units)
    dataset.attrs["transformation_type"] = kind
    dataset.attrs["vector"] = np.asarray(vector, dtype=np.float64)
    dataset.attrs["depends_on"] = depends_on
    if offset:
        dataset.attrs["offset"] = np.zeros(3)
        dataset.attrs["offset_units"] = "mm"


def nxmx_bytes(geometry: NXmxGeometry, scan: NXmxScan, frames: np.ndarray, image: str,
               saturation: int | None, start_time: str) -> bytes:
    """A whole NXmx file holding ``frames`` [frame, slow, fast] (or one [slow, fast] image)."""
    import h5py

    stack = np.asarray(frames)
    if stack.ndim == 2:
        stack = stack[None]
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        dataset = create_nxmx(h5, geometry, scan, stack.dtype, image, saturation, start_time)
        for i, frame in enumerate(stack):
            dataset[i] = frame
    return buffer.getvalue()


def read_hdf5_image(path: str | os.PathLike[str], dataset: str | None = None,
                    frame: int = 0) -> np.ndarray:
    """One 2-D frame of an HDF5 image file as float64 [slow, fast].

    A 3-D dataset is a stack of frames [frame, slow, fast]; ``frame`` picks one.

    Raises:
        ImportError: h5py is not installed.
        ValueError: no such dataset, or it is not an image.
    """
    import h5py
    import hdf5plugin  # noqa: F401 - registers the bitshuffle filter of NXmx frames

    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(f"{path}: not a readable HDF5 file ({exc})") from None
    with handle:
        names = [dataset] if dataset else [n for n in IMAGE_DATASETS if n in handle]
        if not names or names[0] not in handle:
            raise ValueError(f"{path}: no image dataset (looked for "
                             f"{', '.join(names if dataset else IMAGE_DATASETS)})")
        data = handle[names[0]]
        if data.ndim == 3:
            if not 0 <= frame < data.shape[0]:
                raise ValueError(f"{path}: frame {frame} outside 0..{data.shape[0] - 1}")
            return np.asarray(data[frame], dtype=np.float64)
        if data.ndim != 2:
            raise ValueError(f"{path}: dataset {names[0]} is {data.ndim}-D, not an image")
        return np.asarray(data, dtype=np.float64)


def hdf5_pixels(path: str | os.PathLike[str], shape: tuple[int, int] | None = None) -> np.ndarray:
    return read_hdf5_image(path)


FORMAT = FileFormat(
    name="hdf5", what="-h5: NXmx HDF5 (h5py); reads the first frame of any HDF5 image file",
    understand=lambda head: head.startswith(b"\x89HDF"), read=read_hdf5_image,
    write=nxmx_bytes, pixels=hdf5_pixels)
