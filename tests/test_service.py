"""The web service against the demo district: every endpoint, version conflicts, access rules,
confidential assets, bad input and a restart with a running job.

A ``probe`` analysis stands in for the registered ones (only it is registered while the app is
created): it reports the building count, returns the DTM as a raster and one finding naming a
telecom (KL1009) and a grid operator (KL1014) cable, so redaction can be checked exactly.
"""

from __future__ import annotations

import io
import json
import struct
import threading
import time
from pathlib import Path
from unittest.mock import patch

import matplotlib
import numpy as np
import pytest
import rasterio
import trimesh
from fastapi.testclient import TestClient
from PIL import Image
from test_exports import georeference, gltf_vertices, rd_nap

from stadstwin.analyses.registry import ANALYSES
from stadstwin.analyses.result import AnalysisResult
from stadstwin.io.meshes import building_meshes
from stadstwin.sample import write_sample
from stadstwin.service import create_app
from stadstwin.service.store import Store

TELECOM, GRID = "KL1009", "KL1014"
HOLD = threading.Event()  # a probe run with settings {"hold": true} waits for this


def probe(twin, rules, settings):
    """A quick analysis with a raster, a metric and a finding about two owners' cables."""
    if settings.get("fail"):
        raise RuntimeError("probe failed on purpose")
    if settings.get("hold"):
        HOLD.wait(timeout=60)
    owners = twin.networks.owner_name.astype(str)
    ids = [str(twin.networks.feature_id[owners == owner][0]) for owner in (TELECOM, GRID)]
    x, y, _ = twin.networks.p0[owners == TELECOM][0]
    finding = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [float(x), float(y)]},
               "properties": {"severity": "hard", "check": "probe", "ids": ids, "owners": [TELECOM, GRID],
                              "feature_a": ids[0], "owner_a": TELECOM, "utility_a": "telecom", "depth_uncertainty_a_m": 0.3,
                              "feature_b": ids[1], "owner_b": GRID, "utility_b": "electricity_lv",
                              "depth_uncertainty_b_m": 0.2}}
    return AnalysisResult("probe", metrics={"buildings": float(len(twin.buildings))}, findings=[finding],
                          rasters={"ground": twin.dtm})


@pytest.fixture(scope="module")
def scenes(tmp_path_factory) -> Path:
    return write_sample(tmp_path_factory.mktemp("service")).parent


def make_app(scenes: Path, db: Path):
    with patch.dict(ANALYSES, {"probe": probe}, clear=True):
        return create_app(scenes, db, confidential=[TELECOM], workers=1)


@pytest.fixture(scope="module")
def service(scenes, tmp_path_factory):
    """The app, a client, and tokens: grid operator (edit, twice), telecom (edit), public (read)."""
    db = tmp_path_factory.mktemp("db") / "service.sqlite"
    app = make_app(scenes, db)
    store = app.state.service.store
    tokens = {"grid": store.add_token(GRID, "alice", "edit"), "grid2": store.add_token(GRID, "bob", "edit"),
              "telecom": store.add_token(TELECOM, "carol", "edit"), "public": store.add_token("public", "viewer", "read")}
    with TestClient(app, raise_server_exceptions=False) as client:
        yield app, client, {k: {"Authorization": f"Bearer {v}"} for k, v in tokens.items()}, db


def wait(client, location, headers, until=("successful", "failed"), limit=120.0):
    deadline = time.monotonic() + limit
    while True:
        status = client.get(location, headers=headers).json()
        if status["status"] in until or time.monotonic() > deadline:
            return status
        time.sleep(0.1)


def glb_json(data: bytes) -> dict:
    """The JSON chunk of a GLB file (glTF 2.0 binary container)."""
    magic, version, length = struct.unpack_from("<III", data, 0)
    assert magic == 0x46546C67 and version == 2 and length == len(data)
    chunk, kind = struct.unpack_from("<II", data, 12)
    assert kind == 0x4E4F534A
    return json.loads(data[20:20 + chunk])


def new_variant(vid: str, **extra) -> dict:
    return {"id": vid, "name": f"test {vid}", "phase": "ontwerp", **extra}


