"""The plan register in the service: plans as REST resources with organisations, roles and ETag /
If-Match; others' confidential plans only as "a party plans works here in year Y"; koppelkansen and
graafrust as processes that give the CLI's answer for the same organisation's view."""

from __future__ import annotations

import json
import time

import pytest
import shapely
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from stadstwin.cli import app as cli
from stadstwin.io.plan_register import read_plan_register
from stadstwin.sample import write_sample
from stadstwin.service import create_app

GRID, TELECOM, CITY = "KL1014", "KL1009", "GM0344"
CRS = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::28992"}}


def feature(pid, party, start, end, geometry, **extra):
    return {"type": "Feature", "geometry": shapely.geometry.mapping(geometry),
            "properties": {"id": pid, "party": party, "theme": "test", "phase": "ontwerp",
                           "realisatie_start": start, "realisatie_end": end, **extra}}


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """The demo district with a hand-built register of three organisations in the demo's streets: a grid
    cable and a confidential fibre route 2 m apart in the main street 3 months apart (a koppelkans), and
    a grid cable in the south street 3 years after the municipality resurfaced it (a graafrust conflict)."""
    folder = write_sample(tmp_path_factory.mktemp("service-plans"))
    demo = {p.id: p for p in read_plan_register(folder / "plans.geojson")}
    main = demo["riool-hoofdstraat"].geometry
    register = {"type": "FeatureCollection", "crs": CRS, "features": [
        feature("grid-main", GRID, "2028-03-01", "2028-09-30", main),
        feature("fibre-main", TELECOM, "2029-01-01", "2029-03-31", shapely.offset_curve(main, 2.0),
                confidential=True, budget_eur=250000, asset_types="glasvezel"),
        feature("road-south", CITY, "2027-03-01", "2027-06-30", demo["herinrichting-zuidstraat"].geometry),
        feature("grid-south", GRID, "2030-03-01", "2030-05-31", demo["ls-kabel-zuidstraat"].geometry),
    ]}
    (folder / "plans.geojson").write_text(json.dumps(register))
    return folder


@pytest.fixture(scope="module")
def service(scene, tmp_path_factory):
    db = tmp_path_factory.mktemp("db") / "service.sqlite"
    application = create_app(scene.parent, db, workers=1)
    store = application.state.service.store
    tokens = {"grid": store.add_token(GRID, "alice", "edit"), "telecom": store.add_token(TELECOM, "carol", "edit"),
              "city": store.add_token(CITY, "dave", "edit"), "public": store.add_token("public", "viewer", "read")}
    with TestClient(application, raise_server_exceptions=False) as client:
        yield client, {k: {"Authorization": f"Bearer {v}"} for k, v in tokens.items()}


BASE = "/api/scenes/demo/plans"


def test_others_see_a_confidential_plan_only_as_a_party_working_there_in_a_year(service):
    client, h = service
    own = {f["properties"]["id"]: f for f in client.get(BASE, headers=h["telecom"]).json()["features"]}
    assert own["fibre-main"]["properties"]["budget_eur"] == 250000 and own["fibre-main"]["version"] == 1
    for who in ("grid", "public"):
        answer = client.get(BASE, headers=h[who])
        assert answer.status_code == 200
        text = answer.text
        assert "fibre-main" not in text and TELECOM not in text and "250000" not in text and "glasvezel" not in text
        (withheld,) = [f for f in answer.json()["features"] if f["properties"]["id"].startswith("withheld-")]
        props = withheld["properties"]
        assert props["party"] == "a party" and props["theme"] == "withheld" and "version" not in withheld
        assert (props["realisatie_start"], props["realisatie_end"]) == ("2029-01-01", "2029-12-31")
        assert shapely.geometry.shape(withheld["geometry"]).contains(
            shapely.geometry.shape(own["fibre-main"]["geometry"]).buffer(0.5, cap_style="flat"))
        assert client.get(f"{BASE}/fibre-main", headers=h[who]).status_code == 404
    assert client.get(f"{BASE}/fibre-main", headers=h["telecom"]).headers["etag"] == '"1"'
    assert client.get(BASE).status_code == 401


