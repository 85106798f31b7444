"""Ledger exports share one budget: a few at once, and their lines at a bounded pace, whatever the number of clients."""

import asyncio

from services.api.export_budget import ExportBudget


class Clock:
    """A clock that moves only when the budget sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_the_first_chunk_of_an_idle_process_is_written_at_once():
    clock = Clock()
    budget = ExportBudget(4, rows_per_second=1000, clock=clock, sleep=clock.sleep)
    asyncio.run(budget.pace(500))
    assert clock.slept == []


def test_chunks_of_concurrent_exports_follow_each_other_at_the_budgets_pace():
    clock = Clock()
    budget = ExportBudget(4, rows_per_second=1000, clock=clock, sleep=clock.sleep)
    started: list[float] = []

    async def chunk(rows: int) -> None:
        await budget.pace(rows)
        started.append(clock())

    async def three_exports() -> None:
        await asyncio.gather(chunk(500), chunk(500), chunk(200))

    asyncio.run(three_exports())
    assert started == [100.0, 100.5, 101.0]  # each waits for the lines booked before it: 500, then 1,000
    asyncio.run(chunk(10))
    assert started[-1] == 101.2


def test_a_budget_left_idle_does_not_save_up_lines_for_later():
    clock = Clock()
    budget = ExportBudget(4, rows_per_second=1000, clock=clock, sleep=clock.sleep)
    asyncio.run(budget.pace(500))
    clock.now += 60
    asyncio.run(budget.pace(500))
    asyncio.run(budget.pace(500))
    assert clock.slept == [0.5]


def test_exports_past_the_slots_are_refused_until_one_ends():
    budget = ExportBudget(2, rows_per_second=1000)
    assert budget.take() and budget.take()
    assert not budget.take()
    budget.give_back()
    assert budget.take()