def building(x, y, size=6.0, height=12.0, edit_id="b1"):
    ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
    return {"id": edit_id, "type": "add_building", "footprint": {"type": "Polygon", "coordinates": [ring]},
            "height": height}


# --- health, auth, scenes ------------------------------------------------------------------

def test_health_needs_no_token_but_everything_else_does(service):
    _, client, _, _ = service
    assert client.get("/api/health").json()["status"] == "ok"
    for path in ("/api/scenes", "/api/scenes/demo", "/api/processes", "/api/jobs"):
        response = client.get(path)
        assert response.status_code == 401 and "token" in response.json()["detail"]
        assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_scenes_list_and_scene_description(service):
    _, client, h, _ = service
    scenes = client.get("/api/scenes", headers=h["public"]).json()
    assert [s["name"] for s in scenes] == ["demo"]
    assert scenes[0]["variants"][0] == "base"
    assert {"greening", "heatnet-north", "heatnet-south"} <= set(scenes[0]["variants"])
    scene = client.get("/api/scenes/demo", headers=h["public"]).json()
    x0, y0, _, _ = scene["extent"]
    assert scene["origin"][0] <= x0 and scene["origin"][1] <= y0 and scene["origin"][0] % 100 == 0
    assert scene["summary"]["buildings"]["count"] > 0


# --- variants: versions, conflicts, audit --------------------------------------------------

def test_variant_lifecycle_with_etags_and_audit(service):
    _, client, h, _ = service
    base = "/api/scenes/demo/variants"
    created = client.post(base, json=new_variant("life", edits=[building(155020, 463020)]), headers=h["grid"])
    assert created.status_code == 201 and created.headers["location"] == f"{base}/life"
    etag = created.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    assert client.post(base, json=new_variant("life"), headers=h["grid"]).status_code == 409
    assert client.post(base, json=new_variant("base"), headers=h["grid"]).status_code == 409
    read = client.get(f"{base}/life", headers=h["public"])
    assert read.headers["etag"] == etag and read.json()["edits"][0]["id"] == "b1"

    changed = {**read.json(), "name": "renamed"}
    assert client.put(f"{base}/life", json=changed, headers=h["grid"]).status_code == 428
    updated = client.put(f"{base}/life", json=changed, headers={**h["grid"], "If-Match": etag})
    assert updated.status_code == 200 and updated.headers["etag"] != etag
    assert client.get(f"{base}/life", headers=h["public"]).json()["name"] == "renamed"

    assert client.delete(f"{base}/life", headers={**h["grid"], "If-Match": etag}).status_code == 412
    assert client.delete(f"{base}/life", headers=h["grid"]).status_code == 428
    gone = client.delete(f"{base}/life", headers={**h["grid"], "If-Match": updated.headers["etag"]})
    assert gone.status_code == 204
    assert client.get(f"{base}/life", headers=h["public"]).status_code == 404
    assert "life" not in [v["id"] for v in client.get(base, headers=h["public"]).json()]

    audit = client.get("/api/audit", headers=h["grid"]).json()
    actions = [(a["action"], a["target"], a["organisation"], a["token"]) for a in audit if a["target"] == "demo/life"]
    assert actions == [("delete variant", "demo/life", GRID, "alice"), ("update variant", "demo/life", GRID, "alice"),
                       ("create variant", "demo/life", GRID, "alice")]


def test_second_writer_with_a_stale_etag_gets_412_and_the_first_edit_survives(service):
    _, client, h, _ = service
    url = "/api/scenes/demo/variants/race"
    etag = client.post("/api/scenes/demo/variants", json=new_variant("race"), headers=h["grid"]).headers["etag"]
    first = client.put(url, json=new_variant("race", theme="alice's"), headers={**h["grid"], "If-Match": etag})
    assert first.status_code == 200
    second = client.put(url, json=new_variant("race", theme="bob's"), headers={**h["grid2"], "If-Match": etag})
    assert second.status_code == 412 and "changed" in second.json()["detail"]
    assert second.headers["etag"] == first.headers["etag"]
    assert client.get(url, headers=h["public"]).json()["theme"] == "alice's"


