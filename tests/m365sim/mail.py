"""Mailboxes of one tenant: planned vendor mail plus ordinary mail generated lazily per mailbox
(bounded cache), so the bench profile's 50,000 mailboxes cost memory only when read."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import timedelta

from tests.m365sim.billing_plan import BillingPlanner, Planned
from tests.m365sim.directory import SimUser
from tests.m365sim.invoice_pdf import render_invoice
from tests.m365sim.mail_text import INVOICE_WORDS
from tests.m365sim.messages import (
    ORDINARY,
    PLANNED,
    SimAttachment,
    SimMessage,
    attachment_id,
    message_id,
)
from tests.m365sim.people import ORDINARY_DOMAINS, ORDINARY_SUBJECTS
from tests.m365sim.rand import rng_for

MAILBOX_CACHE = 512
_BODIES = {
    "billing": "Thank you for your payment. Your invoice is attached.",
    "vendor_other": "Here is what changed in your account this week.",
    "platform_unknown": "Receipt for your purchase.",
}


class MailPlan:
    def __init__(self, world, tenant):
        self.world, self.tenant = world, tenant
        planner = BillingPlanner(world, tenant).plan()
        self.subscriptions = planner.subscriptions
        self._planned: dict[int, list[tuple[int, Planned]]] = {}
        for slot, planned in enumerate(sorted(planner.messages,
                                              key=lambda p: (p.received, p.subject))):
            self._planned.setdefault(planned.recipient_index, []).append((slot, planned))
        self._cache: OrderedDict[int, tuple[list[SimMessage], dict[str, SimMessage]]] = \
            OrderedDict()
        self._lock = threading.Lock()  # the server reads mailboxes from many threads

    def _ordinary_count(self, user: SimUser) -> int:
        base = self.world.profile.ordinary_mail_per_mailbox
        return max(0, base + rng_for(self.world.seed, self.tenant.key, user.index, "count")
                   .randint(-2, 2))

    def _message_id(self, user: SimUser, kind: int, slot: int) -> str:
        return message_id(self.world.seed, self.tenant.index, user.index, kind, slot)

    def _planned_message(self, user: SimUser, slot: int, planned: Planned) -> SimMessage:
        identifier = self._message_id(user, PLANNED, slot)
        attachments = []
        if planned.has_pdf and planned.invoice is not None:
            facts = planned.invoice
            word = INVOICE_WORDS[facts.language]["invoice"]
            attachments.append(SimAttachment(
                attachment_id(identifier, 0), f"{word}-{facts.invoice_number}.pdf",
                "application/pdf", planned.received, lambda f=facts: render_invoice(f)))
        return SimMessage(identifier, planned.received, planned.subject, planned.sender_name,
                          planned.sender_address, user.display_name, user.user_principal_name,
                          _BODIES[planned.category], is_read=slot % 3 != 0,
                          attachments=attachments)

    def _ordinary_messages(self, user: SimUser) -> list[SimMessage]:
        rng = rng_for(self.world.seed, self.tenant.key, user.index, "ordinary")
        colleagues = self.tenant.directory.users
        span = int((self.world.anchor - self.world.mail_start).total_seconds())
        messages = []
        for slot in range(self._ordinary_count(user)):
            if rng.random() < 0.6 and len(colleagues) > 1:
                other = colleagues[rng.randrange(min(len(colleagues), 2000))]
                name, address = other.display_name, other.user_principal_name
            else:
                name = "Customer contact"
                address = f"contact{rng.randint(1, 99)}@{rng.choice(ORDINARY_DOMAINS)}"
            subject = rng.choice(ORDINARY_SUBJECTS).format(q=rng.randint(1, 4),
                                                           n=rng.randint(2, 9))
            received = self.world.mail_start + timedelta(seconds=rng.randrange(span))
            messages.append(SimMessage(self._message_id(user, ORDINARY, slot), received, subject,
                                       name, address, user.display_name,
                                       user.user_principal_name,
                                       "Hi, see my notes below. Best regards.",
                                       is_read=rng.random() < 0.8))
        return messages

    def _load(self, user: SimUser) -> tuple[list[SimMessage], dict[str, SimMessage]]:
        with self._lock:
            cached = self._cache.get(user.index)
            if cached is not None:
                self._cache.move_to_end(user.index)
                return cached
        messages = self._ordinary_messages(user) + [
            self._planned_message(user, slot, planned)
            for slot, planned in self._planned.get(user.index, [])]
        messages.sort(key=lambda m: (m.received, m.id), reverse=True)
        loaded = (messages, {m.id: m for m in messages})
        with self._lock:
            loaded = self._cache.setdefault(user.index, loaded)
            if len(self._cache) > MAILBOX_CACHE:
                self._cache.popitem(last=False)
        return loaded

    def mailbox(self, user: SimUser) -> list[SimMessage]:
        """The user's messages, newest first."""
        return self._load(user)[0]

    def find(self, user: SimUser, identifier: str) -> SimMessage | None:
        return self._load(user)[1].get(identifier)

    def truth(self) -> dict:
        directory = self.tenant.directory
        active = {u.index for u in directory.active_users()}
        billing, invoices, spend = [], [], {}
        counts = {"vendor_non_billing_messages": 0, "platform_unknown_merchant_messages": 0}
        for index, entries in sorted(self._planned.items()):
            if index not in active:
                continue
            user = directory.users[index]
            for slot, planned in entries:
                identifier = self._message_id(user, PLANNED, slot)
                if planned.category == "vendor_other":
                    counts["vendor_non_billing_messages"] += 1
                    continue
                if planned.category == "platform_unknown":
                    counts["platform_unknown_merchant_messages"] += 1
                    continue
                billing.append({
                    "mailbox_user_id": user.id, "message_id": identifier,
                    "vendor_id": planned.vendor_id, "class": planned.billing_class,
                    "received": planned.received.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "sender": planned.sender_address, "subject": planned.subject,
                    "has_pdf": planned.has_pdf, "amount_in_subject": planned.amount_in_subject})
                if planned.invoice is None:
                    continue
                facts = planned.invoice
                invoices.append({
                    "mailbox_user_id": user.id, "message_id": identifier,
                    "attachment_id": attachment_id(identifier, 0) if planned.has_pdf else None,
                    "vendor_id": planned.vendor_id, "total_minor": facts.total_minor,
                    "subtotal_minor": facts.subtotal_minor, "tax_minor": facts.tax_minor,
                    "currency": facts.currency, "invoice_date": facts.invoice_date.isoformat(),
                    "invoice_number": facts.invoice_number,
                    "period_start": facts.period_start.isoformat(),
                    "period_end": facts.period_end.isoformat(), "language": facts.language,
                    "amount_in_subject": planned.amount_in_subject})
                per_vendor = spend.setdefault(planned.vendor_id, {})
                per_vendor[facts.currency] = per_vendor.get(facts.currency, 0) + facts.total_minor
        counts["non_vendor_messages"] = sum(self._ordinary_count(directory.users[i])
                                            for i in sorted(active))
        subscriptions = [{
            "vendor_id": s.vendor.id, "cycle": s.cycle, "seats": s.seats,
            "currency": s.currency, "unit_minor": s.unit_minor,
            "next_renewal": s.next_renewal.isoformat(),
            "billing_owner_id": directory.users[s.owner_index].id,
        } for s in self.subscriptions]
        return {"billing_messages": billing, "invoices": invoices,
                "spend": {k: spend[k] for k in sorted(spend)}, "subscriptions": subscriptions,
                **counts}
