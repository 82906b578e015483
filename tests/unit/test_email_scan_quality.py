from services.email_scan.quality import score


def test_precision_and_recall_count_exact_triples():
    expected = {("m1", "zoom", "receipt"), ("m2", "figma", "receipt"), ("m3", "slack", "signup")}
    found = {("m1", "zoom", "receipt"), ("m2", "figma", "renewal"), ("m4", "zoom", "receipt")}
    result = score(found, expected)
    assert (result.true_positives, result.false_positives, result.false_negatives) == (1, 2, 2)
    assert result.precision == 1 / 3 and result.recall == 1 / 3


def test_nothing_expected_and_nothing_found_is_perfect():
    assert score([], []).precision == 1.0 and score([], []).recall == 1.0
    assert score([("m", "v", "k")], []).precision == 0.0
