"""The simulated directory of one tenant: users, versions for delta queries, and changes."""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from tests.m365sim.people import (
    DEPARTMENT_WEIGHTS,
    DEPARTMENTS,
    FIRST_NAMES,
    LAST_NAMES,
    OFFICES,
)
from tests.m365sim.rand import guid, rng_for


@dataclass
class SimUser:
    index: int  # creation order: the paging cursor
    id: str
    given_name: str
    surname: str
    user_principal_name: str
    department: str
    job_title: str
    office_location: str
    preferred_language: str
    business_phone: str
    mobile_phone: str  # personal: a copy of it in our data would be a defect
    other_mail: str  # personal address: same
    account_enabled: bool = True
    version: int = 0  # directory version of the last change

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.surname}"

    def graph(self) -> dict:
        """The user as Graph v1.0 returns it with every default property."""
        return {
            "id": self.id,
            "businessPhones": [self.business_phone],
            "displayName": self.display_name,
            "givenName": self.given_name,
            "jobTitle": self.job_title,
            "mail": self.user_principal_name,
            "mobilePhone": self.mobile_phone,
            "officeLocation": self.office_location,
            "preferredLanguage": self.preferred_language,
            "surname": self.surname,
            "userPrincipalName": self.user_principal_name,
            "accountEnabled": self.account_enabled,
            "department": self.department,
            "otherMails": [self.other_mail],
        }


@lru_cache(maxsize=1024)
def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.replace("ø", "o").replace("æ", "ae"))
    return "".join(c for c in decomposed if c.isascii() and c.isalnum()).lower()


@dataclass
class Directory:
    tenant_key: tuple
    domain: str
    users: list[SimUser] = field(default_factory=list)  # append-only, includes removed users
    removed: dict[str, int] = field(default_factory=dict)  # user id -> version removed
    version: int = 1
    change_batches: int = 0
    delta_epoch: int = 0  # bumped to expire every delta/skip token (Graph answers 410)
    _upns: set[str] = field(default_factory=set)
    _by_id: dict[str, SimUser] = field(default_factory=dict)

    def active_users(self) -> list[SimUser]:
        return [u for u in self.users if u.id not in self.removed]

    def get(self, key: str) -> SimUser | None:
        """By object id or userPrincipalName, as Graph's /users/{id | userPrincipalName}."""
        user = self._by_id.get(key) or self._by_id.get(key.lower())
        if user is None or user.id in self.removed:
            return None
        return user

    def hire(self, rng: random.Random) -> SimUser:
        department = rng.choices(list(DEPARTMENT_WEIGHTS), list(DEPARTMENT_WEIGHTS.values()))[0]
        office, language, prefix, _currency = rng.choice(OFFICES)
        given, surname = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        base = f"{_ascii(given)}.{_ascii(surname)}"
        upn, n = f"{base}@{self.domain}", 1
        while upn in self._upns:
            n += 1
            upn = f"{base}{n}@{self.domain}"
        user = SimUser(
            index=len(self.users), id=guid(rng), given_name=given, surname=surname,
            user_principal_name=upn, department=department,
            job_title=rng.choice(DEPARTMENTS[department]), office_location=office,
            preferred_language=language,
            business_phone=f"{prefix} {rng.randint(20, 99)} {rng.randint(100000, 999999)}",
            mobile_phone=f"{prefix} {rng.randint(20, 99)} {rng.randint(100000, 999999)}",
            other_mail=f"{_ascii(given)}{rng.randint(1, 99)}@personal-mail.example",
            version=self.version,
        )
        self.users.append(user)
        self._upns.add(upn)
        self._by_id[user.id] = user
        self._by_id[upn] = user
        return user

    def populate(self, seed: int, count: int) -> None:
        rng = rng_for(seed, self.tenant_key, "directory")
        for _ in range(count):
            self.hire(rng)
        for user in rng.sample(self.users, max(1, count // 40)):
            user.account_enabled = False  # a few disabled accounts, as in any real directory

    def apply_changes(self, seed: int) -> dict:
        """One deterministic batch of joiners, movers and leavers; returns what changed."""
        self.change_batches += 1
        self.version += 1
        rng = rng_for(seed, self.tenant_key, "changes", self.change_batches)
        size = max(3, len(self.users) // 20)
        hired = [self.hire(rng).id for _ in range(max(1, size // 3))]
        candidates = [u for u in self.active_users() if u.id not in hired]
        movers = rng.sample(candidates, min(len(candidates), max(1, size // 3)))
        moved = []
        for user in movers:
            user.department = rng.choice([d for d in DEPARTMENTS if d != user.department])
            user.job_title = rng.choice(DEPARTMENTS[user.department])
            user.version = self.version
            moved.append(user.id)
        remaining = [u for u in candidates if u.id not in moved]
        leavers = rng.sample(remaining, min(len(remaining), max(1, size // 3)))
        for user in leavers:
            self.removed[user.id] = self.version
        return {"version": self.version, "hired": hired, "department_changed": moved,
                "removed": [u.id for u in leavers]}
