"""`facerec index --ray` on a real local Ray cluster: a head node and a worker node started by the test as separate
processes (``ray.cluster_utils.Cluster``, 1 CPU each), stopped at the end even when a test fails.

The faces stored through Ray actors must be the faces stored by local processes, into SQLite and into PostgreSQL
(``$FACEREC_TEST_PG_DSN``; skipped without it); an actor killed with SIGKILL in the middle of a run is restarted
and its batch resubmitted, so nothing is lost.
"""

from __future__ import annotations

import json
import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from facerec.cli import cli
from facerec.library import IndexProgress, index_photos, open_store
from test_library import OPTIONS, assert_same_faces, make_photo_folder

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'facerec[distributed]'")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    """A head and one worker node on this machine (real raylets), with this process connected as the driver."""
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, connect=False,
                      head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        cluster.add_node(num_cpus=1)
        ray.init(address=cluster.address, log_to_driver=False, configure_logging=False)
        cluster.wait_for_nodes()
        yield cluster.address
    finally:
        ray.shutdown()
        cluster.shutdown()  # type: ignore[no-untyped-call]


@pytest.fixture(scope="module")
def photos(test_images: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_photo_folder(test_images, tmp_path_factory.mktemp("ray") / "photos", variants=3)


@pytest.fixture(scope="module")
def reference(photos: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same photos indexed by local processes."""
    path = tmp_path_factory.mktemp("ray-ref") / "local.sqlite"
    with open_store(path) as store:
        index_photos(store, [photos], workers=1, analyzer_options=OPTIONS)
    return path


def _index_killing_one_actor(location: str, photos: Path, **store_options: Any) -> tuple[Any, int]:
    from facerec.library.ray_pool import RayPool

    with open_store(location, **store_options) as store, RayPool(workers=2, analyzer_options=OPTIONS) as pool:
        assert len(ray.nodes()) == 2
        victim = pool.worker_pids()[0]
        killed: list[int] = []

        def kill_once(progress: IndexProgress) -> None:
            if not killed and progress.stored >= 1:
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)

        report = index_photos(store, [photos], pool=pool, analyzer_options=OPTIONS, batch_size=1,
                              on_progress=kill_once)
        assert killed, "the run ended before a worker could be killed"
        return report, pool.lost_workers


def test_ray_index_sqlite_same_faces_despite_a_killed_worker(ray_cluster: str, photos: Path, reference: Path,
                                                             tmp_path: Path) -> None:
    report, lost = _index_killing_one_actor(str(tmp_path / "ray.sqlite"), photos)
    assert lost >= 1
    assert (report.progress.stored, report.progress.failed) == (8, 1)
    assert [Path(f).name for f, _ in report.failures] == ["broken.jpg"]
    with open_store(tmp_path / "ray.sqlite") as store, open_store(reference) as local:
        assert_same_faces(store, local)
        assert store.counts()["faces"] == local.counts()["faces"]


def test_ray_index_postgres_same_faces_despite_a_killed_worker(ray_cluster: str, photos: Path, reference: Path
                                                               ) -> None:
    dsn = os.environ.get("FACEREC_TEST_PG_DSN")
    if not dsn:
        pytest.skip("FACEREC_TEST_PG_DSN is not set: start a server with "
                    "`export FACEREC_TEST_PG_DSN=$(bash tools/setup_postgres.sh)` (CI sets it)")
    schema = f"test_ray_{uuid.uuid4().hex[:10]}"
    try:
        report, lost = _index_killing_one_actor(dsn, photos, schema=schema)
        assert lost >= 1 and report.progress.stored == 8
        with open_store(dsn, schema=schema) as store, open_store(reference) as local:
            assert_same_faces(store, local)
    finally:
        from facerec.gallery.postgres import PostgresGallery

        PostgresGallery(dsn, schema=schema).drop()


def test_ray_index_cli_resumes_what_local_processes_began(ray_cluster: str, photos: Path, reference: Path,
                                                          tmp_path: Path) -> None:
    library = tmp_path / "cli.sqlite"
    runner = CliRunner()
    first = runner.invoke(cli, ["index", str(photos / "2019"), "--gallery", str(library), "--detector", "hog",
                                "--json", "--no-cluster"])
    assert first.exit_code == 0, first.output
    done = runner.invoke(cli, ["index", str(photos), "--gallery", str(library), "--detector", "hog", "--json",
                               "--ray", ray_cluster, "--ray-workers", "2", "--batch-size", "2"])
    assert done.exit_code == 1, (done.output, done.exception)  # broken.jpg
    document = json.loads(done.stdout)
    assert document["skipped"] == 2 and document["stored"] == 6 and document["failed"] == 1
    with open_store(library) as store, open_store(reference) as local:
        assert_same_faces(store, local)
