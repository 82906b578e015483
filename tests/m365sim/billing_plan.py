"""What vendors mail a tenant over ~6 months: the subscriptions it pays for (receipts, invoices
with PDFs, renewals, failed payments, trial sign-ups), vendor mail that is not billing, and
platform receipts from merchants outside the catalog. Planned once per tenant; every planned
message knows its recipient, so mailboxes can be generated lazily."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from shared.catalog import Vendor
from tests.m365sim import mail_text as text
from tests.m365sim.invoice_pdf import InvoiceFacts
from tests.m365sim.rand import rng_for

FIXED_TEMPLATE_VENDORS = ("microsoft-365", "github", "google-workspace", "atlassian", "aws")
LOCAL_CURRENCY = {"da": "DKK", "sv": "SEK", "de": "EUR", "fr": "EUR", "nl": "EUR", "es": "EUR"}
TAX_PERCENT = {"DKK": 25, "SEK": 25, "GBP": 20, "USD": 0}
EUR_TAX_BY_LANGUAGE = {"de": 19, "fr": 20, "nl": 21, "es": 21}
# Whole-unit price multipliers from a USD list price, so local prices look local.
PRICE_FACTOR = {"USD": 1.0, "EUR": 1.0, "GBP": 0.8, "DKK": 7.0, "SEK": 10.0}
BILLING_OWNER_DEPARTMENTS = {"Finance", "IT", "Operations"}


@dataclass(frozen=True)
class Planned:
    recipient_index: int
    received: datetime
    sender_name: str
    sender_address: str
    subject: str
    category: str  # billing | vendor_other | platform_unknown
    billing_class: str | None  # receipt | renewal | payment_failed | signup
    vendor_id: str | None
    invoice: InvoiceFacts | None = None
    has_pdf: bool = False
    amount_in_subject: bool = False


@dataclass(frozen=True)
class Subscription:
    vendor: Vendor
    owner_index: int
    language: str
    currency: str
    cycle: str  # monthly | annual
    seats: int
    unit_minor: int
    tax_percent: int
    sender_name: str
    sender_address: str
    start: date
    next_renewal: date


def _own_sender(vendor: Vendor) -> str | None:
    if vendor.billing_senders:
        return vendor.billing_senders[0]
    if vendor.billing_sender_domains:
        return f"billing@{vendor.billing_sender_domains[0]}"
    return None


def _stripe_account(rng: random.Random) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "acct_" + "".join(rng.choice(alphabet) for _ in range(16))


def _sender(rng: random.Random, vendor: Vendor) -> tuple[str, str] | None:
    if vendor.platform == "stripe":
        merchant = vendor.merchant_names[0] if vendor.merchant_names else vendor.name
        return merchant, f"receipts+{_stripe_account(rng)}@stripe.com"
    if vendor.platform == "paddle":
        return f"{vendor.name} (via Paddle)", "help@paddle.com"
    own = _own_sender(vendor)
    return (vendor.name, own) if own else None


def add_years(day: date, years: int) -> date:
    """Same day `years` later; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, 28))