def test_read_only_token_cannot_change_anything(service):
    _, client, h, _ = service
    ro = h["public"]
    url = "/api/scenes/demo/variants/greening"
    etag = client.get(url, headers=ro).headers["etag"]
    attempts = [
        client.post("/api/scenes/demo/variants", json=new_variant("ro"), headers=ro),
        client.put(url, json=new_variant("greening"), headers={**ro, "If-Match": etag}),
        client.delete(url, headers={**ro, "If-Match": etag}),
        client.post("/api/processes/build/execution", json={"inputs": {"scene": "demo"}}, headers=ro),
        client.get("/api/audit", headers=ro),
    ]
    assert [r.status_code for r in attempts] == [403] * len(attempts)
    assert all("read-only" in r.json()["detail"] for r in attempts)
    assert client.get(url, headers=ro).headers["etag"] == etag


# --- bad input -----------------------------------------------------------------------------

def test_invalid_geometry_is_refused_naming_the_field(service):
    _, client, h, _ = service
    bowtie = {"type": "Polygon", "coordinates": [[[155010, 463010], [155030, 463030], [155030, 463010],
                                                  [155010, 463030], [155010, 463010]]]}
    response = client.post("/api/scenes/demo/variants", json=new_variant("bad", area=bowtie), headers=h["grid"])
    assert response.status_code == 422
    assert "area" in response.json()["detail"] and "Self-intersection" in response.json()["detail"]
    edit = {**building(155020, 463020, edit_id="tower"), "footprint": bowtie}
    response = client.post("/api/scenes/demo/variants", json=new_variant("bad", edits=[edit]), headers=h["grid"])
    assert response.status_code == 422
    assert "edits[0] (id 'tower').footprint" in response.json()["detail"]
    outside = building(150000, 460000, edit_id="far")
    response = client.post("/api/scenes/demo/variants", json=new_variant("bad", edits=[outside]), headers=h["grid"])
    assert response.status_code == 422 and "'far'" in response.json()["detail"]
    assert client.post("/api/scenes/demo/variants", json=new_variant("../x"), headers=h["grid"]).status_code == 422
    assert client.get("/api/scenes/demo/variants/bad", headers=h["grid"]).status_code == 404


def test_oversized_body_is_refused_before_parsing(service):
    _, client, h, _ = service
    big = json.dumps(new_variant("big", theme="x" * (3 * 1024 * 1024)))
    response = client.post("/api/scenes/demo/variants", content=big,
                           headers={**h["grid"], "Content-Type": "application/json"})
    assert response.status_code == 413 and response.json()["detail"]


def test_malformed_json_and_bad_process_inputs_are_422(service):
    _, client, h, _ = service
    response = client.post("/api/scenes/demo/variants", content=b"{not json",
                           headers={**h["grid"], "Content-Type": "application/json"})
    assert response.status_code == 422 and isinstance(response.json()["detail"], str)
    response = client.post("/api/processes/probe/execution", json={"inputs": {"scene": "demo", "colour": 1}},
                           headers=h["grid"])
    assert response.status_code == 422 and "colour" in response.json()["detail"]
    response = client.post("/api/processes/probe/execution",
                           json={"inputs": {"scene": "demo", "settings": {"weather": "../../etc/passwd"}}},
                           headers=h["grid"])
    assert response.status_code == 422 and "settings.weather" in response.json()["detail"]


@pytest.mark.parametrize("path", [
    "/api/scenes/nowhere", "/api/scenes/nowhere/variants", "/api/scenes/demo/variants/nowhere",
    "/api/scenes/demo/variants/nowhere/layers", "/api/scenes/demo/variants/base/layers/roads.glb",
    "/api/scenes/demo/variants/base/results/probe/ground.png", "/api/jobs/0123456789abcdef",
    "/api/processes/nowhere", "/api/scenes/..%2F..%2Fetc/variants",
    "/api/scenes/demo/variants/..%2F..%2Fscene.toml", "/api/scenes/demo/variants/base/layers/..%2Fscene.glb",
    "/api/scenes/demo/variants/base/layers/%2E%2E.glb", "/api/jobs/..%2F..%2Fservice.sqlite/results",
    "/api/scenes/demo/variants/base/tiles/nothing.glb", "/api/scenes/demo/variants/base/tiles/..%2F..%2Fservice.sqlite",
])
def test_unknown_ids_and_path_traversal_are_404_with_a_json_reason(service, path):
    _, client, h, _ = service
    response = client.get(path, headers=h["grid"])
    assert response.status_code == 404
    assert response.json()["detail"] and "Traceback" not in response.text


