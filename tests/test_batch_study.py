"""Study files: loading, errors that name the key, and generated variants (grid and sample)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from stadstwin.batch.study import Generator, Study, _combinations, _set_field, study_variants
from stadstwin.errors import SceneError
from stadstwin.scenario.edits import parse_edits

SIMULATIONS = Path(__file__).resolve().parents[1] / "simulations"


def write(folder: Path, text: str, name: str = "study.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def simulations(tmp_path, demo_scene) -> Path:
    """A copy of simulations/ beside a ``demo`` folder holding the demo district (as after `make demo`)."""
    (tmp_path / "demo").symlink_to(demo_scene.parents[1], target_is_directory=True)
    shutil.copytree(SIMULATIONS, tmp_path / "simulations")
    return tmp_path / "simulations"


def routes(variant) -> dict[str, shapely.LineString]:
    return {e.id: shapely.geometry.shape(e.route) for e in parse_edits(variant) if hasattr(e, "route")}


def test_heatnet_example_offsets_both_pipes_by_the_distance(simulations):
    study = Study.load(simulations / "heatnet-routes.toml")
    assert study.scene_path == (simulations.parent / "demo" / "scenes" / "demo").resolve()
    variants, parameters = study_variants(study, study.load_scene())
    assert variants[0].id == "base"
    generated = variants[1:]
    assert len(generated) == 4 * 2  # offset grid × cover grid
    assert [parameters[v.id] for v in generated[:2]] == [{"offset": -3.0, "cover": 0.8}, {"offset": -3.0, "cover": 1.2}]
    reference = routes(next(v for v in generated if parameters[v.id]["offset"] == 0.0))
    for variant in generated:
        offset, cover = parameters[variant.id]["offset"], parameters[variant.id]["cover"]
        for edit in parse_edits(variant):
            assert edit.cover == cover
            moved, original = shapely.geometry.shape(edit.route), reference[edit.id]
            # a west→east route moved to its left goes north by exactly the offset
            np.testing.assert_allclose(np.asarray(moved.coords)[:, 1] - np.asarray(original.coords)[:, 1], offset)
            np.testing.assert_allclose(np.sort(np.asarray(moved.coords)[:, 0]), np.asarray(original.coords)[:, 0])
            assert shapely.hausdorff_distance(moved, original) == pytest.approx(abs(offset))


def test_tree_example_count_keeps_the_first_points(simulations):
    study = Study.load(simulations / "tree-planting.toml")
    scene = study.load_scene()
    variants, parameters = study_variants(study, scene)
    template = next(v for v in variants if v.id == "greening")
    planted = template.edits[0]["points"]
    generated = [v for v in variants if v.id in parameters]
    assert len(generated) == 3 * 2
    for variant in generated:
        (edit,) = parse_edits(variant)
        count, height = parameters[variant.id]["count"], parameters[variant.id]["height"]
        assert [list(p) for p in edit.points] == [list(p) for p in planted[:count]]
        assert edit.height == height and edit.crown_diameter == template.edits[0]["crown_diameter"]
        assert variant.name == f"{count} trees, {height:g} m"
    assert template.edits[0]["points"] == planted  # the template itself is untouched


def test_offset_and_shift_of_a_bent_route():
    edit = {"id": "r", "route": {"type": "LineString", "coordinates": [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0]]}}
    _set_field(edit, "offset", 2.0)
    moved = shapely.geometry.shape(edit["route"])
    original = shapely.LineString([(0, 0), (10, 0), (10, 10)])
    # every point of the moved route lies 2 m from the original, on its left (inside the bend)
    distances = [original.distance(shapely.Point(c)) for c in moved.coords]
    np.testing.assert_allclose(distances, 2.0, atol=1e-9)
    assert moved.coords[0] == pytest.approx((0.0, 2.0))
    _set_field(edit, "dy", -2.0)
    assert shapely.geometry.shape(edit["route"]).coords[0] == pytest.approx((0.0, 0.0))
    trees = {"id": "t", "points": [[1.0, 2.0], [3.0, 4.0]]}
    _set_field(trees, "dx", 1.5)
    assert trees["points"] == [[2.5, 2.0], [4.5, 4.0]]


@settings(max_examples=25, deadline=None)
@given(samples=st.integers(1, 40), seed=st.integers(0, 2**31 - 1))
def test_sample_is_a_latin_hypercube_within_the_ranges(samples, seed):
    generator = Generator.model_validate({
        "from": "t", "mode": "sample", "samples": samples, "seed": seed,
        "parameters": {"cover": {"edit": "e", "field": "cover", "range": [0.6, 1.8]},
                       "n": {"edit": "e", "field": "count", "range": [1, 12], "integer": True},
                       "species": {"edit": "e", "field": "species", "values": ["Tilia", "Ulmus", "Acer"]}}})
    rows = _combinations(generator)
    assert len(rows) == samples and rows == _combinations(generator)  # same seed, same sample
    cover = np.array([r["cover"] for r in rows])
    assert np.all((cover >= 0.6) & (cover <= 1.8))
    # one sample in each of the equal strata of the range
    strata = np.floor((cover - 0.6) / (1.2 / samples) - 1e-9).clip(0, samples - 1)
    assert sorted(strata.astype(int)) == list(range(samples))
    assert all(isinstance(r["n"], int) and 1 <= r["n"] <= 12 for r in rows)
    # categorical values: value i takes [i/3, (i+1)/3) of the unit stratum axis, so it gets at least
    # the strata lying inside that third and at most those touching it
    edges = np.arange(samples + 1) / samples
    for i, species in enumerate(("Tilia", "Ulmus", "Acer")):
        count = sum(r["species"] == species for r in rows)
        inside = np.sum((edges[:-1] >= i / 3 - 1e-12) & (edges[1:] <= (i + 1) / 3 + 1e-12))
        touching = np.sum((edges[:-1] < (i + 1) / 3) & (edges[1:] > i / 3))
        assert inside <= count <= touching


GRID = 'name = "s"\nscene = "x"\nanalyses = ["clashes"]\n[[generate]]\nfrom = "greening"\n[generate.parameters.n]\nedit = "e"\nfield = "count"\n'


@pytest.mark.parametrize(("text", "named"), [
    ('scene = "x"\nvariants = ["base"]', "analyses: Field required"),
    ('name = "s"\nscene = "x"\nanalyses = ["clashes"]\nvariants = ["base"]\ncolour = 1', "colour: unknown key"),
    ('name = "s"\nscene = "x"\nanalyses = ["clashes"]', "list 'variants' or add a [[generate]] block"),
    (GRID + 'values = [1]\nrange = [1, 2]', "generate.0.parameters.n: give exactly one of 'values' and 'range'"),
    (GRID + "range = [1, 2]", "generate.0: parameters.n: a grid needs 'values'"),
    ('name = "s"\nscene = "x"\nanalyses = ["clashes"]\nvariants = ["base"]\n[output]\nfolder = 3',
     "output.folder"),
])
def test_malformed_study_names_the_key(tmp_path, text, named):
    path = write(tmp_path, text)
    with pytest.raises(SceneError) as caught:
        Study.load(path)
    assert str(path) in str(caught.value)
    assert named in str(caught.value)


GENERATE = """name = "s"
scene = "{scene}"
analyses = ["clashes"]
[[generate]]
from = "greening"
{extra}
[generate.parameters.n]
edit = "{edit}"
field = "{field}"
values = [{values}]
"""


@pytest.mark.parametrize(("edit", "field", "values", "extra", "named"), [
    ("greening-trees-9", "count", "2", "", "generate[0].parameters.n.edit: the template 'greening' has no edit 'greening-trees-9'"),
    ("greening-trees-1", "count", "13", "", "generate[0].parameters.n: cannot set 'count' = 13"),
    ("greening-trees-1", "offset", "2.0", "", "'offset' needs an edit with a route"),
    ("greening-trees-1", "height", "-4.0", "", "generate[0]: variant greening.g0.0 is invalid"),
    ("greening-trees-1", "colour", "1", "", "colour: unknown key"),
    ("greening-trees-1", "count", "2", 'name = "{size}"', "generate[0].name: cannot fill"),
    ("greening-trees-1", "count", "2", 'from = "elsewhere"', "generate[0].from: unknown variant 'elsewhere'"),
])
def test_bad_generated_variant_names_the_key(tmp_path, demo_scene, edit, field, values, extra, named):
    text = GENERATE.format(scene=demo_scene.as_posix(), edit=edit, field=field, values=values, extra=extra)
    if extra.startswith("from"):
        text = text.replace('from = "greening"\n', "")
    path = write(tmp_path, text)
    study = Study.load(path)
    with pytest.raises(SceneError) as caught:
        study_variants(study, study.load_scene())
    assert str(path) in str(caught.value) and named in str(caught.value)


def test_missing_scene_and_duplicate_variants_are_named(tmp_path, demo_scene):
    study = Study.load(write(tmp_path, 'name = "s"\nscene = "nowhere"\nanalyses = ["clashes"]\nvariants = ["base"]'))
    with pytest.raises(SceneError, match="scene: .*nowhere does not exist"):
        study.load_scene()
    study = Study.load(write(tmp_path, f'name = "s"\nscene = "{demo_scene.as_posix()}"\nanalyses = ["clashes"]\n'
                                       'variants = ["base", "greening", "base"]'))
    with pytest.raises(SceneError, match="variants: base listed twice"):
        study_variants(study, study.load_scene())


def test_study_edits_extend_the_template(tmp_path, demo_scene):
    path = write(tmp_path, f"""name = "s"
scene = "{demo_scene.as_posix()}"
analyses = ["clashes"]
[[generate]]
from = "base"
name = "tower {{height:g}} m"
[[generate.edits]]
type = "add_building"
id = "tower"
footprint = {{ type = "Polygon", coordinates = [[[155010.0, 463010.0], [155020.0, 463010.0], [155020.0, 463020.0], [155010.0, 463010.0]]] }}
height = 10.0
[generate.parameters.height]
edit = "tower"
field = "height"
values = [20.0, 45.5]
""")
    study = Study.load(path)
    variants, parameters = study_variants(study, study.load_scene())
    assert [v.name for v in variants] == ["tower 20 m", "tower 45.5 m"]
    assert [parse_edits(v)[0].height for v in variants] == [20.0, 45.5]
    assert parameters == {"base.g0.0": {"height": 20.0}, "base.g0.1": {"height": 45.5}}
