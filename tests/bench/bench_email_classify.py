"""Billing-email classification: messages per second, and precision/recall on a labelled mix.

The mix is built from the catalog: every vendor's billing sender (or its platform's sender
with the merchant in the subject) with subjects of every kind in seven languages, plus mail
the scan must drop (unknown Stripe merchants, ordinary correspondents). Labels come from how
each message was built.

A second labelled set is the simulated tenant's own mail (tests.m365sim, written by another
engineer from the same notes): every message in every mailbox of the "small" world for a few
seeds, labelled by the simulator's ground truth. It is the more honest accuracy figure, since
the classifier's vocabulary was not written from the first set's templates alone.

The baseline, measured in the same run on the same messages, is the obvious first attempt:
a sender-to-vendor dict, lower-casing, and `in` checks for a short keyword list per kind. Its
throughput shows what the regex vocabulary costs; its precision/recall what it buys.
"""

from __future__ import annotations

import random
import time

from services.email_scan.classify import Classifier
from shared.catalog import Catalog, load_catalog

FULL_MESSAGES = 100_000
QUICK_MESSAGES = 10_000
REPEATS = 3
BILLING_KINDS = ("receipt", "renewal", "payment_failed", "signup")

# {v} is the vendor's name, {n} a number. One list per kind, mixed languages.
TEMPLATES = {
    "receipt": [
        "Your {v} invoice #{n}", "Receipt for your {v} subscription", "{v}: payment received",
        "Din faktura fra {v} ({n})", "Kvittering for dit {v}-abonnement",
        "Ihre Rechnung {n} von {v}", "Zahlungsbestätigung – {v}", "Votre facture {v} n° {n}",
        "Reçu de paiement {v}", "Uw factuur {n} van {v}", "Betalingsbevestiging {v}",
        "Tu factura de {v} ({n})", "Recibo de pago {v}", "Din faktura från {v}",
        "Kvitto för {v} #{n}",
    ],
    "renewal": [
        "Your {v} subscription renews on March {d}", "Upcoming renewal: {v}",
        "Dit {v}-abonnement fornyes snart", "Ihr {v}-Abonnement wird verlängert",
        "Renouvellement de votre abonnement {v}", "Uw {v}-abonnement wordt verlengd",
        "Tu suscripción a {v} se renovará pronto", "Ditt {v}-abonnemang förnyas",
    ],
    "payment_failed": [
        "{v}: your payment failed", "Payment declined for your {v} plan",
        "Betalingen til {v} mislykkedes", "Zahlung an {v} fehlgeschlagen",
        "Échec du paiement pour {v}", "Betaling voor {v} is mislukt",
        "Pago rechazado: {v}", "Betalningen till {v} misslyckades",
    ],
    "signup": [
        "Welcome to {v}!", "Your {v} trial has started", "Velkommen til {v}",
        "Willkommen bei {v}", "Bienvenue sur {v}", "Welkom bij {v}", "Bienvenido a {v}",
        "Välkommen till {v}",
    ],
    "other": [
        "What's new in {v} this month", "{v} security alert: new sign-in",
        "Your {v} invoice settings changed", "Webinar: getting more from {v}",
        "{v} product update: invoices get a new look", "Neuigkeiten von {v}",
        "Nouveautés {v} : facturation simplifiée", "Nieuwsbrief {v}", "Novedades de {v}",
        "Nyhetsbrev från {v}", "Din adgangskode til {v} er ændret",
    ],
}
PLATFORM_TEMPLATES = {
    "receipt": ["Your receipt from {m} #{n}", "Ihre Quittung von {m} [#{n}]",
                "Votre reçu de {m} n° {n}", "Din kvittering fra {m} #{n}",
                "Uw ontvangstbewijs van {m} #{n}", "Tu recibo de {m} n.º {n}",
                "Ditt kvitto från {m} #{n}"],
    "renewal": ["Upcoming invoice from {m}"],
    "payment_failed": ["Your payment to {m} was unsuccessful"],
}
UNKNOWN_MERCHANTS = ("Acme Bakery", "Kaffebaren ApS", "Stadtwerke Nord GmbH", "Studio Lumière",
                     "Bakkerij de Molen", "Librería Central", "Fjällstugan AB")