def test_an_internal_error_is_a_json_500_without_a_trace(service, monkeypatch):
    app, client, h, _ = service

    def broken(name):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(app.state.service.catalog, "scene", broken)
    response = client.get("/api/scenes/demo", headers=h["grid"])
    assert response.status_code == 500 and response.json() == {"detail": "internal error"}


# --- layers and confidential assets --------------------------------------------------------

def telecom_nodes(client, headers):
    layers = client.get("/api/scenes/demo/variants/base/layers", headers=headers).json()
    entry = next(layer for layer in layers["layers"] if layer["name"] == "network_telecom")
    assert entry["kind"] == "network" and entry["utility"] == "telecom"
    response = client.get(entry["url"], headers=headers)
    assert response.status_code == 200 and response.headers["content-type"] == "model/gltf-binary"
    document = glb_json(response.content)
    root = next(n for n in document["nodes"] if n.get("name") == "epsg7415")
    assert root["extras"]["origin_rd_nap"] == pytest.approx(layers["origin"]) and root["extras"]["up"] == "y"
    assert not {"matrix", "translation"} & set(root)
    return [n for n in document["nodes"] if "extras" in n and n.get("name") != "epsg7415"], response.content


def test_layers_list_kinds_and_serve_glb(service):
    app, client, h, _ = service
    layers = client.get("/api/scenes/demo/variants/base/layers", headers=h["public"]).json()
    kinds = {layer["name"]: layer["kind"] for layer in layers["layers"]}
    assert {"terrain": "terrain", "buildings": "buildings", "trees": "trees"}.items() <= kinds.items()
    assert kinds["network_water"] == "network"
    # the served buildings are y-up and, with the root's origin added back, stand where the twin has them
    data = client.get("/api/scenes/demo/variants/base/layers/buildings.glb", headers=h["public"]).content
    scene = trimesh.load(io.BytesIO(data), file_type="glb", process=False)
    assert georeference(scene)["origin_rd_nap"] == pytest.approx(layers["origin"])
    buildings = app.state.service.catalog.base("demo")[1].buildings
    meshes = building_meshes(buildings)  # in EPSG:7415, as the twin holds them
    assert len(scene.graph.nodes_geometry) == len(buildings)
    for bag_id, mesh in zip(buildings.source_id, meshes):
        np.testing.assert_allclose(rd_nap(scene, str(bag_id)), mesh.vertices, atol=1e-3)
    tops = np.concatenate([v[:, 1] for v in gltf_vertices(scene).values()])
    assert tops.max() == pytest.approx(max(m.vertices[:, 2].max() for m in meshes) - layers["origin"][2], abs=1e-3)


def test_tiles_serve_the_tileset_and_its_tiles_holding_every_building(service):
    app, client, h, _ = service
    base = "/api/scenes/demo/variants/base/tiles/"
    response = client.get(base + "tileset.json", headers=h["public"])
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    tileset = response.json()
    assert tileset["asset"]["version"] == "1.1"
    layers = client.get("/api/scenes/demo/variants/base/layers", headers=h["public"]).json()
    assert tileset["extras"]["origin_rd_nap"] == pytest.approx(layers["origin"])
    uris, stack = [], [tileset["root"]]
    while stack:
        tile = stack.pop()
        uris += [tile["content"]["uri"]] if "content" in tile else []
        stack += tile.get("children", [])
    names = []
    for uri in uris:
        answer = client.get(base + uri, headers=h["public"])
        assert answer.status_code == 200
        names += [bag for n in glb_json(answer.content)["nodes"] if n["name"] == "buildings"
                  for bag in n["extras"]["source_id"]]
    buildings = app.state.service.catalog.base("demo")[1].buildings
    assert sorted(names) == sorted(buildings.source_id.astype(str).tolist())
    again = client.get(base + uris[-1], headers={**h["public"], "If-None-Match": answer.headers["etag"]})
    assert again.status_code == 304


