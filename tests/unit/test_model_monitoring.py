"""The live model is watched at the source: a household's first model score of a month carries the bins of its inputs
and score; drift is a population stability index against the training reference; calibration has intervals."""

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest

from services.alerts.monitoring import calibration_tokens, drift_batch
from services.alerts.score_reading import read_score
from services.analytics.monitoring import calibration, drift, psi, reference, wilson
from services.common.alerts import Alert
from services.common.model_activation import Activation
from services.common.policy import PolicyBook
from services.common.score_records import encoded
from services.common.scores import Reason
from services.common.settings import REPO_ROOT
from services.ingest.validation import validate_event
from services.scoring.model import ModelRegistry
from services.scoring.monitoring import china_month
from services.scoring.scorer import score_event
from services.scoring.state import HouseholdState
from tests.factories import income, registration
from tests.models import train_toy_model

POLICIES = PolicyBook.load(REPO_ROOT / "policy")
NOW = datetime(2025, 6, 1, tzinfo=UTC)


def _load(folder, version, with_reference=True):
    manifest = train_toy_model(folder, version, with_reference)
    activation = Activation(version=version, sha256=manifest.sha256, activated_by="t", activated_at=NOW)
    return ModelRegistry(folder).load(activation)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return _load(tmp_path_factory.mktemp("models"), "watched")


def _events(model, *raws):
    state, scores = HouseholdState(), []
    for raw in raws:
        state, score = score_event(state, validate_event(raw, b"k"), POLICIES, NOW, model)
        scores.append(score)
    return scores


def test_only_a_households_first_model_score_of_a_month_carries_its_bins(model):
    first, same_month, next_month = _events(
        model,
        registration("H1", 30000, members=3, time="2025-03-02T08:00:00+08:00"),
        income("H1", "2025-03", 1000, time="2025-03-20T08:00:00+08:00"),
        income("H1", "2025-04", 900, time="2025-04-10T08:00:00+08:00"),
    )
    assert first.monitoring.month == "2025-03" and next_month.monitoring.month == "2025-04"
    assert same_month is not None and same_month.monitoring is None
    width = len(model.manifest.features)
    assert len(first.monitoring.bins) == width and all(0 <= b <= 10 for b in first.monitoring.bins)
    score_edges = model.manifest.reference["score"]["edges"]
    assert first.monitoring.score_bin == int(np.searchsorted(score_edges, first.probability, side="right"))


def test_a_model_registered_without_a_reference_scores_without_bins(tmp_path):
    old = _load(tmp_path, "old", with_reference=False)
    (score,) = _events(old, registration("H2", 30000, members=3))
    assert score.probability is not None and score.monitoring is None


def test_the_alerts_projection_counts_a_bin_carrying_score_under_its_county_and_month(model):
    (score,) = _events(model, registration("H3", 16000, members=2, time="2025-03-02T08:00:00+08:00"))
    (number,), ((key, counties, county, sums),) = drift_batch([read_score(encoded(score))])
    assert key == "alerts:monitoring:watched:532328:2025-03" and county == "532328"
    assert counties == "alerts:monitoring:watched:counties"
    bins = score.monitoring.bins
    assert number == 1
    expected = {"n": 1, f"s:{score.monitoring.score_bin}": 1, f"level:{score.level}": 1, "raised:both": 1}
    assert sums == {**expected, **{f"f:{i}:{b}": 1 for i, b in enumerate(bins)}}
    # "both": red by the rules (8,000 a person, below 8,700) and by the model


def test_a_batch_sums_each_field_over_its_scores_and_keeps_scores_without_bins_out(model):
    events = [registration(f"H{n}", 9000 + 2500 * n, members=1 + n % 3, time="2025-03-02T08:00:00+08:00")
              for n in range(6)]  # fmt: skip
    scores = [read_score(encoded(_events(model, event)[0])) for event in events]
    plain = read_score(encoded(_events(None, registration("H9", 30000, members=2))[0]))
    numbers, ((_, _, _, sums),) = drift_batch([*scores, plain])
    assert numbers == [1] * 6 + [0]
    for i in range(len(scores[0].monitoring.bins)):
        column = [s.monitoring.bins[i] for s in scores]
        assert {b: n for f, n in sums.items() if f.startswith(f"f:{i}:") for b in [int(f.split(":")[2])]} == {
            b: column.count(b) for b in set(column)}  # fmt: skip
    assert sums["n"] == 6 and sum(n for f, n in sums.items() if f.startswith("level:")) == 6
    score_bins = [s.monitoring.score_bin for s in scores]
    counted = {int(f[2:]): n for f, n in sums.items() if f.startswith("s:")}
    assert counted == {b: score_bins.count(b) for b in score_bins}


