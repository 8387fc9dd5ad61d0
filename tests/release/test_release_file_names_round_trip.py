"""`release create --from DIR` read every `policies/*.cedar` whatever its file name, but every
consumer of a stored release writes the files back through `write_release_dir`, which refuses
names outside [A-Za-z0-9._-]: a release holding `policies/no refunds.cedar` was stored, yet
`release export` failed half-way, leaving a partial directory, and no desk could be built from
it. Now the reader applies the writer's name rule (RELEASE_SOURCE_INVALID, nothing stored), and
the writer checks every name first and writes beside the folder, renaming it into place: a
refused export leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.release.cli_store import Cli
from tests.release.helpers import POLICY, bundle
from tether import ErrorCode, TetherError
from tether.release import read_release_dir, write_release_dir

RULE = (
    '@id("no-cancellations")\n@reason("cancellations are paused")\n'
    'forbid (principal, action == Action::"cancel_pending_order", resource);\n'
)


def test_a_policy_file_name_export_could_not_write_back_is_refused_at_create(
    tmp_path: Path,
) -> None:
    cli = Cli(tmp_path)
    base = cli.ok("release", "create")["release"]["id"]
    cli.ok("release", "label", "production", base)
    source = tmp_path / "source"
    cli.ok("release", "export", "production", str(source))
    (source / "policies" / "no refunds.cedar").write_text(RULE)

    code, created = cli("release", "create", "--from", str(source))
    assert code == 2, created
    assert created["error"]["code"] == "RELEASE_SOURCE_INVALID", created
    assert "no refunds.cedar" in created["error"]["message"]
    assert len(cli.ok("release", "list")["releases"]) == 1  # nothing stored

    # near miss: the same rule under a name the writer takes round-trips to the same id
    (source / "policies" / "no refunds.cedar").rename(source / "policies" / "no-refunds.cedar")
    rid = cli.ok("release", "create", "--from", str(source))["release"]["id"]
    again = tmp_path / "again"
    cli.ok("release", "export", rid, str(again))
    assert cli.ok("release", "create", "--from", str(again))["release"]["id"] == rid


def test_an_export_that_cannot_be_written_whole_leaves_nothing(tmp_path: Path) -> None:
    """A stored bundle whose policy file name the writer refuses (made through the API): no
    file is written, the target folder is not made, and nothing is left beside it."""
    stored = bundle(policies=[("library.cedar", POLICY), ("no refunds.cedar", POLICY)])
    target = tmp_path / "out"
    with pytest.raises(TetherError) as refused:
        write_release_dir(stored, target)
    assert refused.value.code is ErrorCode.RELEASE_SOURCE_INVALID
    assert list(tmp_path.iterdir()) == []
    target.mkdir()  # an empty folder given is filled whole, or left empty
    with pytest.raises(TetherError):
        write_release_dir(stored, target)
    assert list(tmp_path.iterdir()) == [target] and list(target.iterdir()) == []
    written = write_release_dir(bundle(), target)
    assert {p.relative_to(target).parts[0] for p in written} == {
        "prompts",
        "policies",
        "release.json",
    }
    assert read_release_dir(target) == bundle()