def test_confidential_assets_are_occupied_space_only_for_other_organisations(service, scenes):
    app, client, h, _ = service
    twin = app.state.service.catalog.base("demo")[1]
    owners = twin.networks.owner_name.astype(str)
    secret_ids = set(twin.networks.feature_id[owners == TELECOM].tolist())

    own, _ = telecom_nodes(client, h["telecom"])
    mine = [n for n in own if n["extras"].get("owner") == TELECOM]
    assert {n["extras"]["feature_id"] for n in mine} == secret_ids
    assert all("depth_source" in n["extras"] and "status" in n["extras"] for n in mine)

    for who in ("grid", "public"):
        nodes, data = telecom_nodes(client, h[who])
        hidden = [n for n in nodes if n["extras"].get("confidential")]
        assert len(hidden) == len(mine)
        assert all(n["extras"] == {"utility": "telecom", "confidential": True} for n in hidden)
        assert any(n["extras"].get("owner") == "KL3131" for n in nodes)  # a non-confidential telecom owner
        assert not any(fid.encode() in data for fid in secret_ids)
        assert TELECOM.encode() not in data
    fibre = glb_json(client.get("/api/scenes/demo/variants/base/layers/network_telecom.glb",
                                headers=h["grid"]).content)
    assert len([n for n in fibre["nodes"] if "mesh" in n]) == len([n for n in own if "mesh" in n])

    summary = json.dumps(client.get("/api/scenes/demo", headers=h["grid"]).json())
    assert TELECOM not in summary
    assert TELECOM in json.dumps(client.get("/api/scenes/demo", headers=h["telecom"]).json())


# --- processes, jobs, results --------------------------------------------------------------

def run_job(client, headers, process, inputs):
    response = client.post(f"/api/processes/{process}/execution", json={"inputs": inputs}, headers=headers)
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"/api/jobs/{response.json()['jobID']}"
    return wait(client, response.headers["location"], headers), response.headers["location"]


def test_processes_list_registered_analyses_compare_build_and_the_plan_register(service):
    _, client, h, _ = service
    ids = [p["id"] for p in client.get("/api/processes", headers=h["public"]).json()]
    assert ids == ["probe", "compare", "build", "koppelkansen", "graafrust", "joined"]  # the plan register's own
    described = client.get("/api/processes/probe", headers=h["public"]).json()
    assert {"scene", "variant", "settings"} <= set(described["inputs"])


def test_analysis_job_results_rasters_and_redacted_findings(service):
    app, client, h, _ = service
    status, location = run_job(client, h["grid"], "probe", {"scene": "demo"})
    assert status["status"] == "successful" and status["progress"] == 100
    result = client.get(f"{location}/results", headers=h["grid"]).json()
    twin = app.state.service.catalog.base("demo")[1]
    assert result["metrics"]["buildings"] == len(twin.buildings)
    (raster,) = result["rasters"]
    assert raster["bounds"] == pytest.approx(list(twin.dtm.bounds))
    assert raster["png"] == f"{location}/results/ground.png"
    job_png = client.get(raster["png"], headers=h["public"])
    assert job_png.headers["content-type"] == "image/png"
    values = twin.dtm.values()
    assert raster["legend"]["min"] == pytest.approx(np.nanmin(values))
    assert raster["legend"]["max"] == pytest.approx(np.nanmax(values))

    listed = client.get("/api/scenes/demo/variants/base/results", headers=h["public"]).json()
    entry = next(e for e in listed if e["analysis"] == "probe" and e["raster"] == "ground")
    variant_png = client.get(entry["png"], headers=h["public"]).content
    assert variant_png == job_png.content
    png = Image.open(io.BytesIO(variant_png))
    assert png.mode == "RGBA" and png.size == (twin.dtm.shape[1], twin.dtm.shape[0])
    pixels = np.asarray(png)
    # north-up, one pixel per cell: the lowest and highest cells have the ends of the colour map
    cmap = matplotlib.colormaps[raster["legend"]["cmap"]]
    for index, end in ((np.nanargmin(values), 0.0), (np.nanargmax(values), 1.0)):
        row, col = np.unravel_index(index, values.shape)
        assert tuple(pixels[row, col]) == tuple(cmap(end, bytes=True))
    with rasterio.open(io.BytesIO(client.get(entry["tif"], headers=h["public"]).content)) as tif:
        assert tuple(tif.bounds) == pytest.approx(twin.dtm.bounds)
        assert np.allclose(tif.read(1), values, equal_nan=True)
    assert client.get(entry["png"].replace("ground", "nothing"), headers=h["public"]).status_code == 404

    secret = client.get("/api/scenes/demo/variants/base/findings", headers=h["grid"]).json()
    (finding,) = [f for f in secret["features"] if f["properties"]["analysis"] == "probe"]
    assert finding["properties"]["owners"] == ["confidential", GRID]
    assert finding["properties"]["ids"][0] == "confidential" and finding["properties"]["ids"][1] != "confidential"
    properties = finding["properties"]
    assert properties["feature_a"] is None and properties["owner_a"] == "confidential"
    assert properties["depth_uncertainty_a_m"] is None and properties["utility_a"] == "telecom"
    assert properties["feature_b"] == properties["ids"][1] and properties["owner_b"] == GRID
    assert properties["depth_uncertainty_b_m"] == 0.2
    own = client.get(f"{location}/findings", headers=h["telecom"]).json()["features"][0]["properties"]
    assert own["owners"] == [TELECOM, GRID] and own["owner_a"] == TELECOM and own["depth_uncertainty_a_m"] == 0.3
    assert TELECOM not in json.dumps(client.get(f"{location}/results", headers=h["public"]).json())


