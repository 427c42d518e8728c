"""Vendored browser libraries (web/static/vendor/): each file is listed in SHA256SUMS with
its checksum, and each library folder keeps its licence (see ../shared/LIBRARIES.md:
copied from the npm package with ``npm pack NAME@VERSION``)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

VENDOR = Path(__file__).resolve().parents[2] / "web" / "static" / "vendor"
SUMS = VENDOR / "SHA256SUMS"
LICENCE = re.compile(r"^(LICEN[CS]E|COPYING|NOTICE)", re.IGNORECASE)
LINE = re.compile(r"^(?P<sum>[0-9a-f]{64})  (?P<path>\S.*)$")


def _listed() -> dict[str, str]:
    listed: dict[str, str] = {}
    for number, line in enumerate(SUMS.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        match = LINE.match(line)
        assert match, f"SHA256SUMS line {number} is not '<sha256>  <path>': {line!r}"
        assert match["path"] not in listed, f"{match['path']} is listed twice"
        listed[match["path"]] = match["sum"]
    return listed


def _vendored() -> set[str]:
    return {
        path.relative_to(VENDOR).as_posix()
        for path in VENDOR.rglob("*")
        if path.is_file() and path != SUMS
    }


def test_every_listed_file_exists_with_its_checksum():
    listed = _listed()
    assert listed, "SHA256SUMS lists no file"
    for path, expected in listed.items():
        file = VENDOR / path
        assert file.is_file(), f"{path} is listed in SHA256SUMS but missing"
        actual = hashlib.sha256(file.read_bytes()).hexdigest()
        assert actual == expected, f"{path}: sha256 {actual}, SHA256SUMS says {expected}"


def test_every_vendored_file_is_listed():
    unlisted = sorted(_vendored() - set(_listed()))
    assert not unlisted, f"vendored files missing from SHA256SUMS: {unlisted}"


def test_every_vendored_library_keeps_its_licence():
    for path in sorted(_vendored()):
        folder = (VENDOR / path).parent
        top = folder
        while top.parent != VENDOR and top != VENDOR:
            top = top.parent
        assert top != VENDOR, f"{path} is not inside a NAME@VERSION folder"
        assert "@" in top.name, f"{top.name} should be named NAME@VERSION"
        licences = [p for p in top.rglob("*") if p.is_file() and LICENCE.match(p.name)]
        assert licences, f"{top.name} has no licence file (LICENCE, LICENSE, COPYING or NOTICE)"


def test_decimal_js_is_the_global_build():
    source = (VENDOR / "decimal.js@10.6.0" / "decimal.js").read_text(encoding="utf-8")
    assert "decimal.js v10.6.0" in source
    assert "globalScope.Decimal = Decimal" in source  # defines window.Decimal
