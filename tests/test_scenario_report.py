"""The comparison report: every section present, images decode, JSON carries the same verdicts."""

import base64
import io
import json
from html.parser import HTMLParser

import numpy as np
import shapely
from PIL import Image
from twins import X0, Y0, small_site, small_twin, square

from stadstwin.analyses.result import AnalysisResult
from stadstwin.model.assessment import Criterion
from stadstwin.model.raster import Raster
from stadstwin.model.variant import Variant
from stadstwin.render.maps import map_png, scale_bar_length
from stadstwin.scenario.compare import compare_variants
from stadstwin.scenario.report import write_report
from stadstwin.scenario.variants import base_variant


def heights(twin, rules, settings):
    """Object height above ground per cell [m], its mean, and one finding per building taller than 10 m."""
    height = Raster(twin.dsm.values() - twin.dtm.values(), twin.dtm.transform)
    tall = twin.buildings.height > 10
    findings = [{"type": "Feature", "geometry": shapely.geometry.mapping(f.centroid),
                 "properties": {"severity": "info", "building": b, "height_m": round(float(h), 2)}}
                for f, b, h in zip(twin.buildings.footprint[tall], twin.buildings.source_id[tall], twin.buildings.height[tall])]
    return AnalysisResult("heights", metrics={"mean_m": float(np.nanmean(height.array))},
                          rasters={"height": height}, findings=findings)


class Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sections, self.images, self.rows = [], [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.sections.append(attrs["id"])
        elif tag == "img":
            self.images.append(attrs["src"])
        elif tag == "tr":
            self.rows += 1


def test_report_has_every_section_and_valid_images(tmp_path):
    tower = Variant(id="tower", name="Tower", edits=[{"type": "add_building", "id": "t", "footprint": square(X0 + 20, Y0 + 20, 5), "height": 30.0}])
    low = Variant(id="low", name="Lower", edits=[{"type": "raise_buildings", "id": "r", "buildings": ["NL.IMBAG.Pand.1"], "by": -5.0}])
    frame = [Criterion(metric="heights.mean_m", label="Mean object height", better="lower", weight=1)]
    comparison = compare_variants(small_site({"heights": heights}), [base_variant("t"), tower, low], frame=frame)
    html_path, json_path = write_report(comparison, tmp_path, snapshots={"tower": map_png(small_twin().dsm, title="dsm", label="m")})
    page = Collector()
    page.feed(html_path.read_text())
    assert page.sections == ["verdicts", "ranking", "metrics", "maps", "snapshots", "changes", "findings"]
    assert len(page.images) == 3  # two difference maps and one snapshot
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        image = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
        assert image.width > 300 and image.height > 200
    data = json.loads(json_path.read_text())
    assert [r["variant"] for r in data["ranking"]] == ["low", "base", "tower"]
    (row,) = data["verdicts"]["tower"]
    assert row["effect"] == "worse" and row["change"] > 0
    tower_findings = next(v for v in data["variants"] if v["id"] == "tower")["findings"]["heights"]
    assert [f["properties"]["building"] for f in tower_findings] == ["tower/t"]
    assert sorted(data["difference_maps"]) == ["low/heights.height", "tower/heights.height"]
    # the tower's finding is new against the reference, nothing is resolved
    assert data["finding_changes"]["tower"]["heights"] == {"new": 1, "resolved": 0}
    assert data["finding_changes"]["low"]["heights"] == {"new": 0, "resolved": 0}


def test_map_is_north_up_with_scale_bar():
    grid = Raster.from_bounds(0, 300_000, 100, 300_050, 1.0)
    _, y = grid.cell_centres()
    north_high = Raster(np.where(y > 300_025, 1.0, 0.0), grid.transform)
    image = np.asarray(Image.open(io.BytesIO(map_png(north_high, title="t", label="v", cmap="gray"))).convert("L"))
    column = image[:, image.shape[1] // 3] < 50  # black: the southern half of the raster
    rows = len(column)
    assert column[int(0.15 * rows):int(0.45 * rows)].mean() < 0.05
    assert column[int(0.55 * rows):int(0.8 * rows)].mean() > 0.95
    assert scale_bar_length(100) == 20 and scale_bar_length(250) == 50 and scale_bar_length(3) == 1


def test_demo_variants_report(demo_scene, tmp_path):
    """The real analyses on the demo's greening plan: the report shows the plan's effects in every section."""
    from stadstwin.analyses.registry import ANALYSES
    from stadstwin.render.snapshot import snapshot_png
    from stadstwin.rules import load_rules
    from stadstwin.scenario.compare import compare

    fast = {"heat": {"step_minutes": 60, "hours": [15]}}
    comparison = compare(demo_scene, ["base", "greening"], analyses={k: ANALYSES[k] for k in ("clashes", "heat")},
                         settings=fast)
    snapshots = {run.variant.id: snapshot_png(run.twin, load_rules(), size=(400, 300)) for run in comparison.runs}
    html_path, json_path = write_report(comparison, tmp_path, snapshots=snapshots)
    page = Collector()
    page.feed(html_path.read_text())
    assert page.sections == ["verdicts", "ranking", "metrics", "maps", "snapshots", "changes", "findings"]
    data = json.loads(json_path.read_text())
    rows = {row["metric"]: row for row in data["verdicts"]["greening"]}
    assert rows["heat.shade_fraction"]["effect"] == "better"
    assert rows["heat.pet_mean_c_plan_area"]["effect"] == "better"
    # new street trees put cables in their root zones: the report names those new findings
    assert data["finding_changes"]["greening"]["clashes"]["new"] > 0
    assert any(name.startswith("greening/heat.shade") for name in data["difference_maps"])
    assert len(page.images) == len(data["difference_maps"]) + 2
    for src in page.images:
        Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).verify()
