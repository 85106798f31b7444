"""services/jobs sits on top: the services submit jobs through services/common (job_queues, job_records) and none of
them imports services.jobs, so the jobs process imports no service that imports it back; and services/jobs/handlers.py
registers every kind of job on its own queue."""

from __future__ import annotations

import ast
from pathlib import Path

import httpx
import pytest

from services.common.job_queues import KINDS
from services.common.settings import JobsSettings
from services.jobs.handlers import queue_handlers

ROOT = Path(__file__).resolve().parents[2]
JOBS = "services.jobs"


def module_of(path: Path) -> str:
    """The dotted name of a module file under the repository."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """The services modules a module imports, at its top or inside a function (the names of `from x import y` as x.y
    where y is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("services"):
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("services")}
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    """Every services module and the services modules it imports."""
    modules = {module_of(path): path for path in (ROOT / "services").rglob("*.py")}
    return {name: imports_of(path) & modules.keys() for name, path in modules.items()}


def reached_from(graph: dict[str, set[str]], start: set[str]) -> set[str]:
    """Every module `start` imports, directly or through others."""
    seen: set[str] = set()
    todo = list(start)
    while todo:
        for imported in graph[todo.pop()] - seen:
            seen.add(imported)
            todo.append(imported)
    return seen


def in_jobs(module: str) -> bool:
    return module == JOBS or module.startswith(f"{JOBS}.")


def test_no_service_the_jobs_process_imports_imports_services_jobs_back(graph):
    jobs = {module for module in graph if in_jobs(module)}
    services = {".".join(module.split(".")[:2]) for module in reached_from(graph, jobs) if not in_jobs(module)}
    assert {"services.alerts", "services.api", "services.ingest", "services.regions"} <= services
    back = sorted(
        module
        for module, imported in graph.items()
        if ".".join(module.split(".")[:2]) in services and any(map(in_jobs, imported))
    )
    assert back == [], f"these import services.jobs, which imports their service: {back}"


def test_nothing_outside_services_jobs_imports_it(graph):
    outside = sorted(
        module for module, imported in graph.items() if not in_jobs(module) and any(map(in_jobs, imported))
    )
    assert outside == []


def test_every_kind_of_recorded_job_has_its_function_on_its_own_queue_and_nowhere_else():
    settings = JobsSettings(redis_url="redis://127.0.0.1:1/0")
    registered = [
        (handlers.queue, name)
        for handlers in queue_handlers(settings, httpx.AsyncClient())
        for name, _ in handlers.functions
    ]
    for kind in KINDS:
        assert [queue for queue, name in registered if name == kind.function] == [kind.queue], kind
    assert len(registered) == len({name for _, name in registered})
