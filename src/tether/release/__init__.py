"""Releases: immutable, content-addressed bundles of what shapes an agent's behaviour, labels
(production, candidate, ...) that move between them, and the release each run records.

    from tether.release import Bundle, ReleaseStore, diff_bundles
"""

from typing import TYPE_CHECKING

from tether.core.exports import lazy_exports

if TYPE_CHECKING:
    from tether.release.binding import ReleaseInForce
    from tether.release.bundle import Bundle, make_bundle
    from tether.release.diff import diff_bundles, render_diff
    from tether.release.source import read_release_dir, write_release_dir
    from tether.release.store import PRODUCTION, LabelMove, Release, ReleaseStore, check_label

__all__ = [
    "PRODUCTION",
    "Bundle",
    "LabelMove",
    "Release",
    "ReleaseInForce",
    "ReleaseStore",
    "check_label",
    "diff_bundles",
    "make_bundle",
    "read_release_dir",
    "render_diff",
    "write_release_dir",
]

# each name is imported from its module when first used (see `tether.core.exports`)
__getattr__ = lazy_exports(
    __name__,
    {
        "Bundle": "tether.release.bundle",
        "LabelMove": "tether.release.store",
        "PRODUCTION": "tether.release.store",
        "Release": "tether.release.store",
        "ReleaseInForce": "tether.release.binding",
        "ReleaseStore": "tether.release.store",
        "check_label": "tether.release.store",
        "diff_bundles": "tether.release.diff",
        "make_bundle": "tether.release.bundle",
        "read_release_dir": "tether.release.source",
        "render_diff": "tether.release.diff",
        "write_release_dir": "tether.release.source",
    },
)