class BillingPlanner:
    def __init__(self, world, tenant):
        self.world, self.tenant = world, tenant
        self.rng = rng_for(world.seed, tenant.key, "billing")
        self.start, self.anchor = world.mail_start, world.anchor
        self.users = tenant.directory.active_users()[:2000]  # mail goes to a bounded set
        self.messages: list[Planned] = []
        self.subscriptions: list[Subscription] = []
        self._numbers: dict[str, int] = {}

    # --- choosing what the tenant pays for -----------------------------------------------------
    def plan(self) -> BillingPlanner:
        catalog = self.world.catalog
        count = self.world.profile.subscriptions_per_tenant
        can_send = [v for v in sorted(catalog.vendors, key=lambda v: v.id)
                    if v.platform in ("stripe", "paddle") or _own_sender(v)]
        by_id = {v.id: v for v in can_send}
        chosen = [by_id[i] for i in FIXED_TEMPLATE_VENDORS if i in by_id][:max(3, count // 4)]
        for platform in ("stripe", "stripe", "paddle"):
            options = [v for v in can_send if v.platform == platform and v not in chosen]
            if options:
                chosen.append(self.rng.choice(options))
        in_use = {a.vendor_id for a in self.tenant.signins.apps}
        rest = [v for v in can_send if v not in chosen]
        self.rng.shuffle(rest)
        rest.sort(key=lambda v: v.id not in in_use)  # vendors seen in sign-ins first
        chosen += rest[:max(0, count - len(chosen))]
        for vendor in chosen[:count]:
            self._subscribe(vendor)
        self._unknown_merchants()
        self._vendor_notices(can_send)
        self._abandoned_trials(can_send)
        return self

    def _owner(self) -> int:
        owners = [u for u in self.users if u.department in BILLING_OWNER_DEPARTMENTS]
        return self.rng.choice(owners or self.users).index

    def _subscribe(self, vendor: Vendor) -> None:
        rng = self.rng
        sender = _sender(rng, vendor)
        if sender is None:
            return
        owner = self.tenant.directory.users[self._owner()]
        local = owner.preferred_language[:2]
        language = local if vendor.id not in FIXED_TEMPLATE_VENDORS and rng.random() < 0.6 \
            else "en"
        if language == "en":
            currency = "GBP" if owner.office_location == "London" and rng.random() < 0.5 \
                else "USD"
        else:
            currency = LOCAL_CURRENCY[language] if rng.random() < 0.6 else "USD"
        tax = TAX_PERCENT[currency] if currency in TAX_PERCENT else \
            EUR_TAX_BY_LANGUAGE.get(language, 21)
        list_price = rng.choice((6, 8, 10, 12, 15, 20, 25, 30, 45))
        unit_minor = round(list_price * PRICE_FACTOR[currency]) * 100 - (
            1 if rng.random() < 0.3 else 0)
        cycle = "annual" if rng.random() < 0.25 else "monthly"
        if cycle == "annual":
            unit_minor *= 10
        seats = rng.randint(2, max(2, min(40, len(self.users))))
        window_days = (self.anchor - self.start).days
        if cycle == "monthly":
            started_inside = rng.random() < 0.3
            offset = rng.randint(20, window_days - 40) if started_inside else -rng.randint(40, 900)
            start = (self.start + timedelta(days=offset)).date()
            next_renewal = start
            while next_renewal < self.anchor.date():
                next_renewal = _add_months(next_renewal, 1)
        else:
            charged_inside = rng.random() < 0.5
            renewal = (self.anchor + timedelta(days=rng.randint(5, 40))).date()
            start = (self.start + timedelta(days=rng.randint(10, window_days - 5))).date() \
                if charged_inside else add_years(renewal, -1)
            next_renewal = add_years(start, 1) if charged_inside \
                else renewal
        sub = Subscription(vendor, owner.index, language, currency, cycle, seats, unit_minor,
                           tax, sender[0], sender[1], start, next_renewal)
        self.subscriptions.append(sub)
        self._mail_subscription(sub)

    # --- the mail a subscription produces ------------------------------------------------------
    def _at(self, day: date, hour: int | None = None) -> datetime:
        moment = datetime.combine(day, datetime.min.time(), tzinfo=self.anchor.tzinfo)
        return moment + timedelta(hours=hour if hour is not None else self.rng.randint(1, 22),
                                  minutes=self.rng.randrange(60), seconds=self.rng.randrange(60))

    def _inside(self, moment: datetime) -> bool:
        return self.start <= moment < self.anchor

    def _mail_subscription(self, sub: Subscription) -> None:
        charges = []
        if sub.cycle == "monthly":
            day = sub.start
            while day < self.anchor.date():
                charges.append(day)
                day = _add_months(day, 1)
        elif sub.start >= self.start.date():
            charges.append(sub.start)
        first_charge_inside = charges and sub.start >= self.start.date()
        if first_charge_inside:
            self._signup(sub.vendor, sub.owner_index, sub.language, sub.start - timedelta(days=14))
        for day in charges:
            if not self._inside(self._at(day, 0)):
                continue
            if self.rng.random() < 0.07:
                self._add(sub, day, "payment_failed",
                          text.PAYMENT_FAILED[sub.language].format(vendor=sub.vendor.name))
                day = day + timedelta(days=3)
            self._receipt(sub, day)
        renewal_notice = sub.next_renewal - timedelta(days=30 if sub.cycle == "annual" else 7)
        if (sub.cycle == "annual" or self.rng.random() < 0.2) and \
                self._inside(self._at(renewal_notice, 0)):
            subject = text.RENEWAL[sub.language].format(
                vendor=sub.vendor.name, date=text.format_date(sub.next_renewal, sub.language))
            self._add(sub, renewal_notice, "renewal", subject)

    def _add(self, sub: Subscription, day: date, billing_class: str, subject: str, **extra
             ) -> None:
        sender_name, sender_address = sub.sender_name, sub.sender_address
        if sub.vendor.platform and billing_class != "receipt":
            own = _own_sender(sub.vendor)  # platforms send receipts; notices come from the vendor
            if own is None:
                return
            sender_name, sender_address = sub.vendor.name, own
        self.messages.append(Planned(sub.owner_index, self._at(day), sender_name,
                                     sender_address, subject, "billing", billing_class,
                                     sub.vendor.id, **extra))

    def _invoice_number(self, vendor: Vendor, day: date) -> str:
        self._numbers[vendor.id] = self._numbers.get(vendor.id, self.rng.randint(1000, 9000)) + 1
        n = self._numbers[vendor.id]
        formats = {"atlassian": f"AT-{self.rng.randint(10**8, 10**9 - 1)}",
                   "microsoft-365": f"G{self.rng.randint(10**8, 10**9 - 1)}",
                   "google-workspace": f"{self.rng.randint(10**9, 10**10 - 1)}"}
        if vendor.id in formats:
            return formats[vendor.id]
        if vendor.platform == "stripe":
            return f"{vendor.id[:4].upper()}{self.rng.randint(1000, 9999)}-{n:04d}"
        return f"INV-{day.year}-{n:05d}"

    def _receipt(self, sub: Subscription, day: date) -> None:
        rng, vendor = self.rng, sub.vendor
        number = self._invoice_number(vendor, day)
        period_end = (_add_months(day, 1) if sub.cycle == "monthly"
                      else add_years(day, 1)) - timedelta(days=1)
        subtotal = sub.unit_minor * sub.seats
        tax = round(subtotal * sub.tax_percent / 100)
        facts = InvoiceFacts(
            vendor_name=vendor.name, vendor_address=f"{vendor.name} - {vendor.domain}",
            customer_name=self.tenant.name, customer_address=self.tenant.domain,
            invoice_number=number, invoice_date=day, period_start=day, period_end=period_end,
            currency=sub.currency, description=f"{vendor.name} {sub.cycle} subscription",
            quantity=sub.seats, unit_minor=sub.unit_minor, subtotal_minor=subtotal,
            tax_rate_percent=sub.tax_percent, tax_minor=tax, total_minor=subtotal + tax,
            language=sub.language, layout=rng.randrange(3))
        amount = text.format_money(subtotal + tax, sub.currency, sub.language)
        in_subject = False
        if vendor.id in text.VENDOR_RECEIPT:
            subject = text.VENDOR_RECEIPT[vendor.id].format(
                domain=self.tenant.domain, org=self.tenant.name.replace(" ", "-"),
                digits=number.split("-")[-1], number=number,
                account=f"{rng.randint(10**11, 10**12 - 1)}")
        elif vendor.platform == "stripe":
            receipt = f"{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}"
            subject = text.STRIPE_RECEIPT[sub.language].format(merchant=sub.sender_name,
                                                               receipt=receipt)
        else:
            with_amount, with_number = text.RECEIPT[sub.language]
            in_subject = rng.random() < 0.5
            subject = (with_amount if in_subject else with_number).format(
                vendor=vendor.name, amount=amount, number=number)
        self._add(sub, day, "receipt", subject, invoice=facts, has_pdf=rng.random() < 0.7,
                  amount_in_subject=in_subject)

    # --- mail that is not a subscription's billing ---------------------------------------------
    def _random_day(self) -> date:
        return (self.start + timedelta(days=self.rng.randrange((self.anchor - self.start).days))
                ).date()

    def _signup(self, vendor: Vendor, recipient: int, language: str, day: date) -> None:
        own = _own_sender(vendor)
        if own is None or not self._inside(self._at(day, 0)):
            return
        self.messages.append(Planned(recipient, self._at(day), vendor.name, own,
                                     text.SIGNUP[language].format(vendor=vendor.name),
                                     "billing", "signup", vendor.id))

    def _abandoned_trials(self, vendors: list[Vendor]) -> None:
        own = [v for v in vendors if _own_sender(v)]
        for vendor in self.rng.sample(own, min(2, len(own))):
            user = self.rng.choice(self.users)
            self._signup(vendor, user.index, "en", self._random_day())

    def _vendor_notices(self, vendors: list[Vendor]) -> None:
        paid = [s.vendor for s in self.subscriptions if s.vendor.platform is None]
        others = [v for v in vendors if v.platform is None and v not in paid]
        senders = paid + self.rng.sample(others, min(3, len(others)))
        for vendor in senders:
            templates = text.VENDOR_NOTICES.get(vendor.id, text.GENERIC_NOTICES)
            for _ in range(self.rng.randint(1, 3)):
                day = self._random_day()
                subject = self.rng.choice(templates).format(vendor=vendor.name,
                                                            month=day.strftime("%B %Y"))
                self.messages.append(Planned(self.rng.choice(self.users).index, self._at(day),
                                             vendor.name, _own_sender(vendor), subject,
                                             "vendor_other", None, vendor.id))

    def _unknown_merchants(self) -> None:
        for _ in range(self.rng.randint(2, 5)):
            merchant = self.rng.choice(text.UNKNOWN_MERCHANTS)
            receipt = f"{self.rng.randint(1000, 9999)}-{self.rng.randint(1000, 9999)}"
            self.messages.append(Planned(
                self.rng.choice(self.users).index, self._at(self._random_day()), merchant,
                f"receipts+{_stripe_account(self.rng)}@stripe.com",
                text.STRIPE_RECEIPT["en"].format(merchant=merchant, receipt=receipt),
                "platform_unknown", None, None))