ORDINARY = ("Re: Q3 planning", "Invoice 2026-{n} from Nordlys Consulting", "Lunch on Friday?",
            "Faktura {n} – kontorartikler", "Ihre Rechnung vom Stadtwerk",
            "Welcome to the team!", "Reunión del equipo", "Fwd: receipt for the offsite")


def run(ctx) -> list[dict]:
    catalog = load_catalog()
    messages = build_mix(catalog, QUICK_MESSAGES if ctx.quick else FULL_MESSAGES)
    ours = Classifier(catalog)
    naive = _NaiveClassifier(catalog)
    ours_rate = _best_rate(ours.classify, messages)
    naive_rate = _best_rate(naive.classify, messages)
    ours_p, ours_r = _precision_recall(ours.classify, messages)
    naive_p, naive_r = _precision_recall(naive.classify, messages)
    simulated = simulated_mail(catalog, seeds=(1,) if ctx.quick else (1, 2, 3, 4, 5))
    sim_p, sim_r = _precision_recall(ours.classify, simulated)
    naive_sim_p, naive_sim_r = _precision_recall(naive.classify, simulated)
    return [
        _entry("email_classify.messages_per_s", ours_rate, naive_rate, "messages/s"),
        _entry("email_classify.precision", ours_p, naive_p, "fraction"),
        _entry("email_classify.recall", ours_r, naive_r, "fraction"),
        _entry("email_classify.simulated_mail_precision", sim_p, naive_sim_p, "fraction"),
        _entry("email_classify.simulated_mail_recall", sim_r, naive_sim_r, "fraction"),
        _entry("email_classify.simulated_mail_messages", len(simulated), None, "messages"),
        _entry("email_classify.build_classifier_ms", _build_ms(catalog), None, "ms"),
    ]


def simulated_mail(catalog: Catalog, seeds: tuple[int, ...]) -> list[tuple]:
    """Every message of the simulated tenants, labelled from the simulator's ground truth;
    mail the truth does not list as billing is labelled "none" (must not be kept)."""
    from tests.m365sim.world import World  # the simulator is only needed for this figure

    labelled = []
    for seed in seeds:
        world = World(seed=seed, profile="small", catalog=catalog)
        for tenant in world.tenants:
            truth = {b["message_id"]: b for b in tenant.mail.truth()["billing_messages"]}
            for user in tenant.directory.active_users():
                for message in tenant.mail.mailbox(user):
                    billing = truth.get(message.id)
                    labelled.append((
                        message.sender_address, message.subject,
                        billing["vendor_id"] if billing else None,
                        billing["class"] if billing else "none",
                    ))
    return labelled


def build_mix(catalog: Catalog, count: int) -> list[tuple[str, str, str | None, str]]:
    """(sender, subject, true vendor id, true kind): 75% catalog vendor mail, the rest mail
    that must come out as not_vendor."""
    rng = random.Random(20261204)
    stripe = next(p for p in catalog.platforms if p.id == "stripe")
    paddle = next(p for p in catalog.platforms if p.id == "paddle")
    vendors = [v for v in catalog.vendors if v.billing_senders or v.platform]
    mix = []
    for _ in range(count):
        n, day = f"{rng.randrange(1000, 9999)}-{rng.randrange(1000, 9999)}", rng.randrange(1, 28)
        roll = rng.random()
        if roll < 0.75:
            vendor = rng.choice(vendors)
            if vendor.platform:
                kind = rng.choice(list(PLATFORM_TEMPLATES))
                template = rng.choice(PLATFORM_TEMPLATES[kind])
                subject = template.format(m=rng.choice(vendor.merchant_names), n=n)
                sender = _platform_sender(stripe if vendor.platform == "stripe" else paddle, rng)
            else:
                kind = rng.choice(list(TEMPLATES))
                subject = rng.choice(TEMPLATES[kind]).format(v=vendor.name, n=n, d=day)
                sender = rng.choice(vendor.billing_senders)
            mix.append((sender, subject, vendor.id, kind))
        elif roll < 0.85:
            subject = rng.choice(PLATFORM_TEMPLATES["receipt"]).format(
                m=rng.choice(UNKNOWN_MERCHANTS), n=n
            )
            mix.append((_platform_sender(stripe, rng), subject, None, "not_vendor"))
        else:
            sender = f"person{rng.randrange(500)}@nordlys-consulting.example"
            mix.append((sender, rng.choice(ORDINARY).format(n=n), None, "not_vendor"))
    return mix


