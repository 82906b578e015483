"""The simulated world: tenants with directories, sign-ins and mail, built deterministically
from (seed, profile, anchor date). No I/O besides reading the vendor catalog."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from shared.catalog import Catalog, load_catalog
from tests.m365sim.directory import Directory
from tests.m365sim.rand import guid, rng_for
from tests.m365sim.signins import RETENTION_DAYS, SignInLog, SimApp, build_signin_log

# Application permissions an admin consents to; tenant B cannot read attachments.
ROLES_WITH_ATTACHMENTS = ("User.Read.All", "AuditLog.Read.All", "Directory.Read.All",
                          "Mail.Read")
ROLES_METADATA_ONLY = ("User.Read.All", "AuditLog.Read.All", "Directory.Read.All",
                       "Mail.ReadBasic.All")


@dataclass(frozen=True)
class TenantSpec:
    name: str
    slug: str
    users: int
    has_p1: bool
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Profile:
    name: str
    tenants: tuple[TenantSpec, ...]
    apps_per_tenant: int
    signin_user_cap: int  # sign-ins for the first N users only: bounds the bench profile
    ordinary_mail_per_mailbox: int
    subscriptions_per_tenant: int
    mail_months: int = 6


def _tenants(main_users: int, second_users: int) -> tuple[TenantSpec, ...]:
    return (TenantSpec("Northwind Traders", "northwindtraders", main_users, True,
                       ROLES_WITH_ATTACHMENTS),
            TenantSpec("Fabrikam", "fabrikam", second_users, False, ROLES_METADATA_ONLY))


PROFILES = {
    "small": Profile("small", _tenants(16, 14), apps_per_tenant=12, signin_user_cap=10**6,
                     ordinary_mail_per_mailbox=6, subscriptions_per_tenant=8),
    "demo": Profile("demo", _tenants(300, 25), apps_per_tenant=40, signin_user_cap=10**6,
                    ordinary_mail_per_mailbox=12, subscriptions_per_tenant=26),
    "bench": Profile("bench", _tenants(50_000, 20), apps_per_tenant=40, signin_user_cap=2_000,
                     ordinary_mail_per_mailbox=20, subscriptions_per_tenant=30),
}


class UnknownTenant(KeyError):
    pass


@dataclass
class SimTenant:
    index: int
    id: str
    name: str
    domain: str
    has_p1: bool
    roles: tuple[str, ...]
    directory: Directory
    signins: SignInLog
    mail: object | None = None  # tests.m365sim.mail.MailPlan, set by World
    extra: dict = field(default_factory=dict)

    @property
    def key(self) -> tuple:
        return ("tenant", self.index)


def _pick_apps(seed: int, key: tuple, catalog: Catalog, count: int, tenant_name: str
               ) -> list[SimApp]:
    rng = rng_for(seed, key, "apps")
    vendors = sorted(catalog.vendors, key=lambda v: v.id)
    must_have = [v for v in vendors if v.id in ("microsoft-365", "slack", "atlassian")]
    others = [v for v in vendors if v not in must_have]
    chosen = must_have + rng.sample(others, max(0, count - 1 - len(must_have)))
    apps = []
    for rank, vendor in enumerate(chosen):
        entra = vendor.entra_apps[0]
        popularity = 0.9 if rank == 0 else max(0.05, 0.7 * (0.88 ** rank))
        apps.append(_with_life(rng, SimApp(entra.app_id or guid(rng), entra.display_name,
                                           vendor.id, vendor.category, popularity, 0, 0)))
    # An in-house line-of-business app: seen in sign-ins, in no catalog.
    apps.append(_with_life(rng, SimApp(guid(rng), f"{tenant_name} Expense Portal", None,
                                       "finance", 0.3, 0, 0)))
    return apps


def _with_life(rng, app: SimApp) -> SimApp:
    roll = rng.random()
    start, end = 0, RETENTION_DAYS - 1
    if roll < 0.15:
        start = rng.randint(5, 20)  # adopted during the window
    elif roll < 0.30:
        end = rng.randint(8, RETENTION_DAYS - 9)  # abandoned: nobody in the last week
    return SimApp(app.app_id, app.display_name, app.vendor_id, app.category, app.popularity,
                  start, end)


class World:
    def __init__(self, seed: int = 1, profile: str = "small", anchor_date: date | None = None,
                 catalog: Catalog | None = None):
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}; choose one of {sorted(PROFILES)}")
        self.seed = seed
        self.profile = PROFILES[profile]
        self.anchor_date = anchor_date or datetime.now(UTC).date()
        self.anchor = datetime.combine(self.anchor_date, datetime.min.time(), tzinfo=UTC)
        self.catalog = catalog or load_catalog()
        self.tenants = [self._build_tenant(i, spec) for i, spec in enumerate(self.profile.tenants)]
        self._by_id = {t.id: t for t in self.tenants}
        from tests.m365sim.mail import MailPlan  # mail builds on the tenants above

        for tenant in self.tenants:
            tenant.mail = MailPlan(self, tenant)

    def _build_tenant(self, index: int, spec: TenantSpec) -> SimTenant:
        key = ("tenant", index)
        tenant_id = guid(rng_for(self.seed, self.profile.name, key, "id"))
        domain = f"{spec.slug}.onmicrosoft.com"
        directory = Directory(key, domain)
        directory.populate(self.seed, spec.users)
        apps = _pick_apps(self.seed, key, self.catalog, self.profile.apps_per_tenant, spec.name)
        signins = build_signin_log(self.seed, key, directory, apps, self.anchor,
                                   self.profile.signin_user_cap)
        return SimTenant(index, tenant_id, spec.name, domain, spec.has_p1, spec.roles,
                         directory, signins)

    @property
    def mail_start(self) -> datetime:
        return self.anchor - timedelta(days=30 * self.profile.mail_months)

    def tenant(self, tenant_id: str) -> SimTenant:
        try:
            return self._by_id[tenant_id.lower()]
        except KeyError:
            raise UnknownTenant(tenant_id) from None

    def tenant_for_domain(self, domain: str) -> SimTenant | None:
        return next((t for t in self.tenants if t.domain == domain.lower()), None)

    def apply_directory_changes(self, tenant_id: str) -> dict:
        return self.tenant(tenant_id).directory.apply_changes(self.seed)

    def ground_truth(self) -> dict:
        return {
            "seed": self.seed,
            "profile": self.profile.name,
            "anchor_date": self.anchor_date.isoformat(),
            "tenants": [self._tenant_truth(t) for t in self.tenants],
        }

    def _tenant_truth(self, tenant: SimTenant) -> dict:
        truth = {
            "tenant_id": tenant.id,
            "name": tenant.name,
            "domain": tenant.domain,
            "has_p1": tenant.has_p1,
            "roles": list(tenant.roles),
            "users": [{"id": u.id, "userPrincipalName": u.user_principal_name,
                       "department": u.department, "accountEnabled": u.account_enabled}
                      for u in tenant.directory.active_users()],
            "removed_user_ids": sorted(tenant.directory.removed),
            "apps": tenant.signins.app_truth(tenant.directory),
        }
        truth.update(tenant.mail.truth())
        return truth