def test_edits_made_through_the_api_apply_to_analyses(service):
    app, client, h, _ = service
    etag = client.post("/api/scenes/demo/variants", json=new_variant("tower", edits=[building(155005, 463005)]),
                       headers=h["grid"]).headers["etag"]
    _, location = run_job(client, h["grid"], "probe", {"scene": "demo", "variant": "tower"})
    base_count = len(app.state.service.catalog.base("demo")[1].buildings)
    assert client.get(f"{location}/results", headers=h["grid"]).json()["metrics"]["buildings"] == base_count + 1
    assert client.get("/api/scenes/demo/variants/tower/results", headers=h["grid"]).json()
    layers = client.get("/api/scenes/demo/variants/tower/layers", headers=h["grid"]).json()
    buildings = next(layer for layer in layers["layers"] if layer["name"] == "buildings")
    document = glb_json(client.get(buildings["url"], headers=h["grid"]).content)
    assert any(n.get("name") == "tower/b1" for n in document["nodes"])
    # after an edit the old results no longer describe the variant
    client.put("/api/scenes/demo/variants/tower", json=new_variant("tower"), headers={**h["grid"], "If-Match": etag})
    assert client.get("/api/scenes/demo/variants/tower/results", headers=h["grid"]).json() == []


def test_failing_analysis_marks_the_job_failed_with_a_reason(service):
    _, client, h, _ = service
    status, location = run_job(client, h["grid"], "probe", {"scene": "demo", "settings": {"fail": True}})
    assert status["status"] == "failed" and "RuntimeError" in status["message"]
    assert "secret" not in status["message"]
    assert client.get(f"{location}/results", headers=h["grid"]).status_code == 404