def _platform_sender(platform, rng: random.Random) -> str:
    if platform.sender_addresses:
        return rng.choice(platform.sender_addresses)
    account = "".join(rng.choice("abcdefghijkmnopqrstuvwxyzABCDEFGH23456789") for _ in range(14))
    return f"{rng.choice(platform.sender_prefixes)}acct_{account}@{platform.sender_domains[0]}"


class _NaiveClassifier:
    """The baseline: exact sender lookup, and keyword `in` checks on the lower-cased subject."""

    KEYWORDS = {
        "payment_failed": ("payment failed", "declined", "fehlgeschlagen", "échec", "mislukt",
                           "mislykkedes", "misslyckades", "rechazado"),
        "renewal": ("renew", "fornye", "verlänger", "renouvel", "verleng", "renova", "förny"),
        "receipt": ("receipt", "invoice", "faktura", "kvittering", "rechnung", "quittung",
                    "facture", "reçu", "factuur", "ontvangstbewijs", "factura", "recibo",
                    "kvitto"),
        "signup": ("welcome", "trial", "velkommen", "willkommen", "bienvenue", "welkom",
                   "bienvenido", "välkommen"),
    }

    def __init__(self, catalog: Catalog) -> None:
        self.by_sender = {a: v.id for v in catalog.vendors for a in v.billing_senders}
        self.merchants = {m.lower(): v.id for v in catalog.vendors for m in v.merchant_names}
        self.platform_domains = {d for p in catalog.platforms for d in p.sender_domains}
        self.platform_domains |= {a for p in catalog.platforms for a in p.sender_addresses}

    def classify(self, sender: str, subject: str):
        lowered = subject.lower()
        vendor_id = self.by_sender.get(sender)
        if vendor_id is None and (sender in self.platform_domains
                                  or sender.rpartition("@")[2] in self.platform_domains):
            vendor_id = next((v for m, v in self.merchants.items() if m in lowered), None)
        if vendor_id is None:
            return _Result(None, "not_vendor")
        for kind, words in self.KEYWORDS.items():
            if any(word in lowered for word in words):
                return _Result(vendor_id, kind)
        return _Result(vendor_id, "other")


class _Result:
    __slots__ = ("vendor_id", "kind")

    def __init__(self, vendor_id, kind):
        self.vendor_id, self.kind = vendor_id, kind


def _precision_recall(classify, messages) -> tuple[float, float]:
    """Over billing kinds: a true positive is the right vendor and the right kind; a kept
    message with a wrong vendor or kind is a false positive."""
    true_pos = false_pos = false_neg = 0
    for sender, subject, vendor_id, kind in messages:
        result = classify(sender, subject)
        predicted = result.kind in BILLING_KINDS
        actual = kind in BILLING_KINDS
        correct = result.vendor_id == vendor_id and result.kind == kind
        if predicted and actual and correct:
            true_pos += 1
        else:
            false_pos += predicted
            false_neg += actual
    return true_pos / max(true_pos + false_pos, 1), true_pos / max(true_pos + false_neg, 1)


def _best_rate(classify, messages) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        for sender, subject, _vendor, _kind in messages:
            classify(sender, subject)
        best = min(best, time.perf_counter() - started)
    return len(messages) / best


def _build_ms(catalog: Catalog) -> float:
    started = time.perf_counter()
    Classifier(catalog)
    return (time.perf_counter() - started) * 1000


def _entry(name: str, value: float, baseline: float | None, unit: str) -> dict:
    ratio = value / baseline if baseline else None
    return {"name": name, "value": value, "unit": unit, "baseline": baseline, "ratio": ratio}
