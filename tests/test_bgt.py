"""BGT reader: the real Delft panden and surfaces, hand-written GeoPackage/GML files with current and
historic objects, a bow-tie polygon, another CRS and bad files."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from pyproj import Transformer

from stadstwin.errors import CRSError, InputError
from stadstwin.io.bgt import (
    BgtRepairWarning,
    burn_surfaces,
    rasterize_surfaces,
    read_bgt_buildings,
    surface_shapes,
)
from stadstwin.model.enums import Surface
from stadstwin.model.raster import Raster

X0, Y0 = 155_000.0, 463_000.0
LAYERS = {"pand": "bgt_pand.sqlite", "wegdeel": "bgt_wegdeel.sqlite", "begroeidterreindeel": "bgt_begroeidterreindeel.sqlite",
          "onbegroeidterreindeel": "bgt_onbegroeidterreindeel.sqlite", "waterdeel": "bgt_waterdeel.sqlite",
          "scheiding": "bgt_scheiding.sqlite"}


def _write(path: Path, geometries, columns: dict, *, layer="pand", crs="EPSG:28992", driver="GPKG") -> Path:
    from pyogrio.raw import write

    write(str(path), shapely.to_wkb(np.asarray(geometries, dtype=object)),
          [np.asarray(v, dtype=object) for v in columns.values()], list(columns), layer=layer, driver=driver,
          crs=crs, geometry_type="Polygon")
    return path


def test_delft_panden_keep_bag_ids(shared_data):
    data = shared_data / "delft"
    buildings = read_bgt_buildings(data / "bgt_pand.sqlite")
    meta, _, wkb, fields = pyogrio.raw.read(data / "bgt_pand.sqlite")
    bag = fields[list(meta["fields"]).index("identificatiebagpnd")]
    assert len(buildings) == 160
    assert list(buildings.source_id) == [f"NL.IMBAG.Pand.{int(b):016d}" for b in bag]
    np.testing.assert_allclose(shapely.area(buildings.footprint), shapely.area(shapely.from_wkb(wkb)))
    assert np.isnan(buildings.ground_z).all() and np.isnan(buildings.roof_z).all()


def test_surfaces_burn_only_the_polygons_that_meet_the_grid_and_equal_burning_all(shared_data):
    from rasterio.features import rasterize

    paths = {k: shared_data / "delft" / v for k, v in LAYERS.items()}
    geometries, codes = surface_shapes(paths)
    for bounds in ((84830.0, 447460.0, 84870.0, 447490.0), (84990.0, 447600.0, 85050.0, 447660.0)):
        grid = Raster.from_bounds(*bounds, 0.5)
        # reference: every polygon of the scene burnt in order, as before the selection
        every = rasterize(zip(geometries, codes.tolist(), strict=True), out_shape=grid.shape,
                          transform=grid.transform, fill=0, dtype="uint8")
        assert (shapely.intersects(geometries, shapely.box(*bounds))).sum() < len(geometries) / 2
        np.testing.assert_array_equal(burn_surfaces(geometries, codes, grid).array, every)
        np.testing.assert_array_equal(rasterize_surfaces(paths, grid).array, every)


def test_delft_surfaces_rasterise_to_their_areas(shared_data):
    data = shared_data / "delft"
    paths = {k: data / v for k, v in LAYERS.items()}
    grid = Raster.from_bounds(84830.0, 447460.0, 85050.0, 447620.0, 0.5)
    surface = rasterize_surfaces(paths, grid)
    assert surface.shape == grid.shape and surface.array.dtype == np.uint8
    box = shapely.box(*grid.bounds)
    share = {code: np.mean(surface.array == code) for code in Surface}
    # reference: polygon area inside the grid per class (BGT is a partition of the ground)
    def area(layer, where=None):
        meta, _, wkb, fields = pyogrio.raw.read(paths[layer])
        geometries = shapely.from_wkb(wkb)
        if where is not None:
            column = fields[list(meta["fields"]).index(where[0])]
            geometries = geometries[np.array([where[1](str(v)) for v in column])]
        return shapely.union_all(geometries).intersection(box).area / box.area

    assert share[Surface.BUILDING] == pytest.approx(area("pand"), abs=0.01)
    assert share[Surface.CARRIAGEWAY] == pytest.approx(area("wegdeel", ("function", lambda f: f.startswith("rijbaan"))), abs=0.01)
    assert share[Surface.WATER] == pytest.approx(area("waterdeel"), abs=0.01)
    paved = area("wegdeel", ("function", lambda f: not f.startswith("rijbaan"))) + area(
        "onbegroeidterreindeel", ("bgt_fysiekvoorkomen", lambda f: f.endswith("verharding")))
    assert share[Surface.PAVEMENT] == pytest.approx(paved, abs=0.015)
    # this crop is no full partition (no ondersteunendwegdeel, bridges): the rest stays UNKNOWN
    covered = shapely.union_all([shapely.union_all(shapely.from_wkb(pyogrio.raw.read(paths[k])[2]))
                                 for k in LAYERS if k != "scheiding"])
    assert share[Surface.UNKNOWN] == pytest.approx(1 - covered.intersection(box).area / box.area, abs=0.01)
    assert 0.1 < share[Surface.BUILDING] < 0.5 and share[Surface.CARRIAGEWAY] > 0.05


def test_only_current_objects_and_bag_id_padding(tmp_path):
    boxes = [shapely.box(X0 + 10 * i, Y0, X0 + 10 * i + 8, Y0 + 8) for i in range(5)]
    path = _write(tmp_path / "pand.gpkg", boxes, {
        "gml_id": ["a", "b", "c", "d", "e"],
        "bgt-status": ["bestaand", "historie", "bestaand", "plan", "bestaand"],
        "eindRegistratie": [None, None, "2020-01-01T00:00:00", None, None],
        "relatieveHoogteligging": ["0", "0", "0", "0", "1"],
        "identificatiebagpnd": ["344100000000001", "344100000000002", "344100000000003", "344100000000004", None],
    })
    buildings = read_bgt_buildings(path)
    assert list(buildings.source_id) == ["NL.IMBAG.Pand.0344100000000001"]
    assert buildings.footprint[0].equals(boxes[0])


def test_bow_tie_is_repaired_and_named(tmp_path):
    bow_tie = shapely.Polygon([(X0, Y0), (X0 + 10, Y0 + 10), (X0 + 10, Y0), (X0, Y0 + 10)])
    assert not bow_tie.is_valid
    path = _write(tmp_path / "wegdeel.gpkg", [bow_tie, shapely.box(X0 + 20, Y0, X0 + 30, Y0 + 10)],
                  {"gml_id": ["bowtie-7", "ok"], "function": ["rijbaan lokale weg", "fietspad"]}, layer="trafficarea")
    grid = Raster.from_bounds(X0, Y0, X0 + 30, Y0 + 10, 0.5)
    with pytest.warns(BgtRepairWarning, match=r"wegdeel.gpkg: bowtie-7: invalid polygon \(Self-intersection"):
        surface = rasterize_surfaces({"wegdeel": path}, grid)
    # the repaired bow tie is two triangles of 25 m2 each; the cycle path is a 100 m2 box
    assert np.sum(surface.array == Surface.CARRIAGEWAY) * 0.25 == pytest.approx(50.0, rel=0.05)
    assert np.sum(surface.array == Surface.PAVEMENT) * 0.25 == pytest.approx(100.0)


def test_lines_are_left_out_with_a_warning(tmp_path):
    from pyogrio.raw import write

    path = tmp_path / "mixed.gpkg"
    geometries = [shapely.box(X0, Y0, X0 + 4, Y0 + 4), shapely.LineString([(X0, Y0), (X0 + 5, Y0 + 5)])]
    write(str(path), shapely.to_wkb(np.asarray(geometries, dtype=object)), [np.array(["p", "l"], dtype=object)],
          ["gml_id"], layer="pand", driver="GPKG", crs="EPSG:28992", geometry_type="Unknown")
    with pytest.warns(BgtRepairWarning, match="mixed.gpkg: l: a LineString is no surface"):
        buildings = read_bgt_buildings(path)
    assert list(buildings.source_id) == ["p"]


@pytest.mark.parametrize(
    "layer, column, value, expected",
    [
        ("wegdeel", "function", "rijbaan autosnelweg", Surface.CARRIAGEWAY),
        ("wegdeel", "functie", "voetgangersgebied", Surface.PAVEMENT),
        ("wegdeel", "function", "parkeervlak", Surface.PAVEMENT),
        ("ondersteunendwegdeel", "function", "berm", Surface.VERGE),
        ("ondersteunendwegdeel", "function", "verkeerseiland", Surface.PAVEMENT),
        ("onbegroeidterreindeel", "bgt-fysiekVoorkomen", "gesloten verharding", Surface.PAVEMENT),
        ("onbegroeidterreindeel", "bgt_fysiekvoorkomen", "onverhard", Surface.VERGE),
        ("begroeidterreindeel", "class", "groenvoorziening", Surface.VERGE),
        ("waterdeel", "class", "watervlakte", Surface.WATER),
        ("pand", "bgt_status", "bestaand", Surface.BUILDING),
    ],
)
def test_mapping_table(tmp_path, layer, column, value, expected):
    path = _write(tmp_path / f"{layer}.gpkg", [shapely.box(X0, Y0, X0 + 4, Y0 + 4)], {column: [value]}, layer=layer)
    surface = rasterize_surfaces({layer: path}, Raster.from_bounds(X0, Y0, X0 + 8, Y0 + 4, 1.0))
    assert np.all(surface.array[:, :4] == expected) and np.all(surface.array[:, 4:] == Surface.UNKNOWN)


def test_gml_and_other_crs(tmp_path):
    to_wgs = Transformer.from_crs("EPSG:28992", "EPSG:4326", always_xy=True)
    rd = shapely.box(X0, Y0, X0 + 20, Y0 + 12)
    wgs = shapely.transform(rd, lambda xy: np.column_stack(to_wgs.transform(xy[:, 0], xy[:, 1])))
    path = _write(tmp_path / "pand.gml", [wgs], {"gml_id": ["p1"], "identificatiebagpnd": ["0344100000000009"]},
                  crs="EPSG:4326", driver="GML")
    buildings = read_bgt_buildings(path)
    assert buildings.source_id[0] == "NL.IMBAG.Pand.0344100000000009"
    assert shapely.hausdorff_distance(buildings.footprint[0], rd) < 1e-3  # GML keeps ~8 decimals of degrees


def test_bad_input(tmp_path):
    empty = tmp_path / "empty.gpkg"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        read_bgt_buildings(empty)
    junk = tmp_path / "junk.gpkg"
    junk.write_text("not a database")
    with pytest.raises(InputError, match="junk.gpkg: not a readable"):
        read_bgt_buildings(junk)
    with pytest.raises(InputError, match="does not exist"):
        read_bgt_buildings(tmp_path / "missing.gpkg")
    grid = Raster.from_bounds(X0, Y0, X0 + 8, Y0 + 4, 1.0)
    with pytest.raises(InputError, match="unknown BGT layer"):
        rasterize_surfaces({"wegen": empty}, grid)
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        no_crs = _write(tmp_path / "nocrs.gpkg", [shapely.box(X0, Y0, X0 + 4, Y0 + 4)], {"gml_id": ["x"]}, crs=None)
    with pytest.raises(CRSError, match="no coordinate reference system"):
        read_bgt_buildings(no_crs)
    assert len(read_bgt_buildings(no_crs, assumed_crs="EPSG:28992")) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not rasterize_surfaces({}, grid).array.any()