def test_compare_build_and_job_list(service):
    _, client, h, _ = service
    query = {"a": "base", "b": "heatnet-north"}
    first = client.get("/api/scenes/demo/compare", params=query, headers=h["grid"])
    assert first.status_code == 202 and first.json()["processID"] == "compare"  # computed as a job, not in the request
    again = client.get("/api/scenes/demo/compare.html", params=query, headers=h["grid"])
    assert again.status_code == 200 or again.headers["location"] == first.headers["location"]  # never a second job
    assert wait(client, first.headers["location"], h["grid"])["status"] == "successful"
    compare_jobs = [j for j in client.get("/api/jobs", headers=h["grid"]).json()["jobs"] if j["processID"] == "compare"]
    assert len(compare_jobs) == 1
    report = client.get("/api/scenes/demo/compare", params=query, headers=h["grid"])
    assert report.status_code == 200
    data = report.json()
    assert data["reference"] == "base" and [v["id"] for v in data["variants"]] == ["base", "heatnet-north"]
    findings = data["variants"][0]["findings"]["probe"]
    assert findings[0]["properties"]["owners"] == ["confidential", GRID]
    assert findings[0]["properties"]["depth_uncertainty_a_m"] is None
    page = client.get("/api/scenes/demo/compare.html", params={"a": "base", "b": "heatnet-north"}, headers=h["grid"])
    assert page.headers["content-type"].startswith("text/html") and "<h1>" in page.text
    assert TELECOM not in page.text
    assert client.get("/api/scenes/demo/compare", params={"a": "base", "b": "nowhere"},
                      headers=h["grid"]).status_code == 404

    status, location = run_job(client, h["grid"], "compare", {"scene": "demo", "variants": ["base", "greening"]})
    assert status["status"] == "successful"
    result = client.get(f"{location}/results", headers=h["grid"]).json()
    assert "greening" in result["verdicts"] and TELECOM not in json.dumps(result)
    assert result["variants"][0]["findings"]["probe"][0]["properties"]["depth_uncertainty_a_m"] is None
    status, location = run_job(client, h["grid"], "build", {"scene": "demo"})
    assert client.get(f"{location}/results", headers=h["grid"]).json()["summary"]["name"] == "demo"
    jobs = client.get("/api/jobs", headers=h["public"]).json()["jobs"]
    assert {"probe", "compare", "build"} <= {j["processID"] for j in jobs}


def test_dismissing_a_queued_and_a_running_job(service):
    _, client, h, _ = service
    try:
        held = client.post("/api/processes/probe/execution",
                           json={"inputs": {"scene": "demo", "settings": {"hold": True}}}, headers=h["grid"])
        running = wait(client, held.headers["location"], h["grid"], until=("running",))
        assert running["status"] == "running"
        queued = client.post("/api/processes/build/execution", json={"inputs": {"scene": "demo"}}, headers=h["grid"])
        assert client.get(queued.headers["location"], headers=h["grid"]).json()["status"] == "accepted"
        assert client.delete(queued.headers["location"], headers=h["public"]).status_code == 403
        for response in (queued, held):
            dismissed = client.delete(response.headers["location"], headers=h["grid"])
            assert dismissed.status_code == 200 and dismissed.json()["status"] == "dismissed"
            assert "alice" in dismissed.json()["message"]
    finally:
        HOLD.set()
    after = client.post("/api/processes/build/execution", json={"inputs": {"scene": "demo"}}, headers=h["grid"])
    assert wait(client, after.headers["location"], h["grid"])["status"] == "successful"  # the worker is free again
    for response in (queued, held):
        assert client.get(response.headers["location"], headers=h["grid"]).json()["status"] == "dismissed"
        assert client.delete(response.headers["location"], headers=h["grid"]).status_code == 409
        assert client.get(f"{response.headers['location']}/results", headers=h["grid"]).status_code == 404
    audit = client.get("/api/audit", headers=h["grid"]).json()
    assert sum(a["action"] == "dismiss job" for a in audit) >= 2


def test_the_built_viewer_is_served_at_the_root(scenes, tmp_path):
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "index.html").write_text("<!doctype html><title>stadstwin viewer</title>")
    with patch.dict(ANALYSES, {}, clear=True):
        app = create_app(scenes, tmp_path / "db.sqlite", viewer_dist=dist)
    with TestClient(app) as client:
        assert "stadstwin viewer" in client.get("/").text
        assert client.get("/api/health").json()["status"] == "ok"
        missing = client.get("/api/nowhere")
        assert missing.status_code == 404 and missing.json()["detail"]


# --- restart -------------------------------------------------------------------------------

def test_restart_reruns_a_job_left_running_and_fails_one_interrupted_twice(service, scenes):
    app, _, h, db = service
    store = Store(db)
    who = store.principal(h["grid"]["Authorization"].removeprefix("Bearer "))
    inputs = {"scene": "demo", "variant": "base", "settings": {}, "variant_version": 0,
              "variant_body": app.state.service.catalog.base_variant("demo").model_dump(mode="json")}
    once = store.create_job("probe", inputs, who)
    store.set_job(once.id, status="running", progress=40, attempt=True)  # the service died mid-run
    twice = store.create_job("probe", inputs, who)
    for _ in range(2):
        store.set_job(twice.id, status="running", attempt=True)
    gone = store.create_job("vanished", inputs, who)
    store.set_job(gone.id, status="running", attempt=True)
    store.close()

    restarted = make_app(scenes, db)
    with TestClient(restarted) as again:
        rerun = wait(again, f"/api/jobs/{once.id}", h["grid"])
        assert rerun["status"] == "successful"
        assert again.get(f"/api/jobs/{once.id}/results", headers=h["grid"]).json()["metrics"]["buildings"] > 0
        failed = again.get(f"/api/jobs/{twice.id}", headers=h["grid"]).json()
        assert failed["status"] == "failed" and "service stopped" in failed["message"]
        missing = again.get(f"/api/jobs/{gone.id}", headers=h["grid"]).json()
        assert missing["status"] == "failed" and "not available" in missing["message"]


