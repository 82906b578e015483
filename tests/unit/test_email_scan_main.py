import pytest

from services.email_scan.handlers import FilterLimits
from services.email_scan.main import filter_limits


def test_filter_limits_default_to_the_simulated_complexity_limit():
    assert filter_limits({}) == FilterLimits(max_clauses=48, max_chars=3000)


def test_filter_limits_can_be_tightened_from_the_environment():
    limits = filter_limits({"COAX_EMAIL_FILTER_MAX_CLAUSES": "20",
                            "COAX_EMAIL_FILTER_MAX_CHARS": "1500"})
    assert limits == FilterLimits(max_clauses=20, max_chars=1500)


def test_non_numeric_filter_limits_are_a_clear_error():
    with pytest.raises(ValueError, match="must be integers"):
        filter_limits({"COAX_EMAIL_FILTER_MAX_CLAUSES": "many"})


@pytest.mark.parametrize("env", [{"COAX_EMAIL_FILTER_MAX_CLAUSES": "0"},
                                 {"COAX_EMAIL_FILTER_MAX_CHARS": "50"}])
def test_filter_limits_no_filter_fits_are_refused_at_start(env):
    with pytest.raises(ValueError, match=">="):
        filter_limits(env)
