"""A township's tally lists its risk types in the policy's order whatever order Redis kept their counters in, so the
board shows tied risk types the same way every time."""

from collections import Counter

from services.alerts.tally import Tally
from services.common.risk_types import RISK_TYPES


def test_a_tally_lists_risk_types_in_the_policy_order_whatever_order_their_counters_came_in():
    counted = [("disability", "open"), ("other", "verifying"), ("illness", "open"), ("disaster", "overdue")]
    for order in (counted, counted[::-1]):
        tally = Tally("532328103", Counter(), 0, Counter({pair: 1 for pair in order}))
        names = list(tally.by_risk_type())
        assert names == sorted(names, key=RISK_TYPES.index)
        assert tally.by_risk_type()["disaster"] == Counter(overdue=1)
