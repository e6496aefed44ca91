"""Playbooks load from the search path, validate, and user folders override built-ins by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from floe_agents.config import ConfigError
from floe_agents.playbooks import ENV_PATH, builtin_playbook_dir, load_playbooks, search_path
from floe_agents.rules import builtin_rules


def test_builtin_playbooks_load() -> None:
    books = load_playbooks([builtin_playbook_dir()])
    book = books["dagster-migrate-schema"]
    assert book.fixes == ("dagster-unmigrated-schema",) and book.steps[0].remediation == "dagster.migrate_storage"


def test_user_folder_overrides_builtin_and_env_path_is_searched(tmp_path: Path) -> None:
    (tmp_path / "dagster-migrate-schema.yaml").write_text(
        "name: dagster-migrate-schema\ndescription: ours\nfixes: [x]\nsteps: [{remediation: acme.migrate}]\n"
    )
    path = search_path(env={ENV_PATH: str(tmp_path)})
    assert path == [builtin_playbook_dir(), tmp_path]
    assert load_playbooks(path)["dagster-migrate-schema"].description == "ours"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("name: other\ndescription: d\nfixes: [x]\nsteps: [{remediation: a.b}]\n", "must match the file name"),
        ("name: bad\ndescription: d\nfixes: []\nsteps: [{remediation: a.b}]\n", "at least 1"),
        ("name: bad\ndescription: d\nfixes: [x]\nsteps: [{remediation: 'rm -rf'}]\n", "pattern"),
        ("name: bad\ndescription: d\nfixes: [x]\nsteps: [{remediation: a.b}]\nrun_as: root\n", "unknown field"),
    ],
)
def test_invalid_playbooks_are_rejected_with_file_and_field(tmp_path: Path, text: str, problem: str) -> None:
    (tmp_path / "bad.yaml").write_text(text)
    with pytest.raises(ConfigError, match=problem) as info:
        load_playbooks([tmp_path])
    assert str(tmp_path / "bad.yaml") in str(info.value)


def test_every_playbook_a_rule_names_exists() -> None:
    books = load_playbooks([builtin_playbook_dir()])
    named = {r.remediation.playbook for r in builtin_rules().rules if r.remediation.playbook}
    assert named <= set(books), f"rules name missing playbooks: {sorted(named - set(books))}"
    for book in books.values():
        assert set(book.fixes) <= {r.id for r in builtin_rules().rules}, book.name
