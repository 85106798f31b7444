"""The household simulator: valid v1 events, Yunnan region codes, seeded, calibrated shocks."""

import re

import numpy as np

from services.analytics.history import blocks, simulate_block
from services.analytics.simulator import SimConfig, World, cause_mix, fall_causes, simulate_cohort
from services.ingest.validation import validate_event


def test_every_simulated_event_is_a_valid_v1_cloudevent():
    config = SimConfig(households=60, seed=3)
    _, histories = simulate_block(config, blocks(config)[0])
    events = [event for _, history in histories for event in history]
    types = {event["type"] for event in events}
    for event in events:
        validate_event(event, b"key")
    assert {"household.registered", "income.reported", "medical.expense.incurred"} <= types


def test_region_codes_are_twelve_digits_under_yunnan_county_prefixes():
    world = World(SimConfig(households=10))
    assert all(re.fullmatch(r"53\d{10}", code) for code in world.villages)
    assert world.line("532328101001", "2025-06") == 8700


def test_the_same_seed_gives_the_same_history_and_another_seed_another():
    config = SimConfig(households=30, seed=5)
    first, second = simulate_block(config, blocks(config)[0]), simulate_block(config, blocks(config)[0])
    other = simulate_block(SimConfig(households=30, seed=6), blocks(config)[0])
    assert first[1] == second[1] and first[1] != other[1]


def test_illness_is_about_forty_two_to_forty_four_percent_of_households_falling_below_the_line():
    world = World(SimConfig(households=20000, seed=7))
    counts = [fall_causes(simulate_cohort(world, b, b * 4000, (b + 1) * 4000)) for b in range(5)]
    mix = cause_mix(counts)
    assert 0.40 <= mix["illness"] <= 0.47, mix
    assert mix["illness"] == max(mix.values())


def test_illness_strikes_ten_to_eighteen_percent_of_households_a_year():
    cohort = simulate_cohort(World(SimConfig(households=5000, seed=2)), 0, 0, 5000)
    ill_months = cohort.out_of_pocket[:, 12:24] > 0
    assert 0.10 <= ill_months.any(1).mean() <= 0.18


def test_disasters_hit_whole_villages_together():
    cohort = simulate_cohort(World(SimConfig(households=4000, seed=4)), 0, 0, 4000)
    hit = cohort.disaster.any(1)
    by_village = np.bincount(cohort.village[hit], minlength=cohort.village.max() + 1)
    assert hit.mean() < 0.5 and (by_village > 0).mean() < 0.9
