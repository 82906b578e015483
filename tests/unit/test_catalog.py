"""The packaged vendor catalog loads, and its validation refuses ambiguous or broken entries."""

import copy
import re

import pytest
import yaml

from shared.catalog import CatalogError, load_catalog, normalize_name, parse_catalog
from shared.catalog.loader import DEFAULT_PATH


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture(scope="module")
def pristine_document():
    return yaml.load(DEFAULT_PATH.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)


@pytest.fixture()
def document(pristine_document):
    return copy.deepcopy(pristine_document)


def _vendor(document, vendor_id):
    return next(v for v in document["vendors"] if v["id"] == vendor_id)


def test_packaged_catalog_is_large_and_covers_both_platforms(catalog):
    assert len(catalog.vendors) >= 150
    assert {p.id for p in catalog.platforms} == {"stripe", "paddle"}
    platforms = {v.platform for v in catalog.vendors}
    assert {"stripe", "paddle", None} <= platforms


def test_every_platform_billed_vendor_has_a_merchant_name(catalog):
    for vendor in catalog.vendors:
        if vendor.platform:
            assert vendor.merchant_names, vendor.id


def test_every_vendor_can_be_found_by_each_of_its_senders(catalog):
    for vendor in catalog.vendors:
        for address in vendor.billing_senders:
            assert catalog.vendor_for_sender(address.upper()) is vendor


@pytest.mark.parametrize(
    ("address", "vendor_id"),
    [
        ("billing@zoom.us", "zoom"),
        ("Feedback@Slack.com", "slack"),
        ("no_reply@am.atlassian.com", "atlassian"),
        ("payments-noreply@google.com", "google-workspace"),
        ("invoicing@aws.com", "aws"),
        ("billing@box.com", "box"),
        ("noreply@github.com", "github"),
    ],
)
def test_vendor_for_sender_finds_known_billing_senders(catalog, address, vendor_id):
    assert catalog.vendor_for_sender(address).id == vendor_id


@pytest.mark.parametrize(
    "address", ["someone@example.com", "receipts+acct_1@stripe.com", "help@paddle.com", "", "x"]
)
def test_vendor_for_sender_ignores_unknown_and_platform_senders(catalog, address):
    assert catalog.vendor_for_sender(address) is None


@pytest.mark.parametrize(
    ("address", "platform_id"),
    [
        ("receipts+acct_1NqXyZ@stripe.com", "stripe"),
        ("invoice+statements+acct_9@stripe.com", "stripe"),
        ("HELP@PADDLE.COM", "paddle"),
    ],
)
def test_platform_for_sender(catalog, address, platform_id):
    assert catalog.platform_for_sender(address).id == platform_id


def test_platform_for_sender_is_none_for_vendors_and_lookalikes(catalog):
    assert catalog.platform_for_sender("billing@zoom.us") is None
    assert catalog.platform_for_sender("receipts+acct_1@stripe.com.evil.net") is None


@pytest.mark.parametrize(
    ("merchant", "vendor_id"),
    [
        ("Figma", "figma"),
        ("Figma, Inc.", "figma"),
        ("FIGMA INC", "figma"),
        ("OpenAI, LLC", "openai"),
        ("Notion Labs, Inc.", "notion"),
        ("Anysphere, Inc.", "cursor"),
        ("Plausible Insights OÜ", "plausible"),
    ],
)
def test_vendor_for_merchant_is_case_and_punctuation_insensitive(catalog, merchant, vendor_id):
    assert catalog.vendor_for_merchant(merchant).id == vendor_id


def test_vendor_for_merchant_unknown(catalog):
    assert catalog.vendor_for_merchant("Acme Widgets") is None


def test_vendor_for_app_prefers_app_id_then_display_name(catalog):
    assert catalog.vendor_for_app("1fec8e78-bce4-4aaf-ab1b-5451cc387264", "Slack").id == (
        "microsoft-365"
    )
    assert catalog.vendor_for_app(None, "atlassian cloud").id == "atlassian"
    assert catalog.vendor_for_app("00000000-0000-0000-0000-000000000000", "Zoom").id == "zoom"
    assert catalog.vendor_for_app(None, "Unknown App") is None
    assert catalog.vendor_for_app(None, None) is None