@pytest.mark.parametrize("who", ["grid", "telecom"])
def test_the_plan_list_carries_the_koppelkansen_as_the_caller_sees_them_on_request(service, who):
    client, h = service
    plain = client.get(BASE, headers=h[who]).json()
    assert "koppelkansen" not in plain
    listed = client.get(BASE, params={"koppelkansen": "true"}, headers=h[who]).json()
    assert listed["features"] == plain["features"]
    # the planted pair: the grid cable and the fibre route 2 m apart, 3 months apart
    (chance,) = listed["koppelkansen"]
    fibre = next(f["properties"]["id"] for f in plain["features"] if f["properties"]["id"] != "grid-main"
                 and f["properties"]["realisatie_start"].startswith("2029"))
    assert sorted(chance["properties"]["plans"]) == sorted(["grid-main", fibre])
    assert (fibre == "fibre-main") == (who == "telecom")  # the grid operator sees it withheld
    assert TELECOM not in json.dumps(listed) or who == "telecom"


def test_each_party_edits_its_own_plans_with_version_checks(service, scene):
    client, h = service
    demo_main = {f["properties"]["id"]: f for f in client.get(BASE, headers=h["grid"]).json()["features"]}["grid-main"]
    new = {**demo_main, "properties": {**demo_main["properties"], "id": "grid-new", "realisatie_start": "2033-01-01",
                                       "realisatie_end": "2033-02-01"}}
    new.pop("version")
    assert client.post(BASE, json=new, headers=h["public"]).status_code == 403  # read-only token
    assert client.post(BASE, json=new, headers=h["city"]).status_code == 403  # not the city's plan
    created = client.post(BASE, json=new, headers=h["grid"])
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"{BASE}/grid-new" and created.headers["etag"] == '"1"'
    assert client.post(BASE, json=new, headers=h["grid"]).status_code == 409
    late = {**new, "properties": {**new["properties"], "id": "grid-late", "realisatie_end": "2032-01-01"}}
    refused = client.post(BASE, json=late, headers=h["grid"])
    assert refused.status_code == 422 and "grid-late" in refused.json()["detail"]
    assert "before start" in refused.json()["detail"]
    url = f"{BASE}/grid-new"
    moved = {**new, "properties": {**new["properties"], "realisatie_start": "2034-01-01", "realisatie_end": "2034-03-01"}}
    assert client.put(url, json=moved, headers=h["grid"]).status_code == 428
    assert client.put(url, json=moved, headers=h["city"]).status_code == 403
    updated = client.put(url, json=moved, headers={**h["grid"], "If-Match": '"1"'})
    assert updated.status_code == 200 and updated.headers["etag"] == '"2"'
    assert updated.json()["properties"]["realisatie_start"] == "2034-01-01"
    stale = client.put(url, json=new, headers={**h["grid"], "If-Match": '"1"'})
    assert stale.status_code == 412 and stale.headers["etag"] == '"2"'
    handed = {**moved, "properties": {**moved["properties"], "party": CITY}}
    assert client.put(url, json=handed, headers={**h["grid"], "If-Match": '"2"'}).status_code == 403
    assert client.delete(url, headers={**h["grid"], "If-Match": '"1"'}).status_code == 412
    assert client.delete(url, headers={**h["grid"], "If-Match": '"2"'}).status_code == 204
    assert client.get(url, headers=h["grid"]).status_code == 404
    # the file register is the seed only: the service's edits do not touch it
    assert [p.id for p in read_plan_register(scene / "plans.geojson")] == ["grid-main", "fibre-main", "road-south",
                                                                          "grid-south"]


def test_the_audit_log_names_a_confidential_plan_to_nobody_else(service):
    client, h = service
    url = f"{BASE}/fibre-main"
    current = client.get(url, headers=h["telecom"])
    changed = current.json()
    changed.pop("version")
    changed["properties"]["budget_eur"] = 310000
    assert client.put(url, json=changed, headers={**h["telecom"], "If-Match": current.headers["etag"]}).status_code == 200
    audit = client.get("/api/audit", headers=h["grid"]).text
    assert "update plan" in audit and "fibre-main" not in audit and "310000" not in audit
    restored = client.get(url, headers=h["telecom"])
    changed["properties"]["budget_eur"] = 250000
    assert client.put(url, json=changed, headers={**h["telecom"], "If-Match": restored.headers["etag"]}).status_code == 200


