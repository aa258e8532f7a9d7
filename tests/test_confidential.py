"""A confidential network owner's assets appear in no answer to another organisation.

The demo district's KLIC delivery has a telecom operator; the service lists it as confidential. Its
own organisation creates a variant whose edits name its cables (abandon one, relocate one, lay a new
one) and runs jobs on it: the real ``clashes`` analysis, a comparison, and a ``failing`` stand-in
whose inputs and error name one of its cables. Then every route is asked as another organisation (a grid
operator with an edit token, and a read-only viewer): GLB layers, variant list and read, findings,
the scene summary, job list, status and results, the comparison report through the jobs API, the
audit log and error answers. None of the owner's feature ids (also those its edits create),
container ids or its owner name may appear in any of those bytes — while the owner's own
organisation sees them in the same answers.
"""

from __future__ import annotations

import json
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pytest
from fastapi.testclient import TestClient
from test_service import glb_json, wait

from stadstwin import build_twin
from stadstwin.analyses.registry import ANALYSES
from stadstwin.analyses.result import AnalysisResult
from stadstwin.analyses.underground import run_clash_check
from stadstwin.build.summary import summarize
from stadstwin.errors import InputError
from stadstwin.model.utilities import Utility
from stadstwin.service import create_app

VARIANT = "fibre-works"


def failing(twin, rules, settings):
    """An analysis that fails naming the cable given in ``settings`` (without one, as in a comparison,
    it finds nothing)."""
    if "feature" not in settings:
        return AnalysisResult("failing")
    assert settings["feature"] in twin.networks.feature_id
    raise InputError("no operating point for this cable", feature=settings["feature"])


@pytest.fixture(scope="module")
def world(demo_scene: Path, tmp_path_factory):
    """(app, client, headers per party, secret owner, other owner, the secret owner's feature ids)."""
    twin = build_twin(demo_scene)
    networks = twin.networks
    owners = networks.owner_name.astype(str)
    assert set(summarize(twin)["networks"]["owners"]) == set(owners.tolist())
    telecom = owners[networks.utility == Utility.TELECOM]
    names, counts = np.unique(telecom, return_counts=True)
    secret = str(names[np.argmax(counts)])  # the telecom operator of the delivery
    power = owners[np.isin(networks.utility, [Utility.ELECTRICITY_LV, Utility.ELECTRICITY_MV])]
    other = str(np.unique(power)[0])
    assert other != secret
    ids = sorted(set(networks.feature_id[owners == secret].tolist()))
    containers = {c for c in networks.container[owners == secret].tolist() if c}

    db = tmp_path_factory.mktemp("confidential") / "service.sqlite"
    with patch.dict(ANALYSES, {"clashes": run_clash_check, "failing": failing}, clear=True):
        app = create_app(demo_scene.parent, db, confidential=[secret], workers=1)
    store = app.state.service.store
    tokens = {"owner": store.add_token(secret, "olga", "edit"), "other": store.add_token(other, "otto", "edit"),
              "public": store.add_token("public", "viewer", "read")}
    with TestClient(app, raise_server_exceptions=False) as client:
        yield (app, client, {k: {"Authorization": f"Bearer {v}"} for k, v in tokens.items()}, secret, other,
               ids, containers)


def fibre_variant(secret: str, ids: list[str]) -> dict:
    street = 463092.0  # Hoofdstraat, between the building rows (the heat network variants lie here too)
    return {
        "id": VARIANT, "name": "Glasvezel Hoofdstraat", "phase": "ontwerp", "parties": ["Gemeente Utrecht"],
        "edits": [
            {"type": "abandon_network", "id": "old-cable", "features": [ids[0]]},
            {"type": "relocate_network", "id": "moved-cable", "feature": ids[1], "cover": 0.6,
             "route": {"type": "LineString", "coordinates": [[155010.0, street + 1.5], [155240.0, street + 1.5]]}},
            {"type": "add_network", "id": "new-cable", "utility": "telecom", "owner": secret, "outer_diameter": 0.05,
             "cover": 0.6, "route": {"type": "LineString", "coordinates": [[155010.0, street], [155240.0, street]]}},
        ],
    }


def run(client, headers, process, inputs) -> tuple[dict, str]:
    response = client.post(f"/api/processes/{process}/execution", json={"inputs": inputs}, headers=headers)
    assert response.status_code == 201, response.text
    return wait(client, response.headers["location"], headers, limit=300), response.headers["location"]


def answers(client, headers, jobs: dict[str, str], feature: str) -> dict[str, bytes]:
    """Every answer the service gives ``headers``' organisation about the scene, the variant and the jobs,
    and an error answer to a request naming ``feature``."""
    got: dict[str, bytes] = {}

    def get(name: str, url: str, status: int = 200) -> bytes:
        response = client.get(url, headers=headers)
        assert response.status_code == status, (url, response.text)
        got[name] = response.content
        return response.content

    get("scene", "/api/scenes/demo")
    get("variants", "/api/scenes/demo/variants")
    get("variant", f"/api/scenes/demo/variants/{VARIANT}")
    for vid in ("base", VARIANT):
        listed = json.loads(get(f"layers {vid}", f"/api/scenes/demo/variants/{vid}/layers"))
        for layer in listed["layers"]:
            get(f"{layer['name']}.glb {vid}", layer["url"])
        get(f"findings {vid}", f"/api/scenes/demo/variants/{vid}/findings")
    get("jobs", "/api/jobs")
    for name, location in jobs.items():
        get(f"status {name}", location)
        if name == "failing":
            get(f"results {name}", f"{location}/results", 404)
        else:
            get(f"results {name}", f"{location}/results")
        if name == "clashes":
            get(f"findings {name}", f"{location}/findings")
    if "Bearer" in headers["Authorization"] and client.get("/api/audit", headers=headers).status_code == 200:
        get("audit", "/api/audit")
    # an error answer echoing the feature id the caller's request named
    bad = {"id": "bad", "name": "bad", "phase": "ontwerp",
           "edits": [{"type": "abandon_network", "id": "e1", "features": feature}]}
    response = client.post("/api/scenes/demo/variants", json=bad, headers=headers)
    assert response.status_code in (403, 422), response.text
    got["error"] = response.content
    return got


