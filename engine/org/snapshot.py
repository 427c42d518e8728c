"""What an organisation file describes, as frozen values (pure).

:class:`OrgSnapshot` holds the departments, roles, regions, dealers and users of a file
with their links; :mod:`engine.org.org_file` reads one from YAML or xlsx and the store
applies it (engine/store/org_writes.py). The code rule is the one every organisation
code (login, department, role, region, dealer) follows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.org.principal import INTERNAL

#: longest code (login, department, role, region, dealer): the columns' length
MAX_CODE = 64
#: a code: ASCII letters, digits, CJK ideographs, and ``_ . -`` after the first character
CODE = re.compile(
    r"[0-9A-Za-z\u3400-\u4dbf\u4e00-\u9fff][0-9A-Za-z_.\-\u3400-\u4dbf\u4e00-\u9fff]{0,63}"
)
CODE_RULE = (
    "letters a-z A-Z, digits, Chinese characters, and _ . - after the first character, "
    f"at most {MAX_CODE} characters"
)
LOCALES = ("zh-CN", "en")
SECTIONS = ("departments", "roles", "regions", "dealers", "users")


# -- the snapshot ---------------------------------------------------------------------
@dataclass(frozen=True)
class Department:
    code: str
    name: str
    parent: str | None = None
    managers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Role:
    code: str
    name: str
    #: logins, sorted (members listed on the role and roles listed on users, together)
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    parent: str | None = None
    level: str | None = None
    managers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dealer:
    code: str
    name: str
    parent: str | None = None
    region: str | None = None
    sales_rep: str | None = None
    #: None: not said in the file (a new dealer is active, an existing one keeps its state)
    active: bool | None = None


@dataclass(frozen=True)
class User:
    login: str
    name: str
    kind: str = INTERNAL
    email: str | None = None
    mobile: str | None = None
    locale: str = "zh-CN"
    #: the main department
    department: str | None = None
    #: every department of the user, the main one first
    departments: tuple[str, ...] = ()
    leader: str | None = None
    region: str | None = None
    dealer: str | None = None
    #: roles given on the user (also folded into :attr:`Role.members`)
    roles: tuple[str, ...] = ()
    #: None: not said in the file (a new user is active, an existing one keeps its state)
    active: bool | None = None


@dataclass(frozen=True)
class OrgSnapshot:
    """An organisation as a file describes it (each kind in file order)."""

    departments: tuple[Department, ...] = ()
    roles: tuple[Role, ...] = ()
    regions: tuple[Region, ...] = ()
    dealers: tuple[Dealer, ...] = ()
    users: tuple[User, ...] = ()
