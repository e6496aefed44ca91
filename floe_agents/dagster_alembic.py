"""The alembic head of the installed dagster-postgres, read from its migration scripts without importing Dagster.

The postgres probe compares the ``dagster`` database's ``alembic_version`` with this head to tell an unmigrated
schema (the seed report's blocker) from one that is behind, at head or ahead; ``dagster.migrate_storage`` plans
nothing exactly when the probe says "at head", so both read the head here, once. Dagster is heavy to import and may
not be installed where floe-agents runs, so the scripts are read as text; when they cannot be read at all, a
pinned constant stands in and the verdict says so.
"""

from __future__ import annotations

import configparser
import importlib.metadata
import importlib.util
import re
from pathlib import Path

__all__ = ["FALLBACK_HEAD", "ancestors", "installed_head"]

# dagster-postgres 0.29.27 (dagster 1.13.27): head of dagster/_core/storage/alembic/versions, used when unreadable.
FALLBACK_HEAD = "29b539ebc72a"
FALLBACK_SOURCE = "constant for dagster-postgres 0.29.27 (dagster 1.13.27 alembic scripts)"


def _alembic_chain() -> tuple[str, dict[str, tuple[str, ...]], str]:
    """(head, revision -> down revisions, source) from the installed dagster-postgres' alembic scripts.

    Its ``alembic.ini`` names ``dagster:_core/storage/alembic``; ``find_spec`` locates packages without importing
    them, and each script states ``revision``/``down_revision`` as plain literals, so no Dagster import is needed.
    """
    spec = importlib.util.find_spec("dagster_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise LookupError("dagster_postgres is not installed")
    ini = Path(next(iter(spec.submodule_search_locations))) / "alembic" / "alembic.ini"
    parser = configparser.RawConfigParser()
    parser.read(ini)
    location = parser.get("alembic", "script_location")
    if ":" in location:
        package, rel = location.split(":", 1)
        pkg_spec = importlib.util.find_spec(package)
        if pkg_spec is None or not pkg_spec.submodule_search_locations:
            raise LookupError(f"package {package} of {location} is not installed")
        base = Path(next(iter(pkg_spec.submodule_search_locations))) / rel
    else:
        base = ini.parent / location.replace("%(here)s", str(ini.parent))
    chain: dict[str, tuple[str, ...]] = {}
    for script in (base / "versions").glob("*.py"):
        text = script.read_text(encoding="utf-8", errors="replace")
        rev = re.search(r"^revision\s*(?::[^=]*)?=\s*['\"]([^'\"]+)['\"]", text, re.M)
        down = re.search(r"^down_revision\s*(?::[^=]*)?=\s*(.+)$", text, re.M)
        if rev:
            chain[rev.group(1)] = tuple(re.findall(r"['\"]([^'\"]+)['\"]", down.group(1) if down else ""))
    heads = set(chain) - {d for downs in chain.values() for d in downs}
    if len(heads) != 1:
        raise LookupError(f"expected one alembic head in {base}, found {sorted(heads)}")
    version = importlib.metadata.version("dagster-postgres")
    return heads.pop(), chain, f"dagster-postgres {version} alembic scripts ({base})"


def installed_head() -> tuple[str, dict[str, tuple[str, ...]] | None, str]:
    """(head, revision -> down revisions, source) of the installed scripts; (pinned head, None, why) without them."""
    try:
        return _alembic_chain()
    except (LookupError, OSError, ValueError, configparser.Error, importlib.metadata.PackageNotFoundError) as exc:
        return FALLBACK_HEAD, None, f"{FALLBACK_SOURCE}; installed scripts unreadable: {exc}"


def ancestors(chain: dict[str, tuple[str, ...]], head: str) -> list[str]:
    """Every revision before ``head``, nearest first."""
    out, todo = [], list(chain.get(head, ()))
    while todo:
        rev = todo.pop()
        if rev not in out:
            out.append(rev)
            todo.extend(chain.get(rev, ()))
    return out
