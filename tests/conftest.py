"""Shared test fixtures: where the real sample data lies, and when its absence is a failure."""

from __future__ import annotations

import json.encoder
import os
from pathlib import Path

import pytest
from hypothesis import settings

# cjio (a peer in the CityJSON tests) replaces json's float encoder for the whole process when it is
# imported, rounding every float any code writes to JSON to 6 decimals. Import it here once and put
# json back, so reports written by other tests in the same worker keep full precision.
_c_make_encoder = json.encoder.c_make_encoder
import cjio.cityjson  # noqa: E402,F401  (sets json.encoder.c_make_encoder = None, json.encoder.float)

json.encoder.c_make_encoder = _c_make_encoder
vars(json.encoder).pop("float", None)  # the module's name `float` is the builtin again

# CI runs the property tests on a fixed seed sequence so a submission's result is reproducible;
# local runs keep exploring new examples.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; skips when absent, fails when STADSTWIN_REQUIRE_DATA is set (CI)."""
    if not SHARED_DATA.is_dir():
        message = f"real sample data not found at {SHARED_DATA} (see ../shared/data/README.md)"
        if os.environ.get("STADSTWIN_REQUIRE_DATA"):
            pytest.fail(message)
        pytest.skip(message)
    return SHARED_DATA


@pytest.fixture(scope="session")
def demo_scene(tmp_path_factory) -> Path:
    """The demo district written once per test session, its twin built and cached in the scene folder."""
    from stadstwin import build_twin
    from stadstwin.sample import write_sample

    folder = write_sample(tmp_path_factory.mktemp("demo-district"))
    build_twin(folder)
    return folder