def test_vendor_lookup_by_id(catalog):
    assert catalog.vendor("figma").name == "Figma"
    with pytest.raises(KeyError):
        catalog.vendor("no-such-vendor")


def test_subject_patterns_compile_and_vendors_are_frozen(catalog):
    for vendor in catalog.vendors:
        for pattern in vendor.subject_patterns:
            re.compile(pattern)
    with pytest.raises(AttributeError):
        catalog.vendors[0].name = "changed"


def test_normalize_name_drops_legal_suffixes_but_keeps_single_words():
    assert normalize_name("Figma, Inc.") == "figma"
    assert normalize_name("Tower AS") == "tower"
    assert normalize_name("Inc") == "inc"
    assert normalize_name("Société Générale SA") == "societegenerale"


# --- validation -------------------------------------------------------------------------------


def _expect_error(document, *fragments):
    with pytest.raises(CatalogError) as caught:
        parse_catalog(document)
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_duplicate_sender_between_vendors_is_refused(document):
    _vendor(document, "box")["billing_senders"] = ["billing@zoom.us"]
    _expect_error(document, "billing@zoom.us", "box", "zoom")


def test_sender_covered_by_another_vendors_domain_is_refused(document):
    _vendor(document, "box")["billing_sender_domains"] = ["zoom.us"]
    _expect_error(document, "billing@zoom.us", "box", "zoom")


def test_platform_billed_vendors_may_share_a_sender(document):
    for vendor_id in ("figma", "notion"):
        _vendor(document, vendor_id)["billing_senders"] = ["invoice+statements@mail.shared.com"]
    catalog = parse_catalog(document)
    shared = catalog.vendors_for_sender("invoice+statements@mail.shared.com")
    assert {v.id for v in shared} == {"figma", "notion"}
    assert catalog.vendor_for_sender("invoice+statements@mail.shared.com") is None


def test_unknown_platform_is_refused(document):
    _vendor(document, "figma")["platform"] = "fastspring"
    _expect_error(document, "vendor figma", "unknown platform 'fastspring'")


def test_bad_subject_regex_is_refused(document):
    _vendor(document, "github")["subject_patterns"] = ["(unclosed"]
    _expect_error(document, "vendor github", "(unclosed", "does not compile")


@pytest.mark.parametrize(
    ("mutate", "fragments"),
    [
        (lambda d: d["vendors"].append(copy.deepcopy(d["vendors"][0])), ["vendor id 'slack'"]),
        (lambda d: _vendor(d, "box").update(name="ZOOM"), ["vendor name", "box", "zoom"]),
        (lambda d: _vendor(d, "box").update(category="misc"), ["unknown category 'misc'"]),
        (lambda d: _vendor(d, "box").update(id="Box Inc"), ["lower-case slug"]),
        (lambda d: _vendor(d, "box").update(billing_senders=["Billing@box.com"]), ["lower-case"]),
        (lambda d: _vendor(d, "box").update(billing_senders=["not-an-address"]), ["email"]),
        (lambda d: _vendor(d, "box").update(colour="blue"), ["unknown field", "colour"]),
        (lambda d: _vendor(d, "box").pop("domain"), ["'domain' is required"]),
        (lambda d: _vendor(d, "box").update(billing_senders=["help@paddle.com"]), ["paddle"]),
        (lambda d: _vendor(d, "notion").update(merchant_names=["Figma Inc"]), ["merchant name"]),
        (lambda d: _vendor(d, "box").update(entra_apps=["Slack"]), ["Entra app display name"]),
        (lambda d: _vendor(d, "box").update(entra_apps=[{"app_id": "nope", "display_name": "B"}]),
         ["GUID"]),
        (lambda d: d["platforms"].append(copy.deepcopy(d["platforms"][0])), ["duplicate platform"]),
        (lambda d: d.pop("platforms"), ["'platforms' and 'vendors'"]),
    ],
)
def test_invalid_catalogs_fail_with_a_clear_message(document, mutate, fragments):
    mutate(document)
    _expect_error(document, *fragments)


def test_load_catalog_reports_missing_and_malformed_files(tmp_path):
    with pytest.raises(CatalogError, match="cannot read catalog"):
        load_catalog(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("vendors: [unclosed", encoding="utf-8")
    with pytest.raises(CatalogError, match="not valid YAML"):
        load_catalog(broken)