def run_process(client, headers, process, **inputs):
    started = client.post(f"/api/processes/{process}/execution", headers=headers,
                          json={"inputs": {"scene": "demo", **inputs}})
    assert started.status_code == 201, started.text
    location = started.headers["location"]
    for _ in range(600):
        status = client.get(location, headers=headers).json()
        if status["status"] in ("successful", "failed"):
            break
        time.sleep(0.1)
    assert status["status"] == "successful", status
    results = client.get(f"{location}/results", headers=headers).json()
    return location, results, client.get(f"{location}/findings", headers=headers).json()["features"]


def cli_findings(scene, organisation, command, tmp_path):
    out = tmp_path / organisation
    result = CliRunner().invoke(cli, ["plans", command, str(scene), "--organisation", organisation, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return json.loads((out / f"{command}.geojson").read_text())["features"]


@pytest.mark.parametrize("who, organisation", [("grid", GRID), ("telecom", TELECOM)])
def test_koppelkansen_and_graafrust_jobs_give_the_cli_answer_for_the_callers_view(service, scene, tmp_path, who,
                                                                                  organisation):
    client, h = service
    location, result, found = run_process(client, h[who], "koppelkansen")
    expected = cli_findings(scene, organisation, "koppelkansen", tmp_path)
    # the CLI adds the joined route check's verdict of each chance (a separate process in the service)
    assert [{k: v for k, v in f["properties"].items() if k != "analysis"} for f in found] == \
        [{k: v for k, v in f["properties"].items() if k != "joined"} for f in expected]
    (chance,) = found
    (partner,) = set(chance["properties"]["plans"]) - {"grid-main"}
    # the telecom operator sees its own plan; the grid operator only a withheld one
    assert partner == "fibre-main" if who == "telecom" else partner.startswith("withheld-")
    assert result["metrics"]["koppelkansen"] == 1.0 and result["metrics"]["digs_saved"] == 1.0
    assert "plans" not in result["settings"]
    # the job is its organisation's: it holds that organisation's view of the register
    other = "city"
    assert client.get(location, headers=h[other]).status_code == 404
    assert client.get(f"{location}/results", headers=h[other]).status_code == 404
    assert location.rsplit("/", 1)[1] not in client.get("/api/jobs", headers=h[other]).text
    assert "fibre-main" not in client.get("/api/audit", headers=h["grid"]).text

    _, result, conflicts = run_process(client, h[who], "graafrust")
    expected = cli_findings(scene, organisation, "graafrust", tmp_path)
    (conflict,) = conflicts
    assert conflict["properties"]["plan"] == "grid-south" and conflict["properties"]["after"] == "road-south"
    assert conflict["properties"]["surface"] == "carriageway"  # the twin's surface under the resurfaced street
    assert conflict["properties"]["rule"] == expected[0]["properties"]["rule"]
    assert result["metrics"]["conflicts"] == 1.0


def test_a_shift_in_the_job_inputs_moves_a_plan_apart(service):
    client, h = service
    _, result, found = run_process(client, h["telecom"], "koppelkansen", shift_years={"fibre-main": 3})
    assert found == [] and result["metrics"]["koppelkansen"] == 0.0
    _, result, found = run_process(client, h["telecom"], "graafrust", shift_years={"road-south": -3})
    assert found == []  # resurfaced in 2024: closed until 30 June 2029 (5 years), the cable starts in March 2030
    started = client.post("/api/processes/koppelkansen/execution", headers=h["telecom"],
                          json={"inputs": {"scene": "demo", "shift_years": {"fibre-main": 1.5}}})
    assert started.status_code == 422 and "shift_years" in started.json()["detail"]


def test_every_plan_of_a_confidential_owner_reads_withheld_to_others(scene, tmp_path):
    application = create_app(scene.parent, tmp_path / "service.sqlite", confidential=[GRID], workers=1)
    store = application.state.service.store
    city = {"Authorization": f"Bearer {store.add_token(CITY, 'erin', 'edit')}"}
    grid = {"Authorization": f"Bearer {store.add_token(GRID, 'frank', 'read')}"}
    with TestClient(application, raise_server_exceptions=False) as client:
        seen = [f["properties"] for f in client.get(BASE, headers=city).json()["features"]]
        assert [p["id"] for p in seen if not p["id"].startswith("withheld-")] == ["road-south"]
        assert len(seen) == 4 and GRID not in json.dumps(seen)  # the grid's two plans and the fibre route
        own = {f["properties"]["id"] for f in client.get(BASE, headers=grid).json()["features"]}
        assert {"grid-main", "grid-south", "road-south"} <= own
        assert client.get(f"{BASE}/grid-main", headers=city).status_code == 404
