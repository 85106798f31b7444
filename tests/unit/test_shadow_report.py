"""The shadow report compares each household's latest candidate assessment with the active model's."""

from datetime import UTC, datetime, timedelta

from services.analytics.shadow import compare
from services.common.scores import Level, ShadowScore

T0 = datetime(2025, 6, 1, tzinfo=UTC)


def shadow(
    household: str,
    active: Level,
    candidate: Level,
    minutes: int = 0,
    version: str = "cand",
    region_code: str = "532328101001",
) -> ShadowScore:
    return ShadowScore(
        household_id=household,
        region_code=region_code,
        score_id=f"{household}-{minutes}",
        scored_at=T0 + timedelta(minutes=minutes),
        active_version="live",
        active_level=active,
        active_probability=0.1 if active == "green" else 0.7,
        candidate_version=version,
        candidate_level=candidate,
        candidate_probability=0.2 if candidate == "green" else 0.9,
    )


def test_only_each_households_latest_score_of_the_named_candidate_counts():
    scores = [
        shadow("H1", "green", "red", minutes=0),
        shadow("H1", "green", "green", minutes=5),  # later: the candidate changed its mind
        shadow("H2", "red", "red"),
        shadow("H3", "green", "red", version="other"),
    ]
    report = compare(scores, "cand")
    assert report["households"] == 2 and report["agreement"] == 1.0
    assert report["alerts_active"] == report["alerts_candidate"] == 1
    assert report["levels_active_to_candidate"] == {"green->green": 1, "red->red": 1}


def test_disagreements_are_counted_both_ways_with_the_probability_gap():
    report = compare(
        [shadow("H1", "green", "red"), shadow("H2", "yellow", "green"), shadow("H3", "red", "red")], "cand"
    )
    assert report["candidate_only"] == 1 and report["active_only"] == 1
    assert round(report["agreement"], 3) == 0.333
    assert round(report["mean_abs_probability_difference"], 3) == round((0.8 + 0.5 + 0.2) / 3, 3)


def test_a_candidate_without_shadow_scores_says_so():
    report = compare([shadow("H1", "green", "red")], "nobody")
    assert report["households"] == 0 and report["by_county"] == []


def test_the_changes_are_counted_per_county_most_changes_first_and_by_the_level_each_would_move_to():
    scores = [
        shadow("H1", "green", "red"),
        shadow("H2", "yellow", "red"),
        shadow("H3", "red", "red"),
        shadow("H4", "green", "yellow", region_code="532301001001"),
        shadow("H5", "red", "green", region_code="532301002001"),
        shadow("H6", "yellow", "red", region_code="532301002001"),
        shadow("H7", "green", "green", region_code="532324001001"),
    ]
    counties = compare(scores, "cand")["by_county"]
    assert [c["county"] for c in counties] == ["532301", "532328", "532324"]
    chuxiong, yuanmou, nanhua = counties
    assert (chuxiong["households"], chuxiong["changed"]) == (3, 3)
    assert (chuxiong["to_red"], chuxiong["to_yellow"], chuxiong["to_green"]) == (1, 1, 1)
    assert (yuanmou["households"], yuanmou["changed"], yuanmou["to_red"]) == (3, 2, 2)
    assert yuanmou["levels_active_to_candidate"] == {"green->red": 1, "yellow->red": 1, "red->red": 1}
    assert (nanhua["changed"], nanhua["to_green"]) == (0, 0)


def test_the_counties_are_only_those_under_the_region_asked_while_the_headline_stays_national():
    scores = [shadow("H1", "green", "red"), shadow("H2", "green", "red", region_code="532301002001")]
    report = compare(scores, "cand", within="532301")
    assert report["region"] == "532301" and report["households"] == 2 and report["candidate_only"] == 2
    assert [(c["county"], c["to_red"]) for c in report["by_county"]] == [("532301", 1)]
    assert compare(scores, "cand", within="532301002")["by_county"][0]["households"] == 1
