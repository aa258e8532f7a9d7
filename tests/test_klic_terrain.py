"""Ground for a KLIC area: the real 22O000518 delivery clipped to a scene extent, on a constant ground
level or a DTM GeoTIFF that covers the extent only, and every output saying which ground it used."""

import json

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from twins import write_scene_toml
from typer.testing import CliRunner

from stadstwin.build.twin_builder import build_twin
from stadstwin.cli import app
from stadstwin.errors import SceneError
from stadstwin.io.imkl import parse_imkl
from stadstwin.model.enums import DepthSource
from stadstwin.model.scene import Scene

# the western half of the delivery (x 189357–189536, y 352285–352472)
EXTENT = (189357.0, 352285.0, 189440.0, 352472.0)


def _scene(folder, shared_data, terrain: str) -> None:
    write_scene_toml(folder, EXTENT, f'[sources]\nklic = ["{shared_data / "klic" / "Levering_22O000518_1.zip"}"]\n'
                     + terrain)


def test_constant_ground_level_and_clipping_to_the_extent(tmp_path, shared_data):
    _scene(tmp_path, shared_data, "[terrain]\nconstant_nap = 5.0\n")
    twin = build_twin(tmp_path, use_cache=False)
    assert twin.terrain == "constant ground level 5.00 m NAP"
    assert np.all(twin.dtm.array == 5.0)
    ends = np.vstack([twin.networks.p0, twin.networks.p1])
    xmin, ymin, xmax, ymax = EXTENT
    assert ends[:, 0].min() >= xmin - 1e-6 and ends[:, 0].max() <= xmax + 1e-6
    assert ends[:, 1].min() >= ymin - 1e-6 and ends[:, 1].max() <= ymax + 1e-6
    # the delivery reaches further east: clipping kept part of it, not all
    delivery = parse_imkl(shared_data / "klic" / "Levering_22O000518_1.zip")
    east = max(line[:, 0].max() for f in delivery.features for line in f.lines)
    assert east > xmax + 50
    # a standard-depth segment in the soil (not in a container) has its top its network's
    # standaardDieptelegging below the 5 m ground (at one end at least: the other may be measured)
    net = twin.networks
    standard = np.flatnonzero((net.depth_source == DepthSource.STANDARD_DEPTH) & (net.container == ""))
    assert len(standard) > 0
    depths = np.array(sorted({n.standard_depth for n in delivery.networks.values() if n.standard_depth}))
    radius = 0.5 * net.outer_diameter[standard]
    for end in (net.p0, net.p1):
        top = 5.0 - (end[standard, 2] + radius)
        at_standard = np.isclose(top[:, None], depths[None], atol=1e-9).any(axis=1)
        assert at_standard.mean() > 0.99


def test_a_dtm_covering_only_the_extent_is_enough(tmp_path, shared_data):
    xmin, ymin, xmax, ymax = EXTENT
    dtm = tmp_path / "dtm.tif"
    width, height = int(xmax - xmin), int(ymax - ymin)
    ramp = np.tile(np.linspace(1.0, 2.0, width, dtype=np.float32), (height, 1))
    with rasterio.open(dtm, "w", driver="GTiff", width=width, height=height, count=1, dtype="float32",
                       crs="EPSG:28992", transform=from_origin(xmin, ymax, 1.0, 1.0)) as out:
        out.write(ramp, 1)
    _scene(tmp_path, shared_data, "")
    text = (tmp_path / "scene.toml").read_text().replace("[sources]\n", '[sources]\ndtm = "dtm.tif"\n')
    (tmp_path / "scene.toml").write_text(text)
    twin = build_twin(tmp_path, use_cache=False)  # the delivery reaches beyond the DTM: no "no ground level"
    assert twin.terrain == "DTM GeoTIFF dtm.tif"
    assert len(twin.networks) > 100


def test_constant_ground_and_a_dtm_together_are_refused(tmp_path, shared_data):
    (tmp_path / "dtm.tif").write_bytes(b"")
    _scene(tmp_path, shared_data, "[terrain]\nconstant_nap = 5.0\n")
    text = (tmp_path / "scene.toml").read_text().replace("[sources]\n", '[sources]\ndtm = "dtm.tif"\n')
    (tmp_path / "scene.toml").write_text(text)
    with pytest.raises(SceneError, match="constant_nap"):
        Scene.load(tmp_path)


def test_check_clashes_states_the_ground(tmp_path, shared_data):
    _scene(tmp_path, shared_data, "[terrain]\nconstant_nap = 5.0\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["check", "clashes", str(tmp_path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "ground: constant ground level 5.00 m NAP" in result.output
    data = json.loads((out / "clashes.json").read_text())
    assert data["terrain"] == "constant ground level 5.00 m NAP"
    assert data["metrics"]["standard_depth_only_findings"] <= len(data["findings"]["features"])