def test_serve_command_prints_demo_tokens_once_and_starts_the_app(scenes, tmp_path, monkeypatch):
    import uvicorn
    from typer.testing import CliRunner

    from stadstwin.cli import app as cli

    started = []
    monkeypatch.setattr(uvicorn, "run", lambda application, **options: started.append((application, options)))
    data = tmp_path / "data"
    with patch.dict(ANALYSES, {}, clear=True):
        first = CliRunner().invoke(cli, ["serve", str(scenes), "--data", str(data), "--port", "8123",
                                         "--confidential", TELECOM])
        second = CliRunner().invoke(cli, ["serve", str(scenes), "--data", str(data)])
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    tokens = json.loads((data / "demo-tokens.json").read_text())
    assert {t["role"] for t in tokens} == {"read", "edit"}
    assert all(t["token"] in first.output for t in tokens)
    assert not any(t["token"] in second.output for t in tokens)
    assert "demo-tokens.json" in second.output.replace("\n", "")
    application, options = started[0]
    assert options["host"] == "127.0.0.1" and options["port"] == 8123
    assert application.state.service.confidential == {TELECOM}
    with TestClient(application) as client:
        token = next(t["token"] for t in tokens if t["role"] == "read")
        assert client.get("/api/scenes", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    missing = CliRunner().invoke(cli, ["serve", str(tmp_path / "nowhere"), "--data", str(data)])
    assert missing.exit_code == 1 and "scene folders" in missing.output


# --- cached reads: ETag / 304 and gzip -----------------------------------------------------

def test_cached_reads_revalidate_with_etag_and_come_gzipped(service):
    _, client, h, _ = service
    status, location = run_job(client, h["grid"], "probe", {"scene": "demo"})
    assert status["status"] == "successful"
    urls = {"glb": "/api/scenes/demo/variants/base/layers/network_telecom.glb",
            "findings": "/api/scenes/demo/variants/base/findings",
            "tif": f"{location}/results/ground.tif", "png": f"{location}/results/ground.png",
            "scenes": "/api/scenes", "scene": "/api/scenes/demo", "layers": "/api/scenes/demo/variants/base/layers",
            "results": "/api/scenes/demo/variants/base/results"}
    for kind, url in urls.items():
        plain = client.get(url, headers={**h["public"], "Accept-Encoding": "identity"})
        packed = client.get(url, headers={**h["public"], "Accept-Encoding": "gzip"})
        assert plain.status_code == packed.status_code == 200
        assert "content-encoding" not in plain.headers
        # PNG is compressed already; the rest is sent gzipped and decodes to the same bytes
        assert packed.headers.get("content-encoding") == (None if kind == "png" else "gzip")
        assert packed.content == plain.content
        tag = plain.headers["etag"]
        assert tag == packed.headers["etag"] and plain.headers["cache-control"] == "private, no-cache"
        again = client.get(url, headers={**h["public"], "If-None-Match": f'"other", {tag}'})
        assert again.status_code == 304 and again.content == b""
        assert client.get(url, headers={**h["public"], "If-None-Match": '"other"'}).status_code == 200
    # the confidential owner sees its own fibre: other bytes, so another tag (no answer shared across them)
    own, public = (client.get(urls["glb"], headers=h[who]) for who in ("telecom", "public"))
    assert own.content != public.content and own.headers["etag"] != public.headers["etag"]
    assert client.get(urls["glb"], headers={**h["telecom"], "If-None-Match": public.headers["etag"]}).status_code == 200
