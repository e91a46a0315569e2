"""prefect.yaml's deployments on a `process` work pool: a real Prefect worker (a separate process, as on
another machine) picks up a deployment run and runs it against the worker's own QE_HOME."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
PREFECT = Path(sys.executable).parent / "prefect"


def prefect_cli(args: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(PREFECT), "--no-prompt", *args], capture_output=True, text=True, timeout=timeout,
                          env=env, cwd=ROOT, check=False)


@pytest.mark.slow
@pytest.mark.prefect
def test_a_process_worker_runs_a_deployment_of_prefect_yaml(prefect_harness: None, lake: Any, qe_home: Path) -> None:
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    api = str(PREFECT_API_URL.value())
    env = {**os.environ, "PREFECT_API_URL": api, "QE_CHECKOUT": str(ROOT), "QE_HOME": str(qe_home)}
    # the pool is created through the API with the process worker's own job template: Prefect's
    # `work-pool create` command always asks the server for the collection registry, which the server
    # fetches from the internet (the network guard fails the test on that attempt)
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.workers.process import ProcessWorker

    async def create_pool() -> None:
        async with get_client() as client:
            await client.create_work_pool(
                WorkPoolCreate(name="qe-process", type="process",
                               base_job_template=ProcessWorker.get_default_base_job_template()),
                overwrite=True,
            )

    asyncio.run(create_pool())
    done = prefect_cli(["deploy", "--name", "respond"], env)
    assert done.returncode == 0, done.stdout + done.stderr
    done = prefect_cli(["deployment", "run", "respond/respond", "-p", "write_briefs=false"], env)
    assert done.returncode == 0, done.stdout + done.stderr
    # the worker: another process with its own data root, polling the pool once, running what it finds
    done = prefect_cli(["worker", "start", "--pool", "qe-process", "--run-once"], env, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr

    async def runs() -> list[Any]:
        async with get_client() as client:
            dep = await client.read_deployment_by_name("respond/respond")
            from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

            return list(await client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[dep.id]))))

    found = asyncio.run(runs())
    assert [r.state.type.value for r in found if r.state] == ["COMPLETED"], [(r.name, r.state) for r in found]
    assert found[0].name == "respond: nothing new to judge"  # it ran against the worker's (empty) lake