def test_a_batch_counts_a_score_once_when_it_comes_twice_or_was_recorded_before(model):
    events = [registration(f"H{n}", 9000 + 2500 * n, members=2, time="2025-03-02T08:00:00+08:00") for n in range(3)]
    first, second, third = (read_score(encoded(_events(model, event)[0])) for event in events)
    numbers, ((_, _, _, sums),) = drift_batch([first, second, first, third], recorded=[third.score_id])
    assert numbers == [1, 1, 0, 0] and sums["n"] == 2


def test_drift_is_near_zero_on_the_training_distribution_and_an_alarm_on_a_shifted_one():
    rng = np.random.default_rng(3)
    train = rng.lognormal(0.3, 0.5, size=(5000, 1))
    ref = reference(train, ["income_to_line"], rng.random(5000))
    same = np.bincount(np.searchsorted(ref["features"]["income_to_line"]["edges"], rng.lognormal(0.3, 0.5, 3000),
                                       side="right"), minlength=10)  # fmt: skip
    poorer = np.bincount(np.searchsorted(ref["features"]["income_to_line"]["edges"], rng.lognormal(-0.2, 0.5, 3000),
                                         side="right"), minlength=10)  # fmt: skip
    expected = ref["features"]["income_to_line"]["shares"]
    assert psi(expected, same.tolist()) < 0.02 and psi(expected, poorer.tolist()) > 0.25
    counts = {"n": 3000, **{f"f:0:{b}": int(c) for b, c in enumerate(poorer)}, "level:red": 5, "s:0": 3000}
    found = drift(ref, ["income_to_line"], counts)
    assert found["households"] == 3000 and found["feature_psi"]["income_to_line"] > 0.25
    assert found["score_psi"] > 0.25 and found["levels"]["red"] == 5  # every score in the lowest tenth


def test_calibration_compares_each_bands_confirmation_rate_with_the_models_prediction_within_an_interval():
    low, high = wilson(30, 100)
    assert low < 0.3 < high and (low, high) == pytest.approx((0.219, 0.396), abs=0.002)
    counts = {"4|confirmed": 30, "4|dismissed": 70, "4|open": 5, "4|p": int(105 * 0.35 * 1e6),
              "5|confirmed": 1, "5|dismissed": 2, "5|p": int(3 * 0.9 * 1e6)}  # fmt: skip
    bands = {band["band"]: band for band in calibration(counts, min_decided=20)}
    assert bands["0.30–0.50"]["confirm_rate"] == 0.3 and not bands["0.30–0.50"]["outside_interval"]
    assert bands["0.50–0.70"]["predicted"] == 0.9 and not bands["0.50–0.70"]["outside_interval"]  # 3 verdicts: quiet
    counts["4|p"] = int(105 * 0.6 * 1e6)
    assert calibration(counts, min_decided=20)[0]["outside_interval"]


def test_an_alerts_calibration_counters_follow_its_band_and_outcome():
    reason = Reason(code="model_risk", level="yellow", message_zh="模型", message_en="model", evidence={})
    alert = Alert(id="a", household_id="H", region_code="532328101001", level="yellow", reasons=[reason],
                  created_at=NOW, updated_at=NOW, due_at=NOW, policy_version="2025.2", probability=0.42,
                  model_version="m")  # fmt: skip
    assert calibration_tokens(alert) == "m|4|open=1 m|4|p=420000 m|raised:model_only|open=1"
    assert calibration_tokens(alert.model_copy(update={"status": "assisting"})).startswith("m|4|confirmed=1")
    assert calibration_tokens(alert.model_copy(update={"overdue": True})).startswith("m|4|overdue=1")
    assert calibration_tokens(alert.model_copy(update={"probability": None})) == ""


def test_a_moment_counts_in_the_month_it_falls_in_china_time_whatever_offset_it_was_given_in():
    assert china_month(datetime(2025, 1, 31, 15, 59, 59, tzinfo=UTC)) == "2025-01"
    assert china_month(datetime(2025, 1, 31, 16, 0, 0, tzinfo=UTC)) == "2025-02"
    assert china_month(datetime(2024, 12, 31, 20, 0, tzinfo=timezone(timedelta(hours=-5)))) == "2025-01"
    assert china_month(datetime(1969, 12, 31, 15, 0, tzinfo=UTC)) == "1969-12"
    china = timezone(timedelta(hours=8))
    assert china_month(datetime(2025, 1, 31, 23, 59, 59, tzinfo=china)) == "2025-01"  # written in China time
    assert china_month(datetime(2025, 2, 1, 0, 0, 0, tzinfo=china)) == "2025-02"
    rng = np.random.default_rng(5)
    for seconds, hours in zip(
        rng.integers(0, 2_000_000_000, 500).tolist(), rng.integers(-11, 13, 500).tolist(), strict=True
    ):
        moment = datetime.fromtimestamp(seconds, timezone(timedelta(hours=hours)))
        assert china_month(moment) == moment.astimezone(china).strftime("%Y-%m")
