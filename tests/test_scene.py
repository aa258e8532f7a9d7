"""Scene and variant definitions: valid files load; broken ones give messages naming file and key."""

import textwrap
from pathlib import Path

import pytest

from stadstwin.errors import SceneError, RuleError
from stadstwin.model.enums import Phase
from stadstwin.model.scene import BgtLayer, Scene
from stadstwin.model.variant import Variant

EXTENT = """
[extent]
xmin = 84808
ymin = 447413
xmax = 85000
ymax = 447641
"""


def write_scene(folder: Path, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scene.toml").write_text(textwrap.dedent(body))
    return folder


@pytest.fixture
def delft_scene(tmp_path, shared_data):
    data = shared_data / "delft"
    return write_scene(tmp_path / "delft", f"""
        name = "delft"
        cell_size = 0.5
        {EXTENT}
        [sources]
        pointclouds = [{{ path = "{data / 'ahn3_cropped_1.laz'}", crs = "EPSG:28992" }}]
        cityjson = ["{data / 'testarea_lod1.city.json'}"]
        [sources.bgt]
        pand = "{data / 'bgt_pand.sqlite'}"
        wegdeel = "{data / 'bgt_wegdeel.sqlite'}"
        [rules.cover.water]
        pavement = 1.1
        [soil]
        soil = "nen1010"
        [climate]
        date = 2026-07-25
    """)


def test_real_scene_loads(delft_scene, shared_data):
    scene = Scene.load(delft_scene)
    assert scene.name == "delft"
    assert scene.cell_size == 0.5
    assert scene.sources.pointclouds[0].path == shared_data / "delft" / "ahn3_cropped_1.laz"
    assert scene.sources.pointclouds[0].crs == "EPSG:28992"
    assert set(scene.sources.bgt) == {BgtLayer.PAND, BgtLayer.WEGDEEL}
    assert scene.load_rules().cover["water"].pavement == 1.1
    assert scene.climate.date.isoformat() == "2026-07-25"
    assert Scene.load(delft_scene / "scene.toml") == scene


def test_relative_paths_resolve_against_the_scene_folder(tmp_path):
    folder = write_scene(tmp_path / "s", f'name = "s"\n{EXTENT}\n[sources]\nklic = ["data/levering.zip"]\n')
    (folder / "data").mkdir()
    (folder / "data" / "levering.zip").write_bytes(b"PK")
    assert Scene.load(folder).sources.klic[0].path == (folder / "data" / "levering.zip").resolve()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('name = "x"\n[extent\nxmin = 1', "invalid TOML"),
        ("", "the file is empty"),
        ('name = "x"\n', "extent: Field required"),
        (f'name = "x"\ncolour = "red"\n{EXTENT}', "colour: unknown key"),
        (f'name = "x"\n{EXTENT}\n[sources]\nklic = ["missing.zip"]', r"sources\.klic\.0\.path: file not found: .*missing\.zip"),
        (f'name = "x"\n{EXTENT}\n[sources]\nlidar = ["a.laz"]', r"sources\.lidar: unknown key"),
        (f'name = "x"\n{EXTENT}\n[sources.bgt]\nboom = "a.gpkg"', r"sources\.bgt\.boom"),
        (f'name = "x"\ncrs = "EPSG:4326"\n{EXTENT}', r"crs: scenes are in EPSG:7415.*WGS 84"),
        (f'name = "x"\ncrs = "EPSG:999999"\n{EXTENT}', r"crs: unknown coordinate reference system"),
        ('name = "x"\n[extent]\nxmin = 4.35\nymin = 52.0\nxmax = 4.36\nymax = 52.01', "outside RD New.*another CRS"),
        ('name = "x"\n[extent]\nxmin = 85000\nymin = 447413\nxmax = 84808\nymax = 447641', "xmin < xmax"),
        (f'name = "x"\ncell_size = -1\n{EXTENT}', "cell_size"),
        (f'name = "my scene"\n{EXTENT}', "name"),
        (f'name = "x"\n{EXTENT}\n[soil]\nresistivity = 0', r"soil\.resistivity"),
    ],
)
def test_broken_scene_names_file_and_key(tmp_path, body, message):
    folder = write_scene(tmp_path / "bad", body)
    with pytest.raises(SceneError, match=message) as info:
        Scene.load(folder)
    assert str(info.value).startswith(str(folder / "scene.toml"))


def test_missing_scene_file(tmp_path):
    with pytest.raises(SceneError, match="file not found"):
        Scene.load(tmp_path / "nowhere")


def test_bad_rule_override_in_scene_names_scene_file(tmp_path):
    folder = write_scene(tmp_path / "r", f'name = "r"\n{EXTENT}\n[rules.cover.water]\npavement = -1\n')
    with pytest.raises(RuleError, match=r"scene\.toml: rules\.cover\.water\.pavement"):
        Scene.load(folder)


def test_unknown_soil_in_scene_is_refused(tmp_path):
    folder = write_scene(tmp_path / "s", f'name = "s"\n{EXTENT}\n[soil]\nsoil = "veen"\n')
    with pytest.raises(RuleError, match="unknown soil 'veen'"):
        Scene.load(folder)


VARIANT = """
name = "Warmtenet noordzijde"
phase = "ontwerp"
theme = "warmtetransitie"
asset_types = ["warmtenet"]
parties = ["Gemeente", "Netbeheerder"]
edits = [{ type = "add_network", id = "wn-1" }]
[area]
type = "Polygon"
coordinates = [[[84810, 447420], [84900, 447420], [84900, 447500], [84810, 447500], [84810, 447420]]]
[planning.ontwerp]
start = 2027-01-01
end = 2027-06-30
"""


def test_variants_load_with_id_from_file_name(tmp_path):
    folder = write_scene(tmp_path / "v", f'name = "v"\n{EXTENT}')
    (folder / "variants").mkdir()
    (folder / "variants" / "heatnet-north.toml").write_text(VARIANT)
    (variant,) = Scene.load(folder).load_variants()
    assert variant.id == "heatnet-north"
    assert variant.phase is Phase.ONTWERP
    assert variant.planning[Phase.ONTWERP].end.isoformat() == "2027-06-30"
    assert variant.area_geometry.area == pytest.approx(90 * 80)
    assert variant.edits[0]["id"] == "wn-1"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('phase = "ontwerp"', 'phase = "bouw"'), "phase"),
        (("end = 2027-06-30", "end = 2026-06-30"), "lies before start"),
        (('type = "Polygon"', 'type = "LineString"'), "area"),
        (("[84810, 447500], [84810, 447420]", "[84810, 447500], [84900, 447420], [84810, 447420]"), "invalid Polygon: .*Self-intersection"),
        (('theme = "warmtetransitie"', 'thema = "warmte"'), "thema: unknown key"),
    ],
)
def test_broken_variant_is_named(tmp_path, change, message):
    path = tmp_path / "v.toml"
    path.write_text(VARIANT.replace(*change))
    with pytest.raises(SceneError, match=message) as info:
        Variant.load(path)
    assert str(info.value).startswith(str(path))
