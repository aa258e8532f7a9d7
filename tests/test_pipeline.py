"""The one pipeline: cache keys notice a changed rule value and changed analysis code, and keep a
result when only tables the analysis never read change."""

import hashlib

import pytest

from stadstwin.analyses.result import AnalysisResult
from stadstwin.rules import load_rules
from stadstwin.scenario import code_digest as digest_module
from stadstwin.scenario.code_digest import code_digest, code_sources
from stadstwin.scenario.pipeline import run_analysis
from stadstwin.scenario.variants import base_variant
from twins import small_site

CALLS: list[float] = []


def warning_level(twin, rules, settings):
    """The drinking-water warning level [°C] of the rules (reads only the drinking_water table)."""
    CALLS.append(rules.drinking_water.warning.value)
    return AnalysisResult("warning", metrics={"warning_c": rules.drinking_water.warning.value})


def run(folder, rules=None):
    site = small_site({"warning": warning_level}, folder, rules)
    return run_analysis(site, base_variant("t"), "warning")


def test_a_changed_rule_value_recomputes_and_an_unread_table_does_not(tmp_path):
    CALLS.clear()
    shipped = load_rules().drinking_water.warning.value
    assert run(tmp_path).metrics["warning_c"] == shipped and len(CALLS) == 1
    assert run(tmp_path).metrics["warning_c"] == shipped and len(CALLS) == 1  # cached
    stricter = load_rules({"drinking_water": {"warning": {"value": shipped - 1.0}}})
    assert run(tmp_path, stricter).metrics["warning_c"] == shipped - 1.0 and len(CALLS) == 2
    other_soil = load_rules({"soil": {"default": "nen1010"}})  # a table this analysis never reads
    assert run(tmp_path, other_soil).metrics["warning_c"] == shipped and len(CALLS) == 2
    assert run(tmp_path, stricter).metrics["warning_c"] == shipped - 1.0 and len(CALLS) == 2  # both kept


def test_code_digest_covers_the_analysis_and_every_stadstwin_module_it_imports():
    sources = code_sources("stadstwin.analyses.water_warming")
    assert {"stadstwin.analyses.water_warming", "stadstwin.thermal", "stadstwin.rules.tables"} <= set(sources)
    assert "stadstwin.engines.transient_line_source" in sources  # imported by stadstwin.thermal, not directly
    assert not any(n.startswith(("stadstwin.service", "stadstwin.render", "stadstwin.cli")) for n in sources)
    reference = hashlib.blake2b(digest_size=20)
    for name in sorted(sources):
        reference.update(name.encode())
        reference.update(sources[name].read_bytes())
    assert code_digest("stadstwin.analyses.water_warming") == reference.hexdigest()


def test_code_digest_changes_with_the_source(tmp_path, monkeypatch):
    module = tmp_path / "probe_analysis.py"
    module.write_text("def probe(twin, rules, settings):\n    return 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    digest_module.code_digest.cache_clear()
    before = code_digest("probe_analysis")
    module.write_text("def probe(twin, rules, settings):\n    return 2\n")
    digest_module.code_digest.cache_clear()
    assert code_digest("probe_analysis") != before


@pytest.mark.parametrize("name", ["heat", "clashes", "thermal"])
def test_analyses_draw_nothing(name):
    from stadstwin.analyses.registry import ANALYSES

    module = ANALYSES[name].__module__
    assert not any(n.startswith("stadstwin.render") for n in code_sources(module))
    assert all(b"pyplot" not in path.read_bytes() for path in code_sources(module).values())


def test_code_digests_on_many_threads_at_once_agree_with_one_thread():
    """Service jobs prepare analyses on threads; CPython 3.11's parser fails when two parse at once."""
    from concurrent.futures import ThreadPoolExecutor

    from stadstwin.scenario.code_digest import code_sources

    modules = ["stadstwin.analyses.heat_stress", "stadstwin.analyses.water_nuisance", "stadstwin.analyses.underground",
               "stadstwin.analyses.water_warming"] * 6
    expected = {m: code_sources(m) for m in set(modules)}
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(code_sources, modules)) == [expected[m] for m in modules]
