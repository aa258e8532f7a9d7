"""What the service prepares once and serves from memory stays true to the files and the database:
a rewritten file is answered with its new bytes and tag, a big file from disk gives the same answer,
concurrent first reads prepare a file once, results written by another connection are seen, and a
deleted layer export is made again."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import os
import shutil
import time
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from test_service import scenes, service  # noqa: F401  (fixtures)

from stadstwin.service import http_cache
from stadstwin.service.context import ResponseCache
from stadstwin.service.store import Principal, Store


def file_app(path: Path, media_type: str) -> TestClient:
    app = FastAPI()

    @app.get("/file")
    async def read(request: Request):
        return await http_cache.file_answer(request, path, media_type)

    return TestClient(app)


def blake2b_tag(data: bytes) -> str:
    return f'"{hashlib.blake2b(data, digest_size=16).hexdigest()}"'


def check_answers(client: TestClient, data: bytes) -> None:
    """Plain and gzipped answers hold ``data``; its tag revalidates to an empty 304."""
    plain = client.get("/file", headers={"Accept-Encoding": "identity"})
    packed = client.get("/file", headers={"Accept-Encoding": "gzip"})
    assert plain.content == data and plain.headers["etag"] == packed.headers["etag"] == blake2b_tag(data)
    assert packed.headers["content-encoding"] == "gzip" and packed.content == data
    again = client.get("/file", headers={"If-None-Match": blake2b_tag(data)})
    assert again.status_code == 304 and again.content == b""


@pytest.mark.parametrize("in_memory", [True, False])
def test_a_rewritten_file_is_answered_with_its_new_bytes_and_tag(tmp_path, monkeypatch, in_memory):
    if not in_memory:  # every file is "big": sent from disk, its gzip written beside it
        monkeypatch.setattr(http_cache, "IN_MEMORY_BYTES", 0)
    path = tmp_path / f"layer-{in_memory}.glb"
    first = os.urandom(3000) + bytes(50_000)
    path.write_bytes(first)
    client = file_app(path, "model/gltf-binary")
    check_answers(client, first)
    assert (path.with_name(path.name + ".gz")).is_file() is not in_memory
    second = bytes(20_000) + os.urandom(1000)  # other size and content, as a re-export would write
    path.write_bytes(second)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    check_answers(client, second)
    if not in_memory:
        assert gzip.decompress((path.with_name(path.name + ".gz")).read_bytes()) == second


def test_concurrent_first_reads_prepare_a_file_once(tmp_path, monkeypatch):
    path = tmp_path / "terrain.glb"
    data = os.urandom(100_000)
    path.write_bytes(data)
    prepare, calls = http_cache._files.prepare, []

    def counted(*args):
        calls.append(args)
        time.sleep(0.2)  # long enough for every request to arrive while the first preparation runs
        return prepare(*args)

    monkeypatch.setattr(http_cache._files, "prepare", counted)
    app = file_app(path, "model/gltf-binary").app

    async def read_all():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            return await asyncio.gather(*(client.get("/file") for _ in range(10)))

    answers = asyncio.run(read_all())
    assert len(calls) == 1 and all(a.status_code == 200 and a.content == data for a in answers)


def test_latest_results_see_a_job_finished_through_another_connection(tmp_path):
    db = tmp_path / "service.sqlite"
    reader, writer = Store(db), Store(db)
    who = Principal("bench", "GM0344", "edit")
    assert reader.latest_results("demo", "base", 0) == []
    inputs = {"scene": "demo", "variant": "base", "variant_version": 0}
    job = writer.create_job("probe", inputs, who)
    assert reader.latest_results("demo", "base", 0) == []  # accepted, not successful yet
    writer.set_job(job.id, status="successful", result={"rasters": []})
    assert [j.id for j in reader.latest_results("demo", "base", 0)] == [job.id]
    other = reader.create_job("other", inputs, who)  # through the reading connection itself
    reader.set_job(other.id, status="successful", result={"rasters": []})
    assert {j.id for j in reader.latest_results("demo", "base", 0)} == {job.id, other.id}
    reader.close()
    writer.close()


def test_a_deleted_layer_export_is_made_again(service):  # noqa: F811
    app, client, h, _ = service
    url = "/api/scenes/demo/variants/base/layers/network_water.glb"
    before = client.get(url, headers=h["public"])
    assert before.status_code == 200
    shutil.rmtree(app.state.service.files / "layers")
    after = client.get(url, headers=h["public"])
    assert after.status_code == 200 and after.content == before.content
    assert after.headers["etag"] == before.headers["etag"]


def test_kept_answers_stay_within_their_byte_budget_dropping_the_least_recently_used():
    answers = {name: http_cache.prepare_body(os.urandom(1000), "image/png") for name in "abcd"}
    kept = ResponseCache(size=10, budget=2500)  # room for two 1000-byte answers, not three
    kept.put("a", answers["a"])
    kept.put("b", answers["b"])
    assert kept.get("a") is answers["a"]  # now "b" is the least recently used
    kept.put("c", answers["c"])
    assert [k for k in "abc" if kept.get(k) is not None] == ["a", "c"]
    kept.put("a", answers["d"])  # replacing an answer frees its bytes
    assert kept.get("a") is answers["d"] and kept.get("c") is answers["c"]
