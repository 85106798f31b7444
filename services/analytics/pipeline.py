"""Simulated history to training set, block by block and in parallel worker processes."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from rich.console import Console
from rich.progress import Progress

from services.analytics.history import blocks, fast_event, simulate_block
from services.analytics.household_events import cohort_outcomes
from services.analytics.labels import Labels
from services.analytics.simulator import SimConfig, cause_mix, fall_causes
from services.analytics.training_set import TrainingSet, build
from services.common.policy import PolicyBook

TRAINING_MONTHS = 36  # an honest validation needs cut-offs more than the 12-month horizon apart, each with its horizon


@dataclass
class Simulated:
    """A training set built from a simulation, with the achieved cause mix."""

    training_set: TrainingSet
    cause_mix: dict[str, float]
    events: int


def _block(args: tuple[SimConfig, tuple[int, int, int]]) -> tuple[TrainingSet, dict[str, int], int]:
    config, block = args
    cohort, histories = simulate_block(config, block)
    labels = Labels(item for i in range(len(cohort.ids)) for item in cohort_outcomes(config, cohort, i))
    replayable = [(hid, [fast_event(e) for e in events]) for hid, events in histories]
    built = build(replayable, labels, labels.cutoffs(), PolicyBook.load(config.policy_dir))
    return built, fall_causes(cohort), sum(len(events) for _, events in histories)


def simulated_training_set(config: SimConfig, workers: int = 1, progress: bool = False) -> Simulated:
    """Simulate `config` and build its point-in-time training set (`workers` processes)."""
    jobs = [(config, block) for block in blocks(config)]
    results = []
    with Progress(console=Console(stderr=True), disable=not progress) as bar:
        task = bar.add_task("simulate+replay (households)", total=config.households)
        if workers <= 1:
            for job in jobs:
                results.append(_block(job))
                bar.advance(task, job[1][2] - job[1][1])
        else:
            with ProcessPoolExecutor(workers) as pool:
                for job, result in zip(jobs, pool.map(_block, jobs), strict=True):
                    results.append(result)
                    bar.advance(task, job[1][2] - job[1][1])
    return Simulated(
        TrainingSet.concat([r[0] for r in results]), cause_mix([r[1] for r in results]), sum(r[2] for r in results)
    )