def test_a_confidential_owners_assets_appear_in_no_answer_to_another_organisation(world):
    app, client, h, secret, other, ids, containers = world
    body = fibre_variant(secret, ids)
    created = client.post("/api/scenes/demo/variants", json=body, headers=h["owner"])
    assert created.status_code == 201, created.text
    assert ids[0].encode() in created.content  # the owner sees its own edit

    jobs = {}
    status, jobs["clashes"] = run(client, h["owner"], "clashes", {"scene": "demo", "variant": VARIANT})
    assert status["status"] == "successful", status
    status, jobs["compare"] = run(client, h["owner"], "compare", {"scene": "demo", "variants": ["base", VARIANT]})
    assert status["status"] == "successful", status
    status, jobs["failing"] = run(client, h["owner"], "failing",
                                  {"scene": "demo", "variant": VARIANT, "settings": {"feature": ids[0]}})
    assert status["status"] == "failed" and ids[0] in status["message"], status
    status, _ = run(client, h["other"], "build", {"scene": "demo"})
    assert status["status"] == "successful"

    created_ids = [f"{VARIANT}/moved-cable", f"{VARIANT}/new-cable"]  # features the edits create
    secrets = [secret, *ids, *created_ids, *containers]

    # the owner's organisation sees its assets in these very answers (so this test can fail)
    own = answers(client, h["owner"], jobs, ids[0])
    assert ids[0].encode() in own["variant"] and ids[1].encode() in own["variants"]
    assert secret.encode() in own["network_telecom.glb base"] and ids[2].encode() in own["network_telecom.glb base"]
    assert any(i.encode() in own["findings clashes"] for i in ids)
    assert any(i.encode() in own["results compare"] for i in ids)
    assert created_ids[1].encode() in own[f"findings {VARIANT}"] or created_ids[1].encode() in own["results compare"]
    assert ids[0].encode() in own["status failing"] and ids[0].encode() in own["jobs"]
    assert ids[0].encode() in own["results failing"]  # the 404 names why the job has no results
    assert secret.encode() in own["audit"] and ids[0].encode() in own["audit"]
    assert secret.encode() in own["scene"]
    assert ids[0].encode() in own["error"]

    for party in ("other", "public"):
        seen = answers(client, h[party], jobs, ids[0])
        leaks = {name: [s for s in secrets if s.encode() in data] for name, data in seen.items()}
        assert not {name: found for name, found in leaks.items() if found}, party
        # what stays: the space the cables take, their utility kind, and that they are confidential
        nodes = glb_json(seen["network_telecom.glb base"])["nodes"]
        hidden = [n for n in nodes if (n.get("extras") or {}).get("confidential")]
        assert hidden and all(n["extras"] == {"utility": "telecom", "confidential": True} for n in hidden)
        assert len([n for n in nodes if "mesh" in n]) == len([n for n in glb_json(own["network_telecom.glb base"])
                                                              ["nodes"] if "mesh" in n])
        variant = json.loads(seen["variant"])
        assert variant["edits"][0]["features"] == ["confidential"] and variant["edits"][2]["owner"] == "confidential"
        assert variant["edits"][1]["route"] == body["edits"][1]["route"]
        summary = json.loads(seen["scene"])["summary"]["networks"]
        assert "confidential" in summary["owners"] and summary["segments"] == len(app.state.service.catalog.base(
            "demo")[1].networks)
        findings = json.loads(seen["findings clashes"])["features"]
        assert findings and any(f["properties"].get("owner_a") == "confidential" for f in findings)
        assert json.loads(seen["results compare"])["variants"][1]["id"] == VARIANT
        if party == "other":
            audit = json.loads(seen["audit"])
            assert any(e["organisation"] == "confidential" and e["action"] == "create variant" for e in audit)
            assert any(e["organisation"] == other for e in audit)
            assert b"confidential" in seen["error"]


def test_a_redacted_comparison_reports_no_confidential_asset(world, tmp_path):
    """``Visibility.comparison`` (for a cached /compare answer and its HTML): findings of every run and
    the new/resolved findings are redacted, the variants stay valid."""
    from stadstwin.scenario.report import report_data, write_report
    from stadstwin.service.processes import comparison

    app, _, h, secret, _, ids, _ = world
    svc = app.state.service
    bodies = [svc.variant("demo", "base")[0].model_dump(mode="json"), fibre_variant(secret, ids)]
    done = comparison(svc.catalog, "demo", bodies, {})
    assert any(i in json.dumps(report_data(done), default=str) for i in ids)
    _, plain = write_report(done, tmp_path / "owner")
    assert secret.encode() in plain.read_bytes()  # the owner's own report names its cables
    for name in ("other", "public"):
        who = svc.store.principal(h[name]["Authorization"].removeprefix("Bearer "))
        visibility = svc.visibility(who)
        redacted = visibility.comparison(done, svc.withheld(who, "demo", bodies))
        html, report = write_report(redacted, tmp_path / name)
        for data in (html.read_bytes(), report.read_bytes()):
            assert secret.encode() not in data and not any(i.encode() in data for i in ids)
        assert redacted.runs[1].variant.edits[0]["features"] == ["confidential"]
        assert len(redacted.runs[1].results["clashes"].findings) == len(done.runs[1].results["clashes"].findings)
