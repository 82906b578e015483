"""The classifier against the simulated tenant's mail (tests.m365sim, written independently
from the same notes): every billing message in the ground truth is found with its vendor and
kind, and nothing else in the mailboxes is taken for billing mail."""

import pytest

from services.email_scan.classify import Classifier
from services.email_scan.sender_filter import is_catalog_sender
from shared.catalog import load_catalog
from tests.m365sim.world import World

BILLING_KINDS = {"receipt", "renewal", "payment_failed", "signup"}


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.mark.parametrize("seed", [1, 2])
def test_simulated_mailboxes_are_classified_as_the_ground_truth_says(catalog, seed):
    classifier = Classifier(catalog)
    world = World(seed=seed, profile="small", catalog=catalog)
    checked_billing = 0
    for tenant in world.tenants:
        truth = {b["message_id"]: b for b in tenant.mail.truth()["billing_messages"]}
        assert truth, f"tenant {tenant.name} has no billing mail to check"
        for user in tenant.directory.active_users():
            for message in tenant.mail.mailbox(user):
                result = classifier.classify(message.sender_address, message.subject)
                expected = truth.get(message.id)
                if expected is None:
                    assert result.kind not in BILLING_KINDS, message.subject
                    continue
                checked_billing += 1
                assert is_catalog_sender(catalog, message.sender_address)
                assert (result.vendor_id, result.kind) == (
                    expected["vendor_id"], expected["class"]
                ), message.subject
    assert checked_billing > 50
