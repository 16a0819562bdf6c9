"""Determinism across executors: local worker processes and a real Dask LocalCluster write
frames byte-identical to the in-process run (no mocks: real processes, a real cluster)."""

from __future__ import annotations

from series_helpers import SMALL, run_series, tree

STILLS = ["--stills", "4", "--N", "3", "6", "--mosaic", "0", "0.3", "--fluence-sigma", "0.2",
          "--quiet", "--format", "cbf"]


def test_workers_and_dask_local_cluster_write_the_inline_frames(tmp_path, monkeypatch, capsys):
    outputs = {}
    for name, where in (("inline", []), ("workers", ["--workers", "2"]),
                        ("dask", ["--dask", "local:2"])):
        status, out, err = run_series([*STILLS, *where, "--out", name, "--", *SMALL],
                                      tmp_path, monkeypatch, capsys)
        assert status == 0, err
        assert f"4/4 frames in {name}: 4 rendered" in out
        outputs[name] = tree(tmp_path / name)
        outputs[name].pop("series.json")  # holds the creation time
    assert sorted(outputs["inline"]) == ["frame_00001.cbf", "frame_00002.cbf", "frame_00003.cbf",
                                         "frame_00004.cbf", "manifest.jsonl"]
    assert outputs["workers"] == outputs["inline"]
    assert outputs["dask"] == outputs["inline"]


def test_dask_job_is_scattered_once_and_renderer_kept_per_worker(tmp_path):
    """The F table travels once per worker: the job is one scattered object, and every task of
    a worker reuses the renderer built from it."""
    from distributed import Client, LocalCluster

    from nanobragg.cli.args import parse_args
    from nanobragg.series import executors
    from nanobragg.series.plan import rotation_frames
    from nanobragg.series.render import SeriesJob
    from nanobragg.simulator import Simulator

    parsed = parse_args(SMALL, tmp_path)
    parsed.simulation.seed = 1
    sim = Simulator(parsed.simulation, cwd=tmp_path)
    job = SeriesJob(parsed.simulation, "float", False, 40.0, 0.0, str(tmp_path),
                    sim.structure_factors, threads=1, key="probe")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        scattered = client.scatter(job, broadcast=True, hash=False)
        futures = [client.submit(executors._render_on_dask, scattered, frame, pure=False)
                   for frame in rotation_frames(3, 0.0, 0.5, 1)]
        assert [f.result().index for f in futures] == [0, 1, 2]

        def renderers_built():
            from nanobragg.series import executors as worker_side

            return [id(r) for r in worker_side._DASK_RENDERERS.values()]

        built = list(client.run(renderers_built).values())
        assert [len(ids) for ids in built] == [1]  # one renderer for three frames


def test_local_workers_share_the_cores_out(tmp_path):
    """--workers K gives each worker this process's torch threads / K (at least one), set
    before its renderer is built, and keeps the parent's job untouched but for that."""
    import torch

    from nanobragg.cli.args import parse_args
    from nanobragg.series import worker
    from nanobragg.series.executors import ProcessExecutor
    from nanobragg.series.render import SeriesJob

    parsed = parse_args(SMALL, tmp_path)
    parsed.simulation.seed = 1
    job = SeriesJob(parsed.simulation, "float", False, 40.0, 0.0, str(tmp_path), None)
    before = torch.get_num_threads()
    torch.set_num_threads(4)
    try:
        executor = ProcessExecutor(job, 2)
        try:
            assert job.threads == 2
            assert executor.pool.submit(worker.ready).result() == 2
        finally:
            executor.close()
    finally:
        torch.set_num_threads(before)
