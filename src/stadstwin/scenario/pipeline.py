"""The one path from a plan to its answer: every analysis stadstwin runs goes through here.

The CLI, the service's jobs, a comparison and a batch study all call :func:`run_analysis` (or
:func:`prepare` + :func:`run_prepared` where the settings are resolved once for many variants):

1. **settings** — what the scene implies (``thermal``: its soil; ``heat``: its day, its weather file
   and the plan area of the compared variants, their union, the same for every variant;
   ``sightlines``: its viewpoints and landmarks), with what
   the caller gives on top;
2. **inputs** — files the settings name (the weather file) are read here, never in an analysis;
3. **twin** — the variant's edits applied to the base twin (kept in memory by content key);
4. **key** — the variant twin's key, the analysis name, its settings (files by their content), a
   digest of the analysis code (``code_digest``) and of the rule tables it read when it last ran;
5. **run or load** — a result under that key is loaded, otherwise computed and stored.
"""

from __future__ import annotations

import inspect
import json
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import shapely

from stadstwin.analyses.heat_stress import parse_day
from stadstwin.analyses.registry import ANALYSES, PLANNING
from stadstwin.analyses.result import Analysis, AnalysisResult
from stadstwin.analyses.water_warming import scene_settings as thermal_settings
from stadstwin.build.cache import (
    CACHE_FOLDER,
    content_key,
    file_digest,
    read_pickle,
    twin_key,
    write_pickle,
)
from stadstwin.build.twin_builder import build_twin
from stadstwin.errors import InputError
from stadstwin.io.plan_register import REGISTER, plan_feature, read_plan_register
from stadstwin.io.weather import read_weather
from stadstwin.model.scene import Scene
from stadstwin.model.twin import Twin
from stadstwin.model.variant import Variant
from stadstwin.rules import Rules
from stadstwin.rules.usage import recording, tables_digest
from stadstwin.scenario.apply import apply_variant
from stadstwin.scenario.code_digest import code_digest
from stadstwin.scenario.variants import BASE

#: ``progress(step, done, total)``, as the build and the heat analysis report it.
Progress = Callable[[str, int, int], None]

#: How many variant twins a site keeps in memory.
VARIANT_TWINS_KEPT = 16


class ResultCache:
    """Analysis results pickled under their content key in a folder (None: nothing is kept).

    Beside each result lies ``<key>.tables.json``: the rule tables the analysis read, so the key of
    the next run can include exactly their values.
    """

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    def get(self, key: str) -> AnalysisResult | None:
        if self.folder is None:
            return None
        return read_pickle(self.folder / f"{key}.pickle", AnalysisResult)  # type: ignore[return-value]

    def put(self, key: str, result: AnalysisResult) -> None:
        if self.folder is not None:
            write_pickle(self.folder / f"{key}.pickle", result)

    def tables(self, key: str) -> list[str] | None:
        """The rule tables recorded for the code-and-settings key ``key``; None when not known."""
        path = None if self.folder is None else self.folder / f"{key}.tables.json"
        if path is None or not path.is_file():
            return None
        try:
            tables = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return tables if isinstance(tables, list) else None

    def put_tables(self, key: str, tables: list[str]) -> None:
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", dir=self.folder, delete=False, suffix=".tmp") as f:
                f.write(json.dumps(sorted(tables)))
            os.replace(f.name, self.folder / f"{key}.tables.json")


def variant_key(base_key: str, variant: Variant) -> str:
    """Content key of a variant's twin."""
    if variant.id == BASE and not variant.edits:
        return base_key
    return content_key(base_key, variant.model_dump_json())


@dataclass(eq=False)
class Site:
    """A scene ready to analyse: its rules, its base twin and key, the result cache and the analyses.

    ``scene`` is None for a twin made in memory (it implies no settings).

    Variant twins are made on first use and kept by content key. A site pickles without them (a
    batch study sends one to every worker).
    """

    scene: Scene | None
    rules: Rules
    base: Twin
    base_key: str
    results: ResultCache
    analyses: Mapping[str, Analysis] = field(default_factory=lambda: ANALYSES)
    _twins: OrderedDict[str, Twin] = field(default_factory=OrderedDict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def open(cls, scene: Scene | str | Path, *, use_cache: bool = True, analyses: Mapping[str, Analysis] | None = None,
             progress: Progress | None = None) -> Site:
        """Load the scene and build (or load) its base twin; ``use_cache=False`` rebuilds and recomputes."""
        if not isinstance(scene, Scene):
            scene = Scene.load(scene)
        base = build_twin(scene, use_cache=use_cache, progress=progress)
        results = ResultCache(scene.root / CACHE_FOLDER / "results" if use_cache else None)
        return cls(scene, scene.load_rules(), base, twin_key(scene), results,
                   ANALYSES if analyses is None else analyses)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_twins": OrderedDict(), "_lock": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _lock=threading.Lock())

    def key(self, variant: Variant) -> str:
        """Content key of the variant's twin."""
        return variant_key(self.base_key, variant)

    def twin(self, variant: Variant, origin: str = "") -> Twin:
        """The twin of ``variant`` (the base twin for the unchanged scene); ``origin`` names its file in errors."""
        if variant.id == BASE and not variant.edits:
            return self.base
        key = self.key(variant)
        with self._lock:
            if key in self._twins:
                self._twins.move_to_end(key)
                return self._twins[key]
        twin = apply_variant(self.base, variant, self.rules, origin=origin or f"variant {variant.id}")
        with self._lock:
            self._twins[key] = twin
            while len(self._twins) > VARIANT_TWINS_KEPT:
                self._twins.popitem(last=False)
        return twin

    def analysis(self, name: str) -> Analysis:
        if name not in self.analyses:
            raise InputError(f"unknown analysis {name!r}", feature=name,
                             hint=f"analyses: {', '.join(sorted(self.analyses)) or 'none'}")
        return self.analyses[name]


def implied_settings(scene: Scene | None, name: str, compared: Sequence[Variant]) -> dict[str, Any]:
    """The settings a scene implies for analysis ``name`` when ``compared`` variants are compared."""
    if scene is None:
        return {}
    if name == "thermal":
        return thermal_settings(scene)
    if name == "sightlines":
        return scene.sightlines.model_dump()
    if name in PLANNING:
        return register_settings(scene.root)
    if name != "heat":
        return {}
    heat: dict[str, Any] = {}
    if scene.climate.date is not None:
        heat["date"] = scene.climate.date.isoformat()
    if scene.climate.weather is not None:
        heat["weather"] = str(scene.climate.weather.path)
    areas = [v.area_geometry for v in compared if v.area is not None]
    if areas:
        heat["area"] = shapely.geometry.mapping(shapely.union_all(areas))
    return heat


def register_settings(folder: Path) -> dict[str, Any]:
    """``{"plans": features}`` of the register in scene folder ``folder`` (none without a register)."""
    register = folder / REGISTER
    return {"plans": [plan_feature(p) for p in read_plan_register(register)] if register.is_file() else []}


def resolve_settings(scene: Scene | None, name: str, compared: Sequence[Variant],
                     overrides: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(settings as recorded, inputs as the analysis gets them) of ``name``: the scene's implied settings,
    ``overrides`` on top, the weather file read (recorded by name and content digest)."""
    settings = {**implied_settings(scene, name, compared), **(overrides or {})}
    settings = json.loads(json.dumps(settings, default=str))  # JSON-like, as a job or study stores it
    inputs = dict(settings)
    weather = settings.get("weather") if name == "heat" else None
    if weather is not None:
        path = Path(str(weather))
        if not path.is_file():
            raise InputError("weather file not found", path=path, feature="weather")
        day = parse_day(settings.get("date"))
        inputs["weather"] = read_weather(path, year=None if day is None else day.year)
        settings["weather"] = {"file": path.name, "digest": file_digest(path)}
    return settings, inputs


@dataclass(frozen=True)
class Prepared:
    """One analysis with its resolved settings: ``settings`` as recorded and keyed (a file by its
    name and content digest), ``inputs`` as the analysis gets them (the file read)."""

    name: str
    settings: dict[str, Any]
    inputs: dict[str, Any]
    key: str


def prepare(site: Site, name: str, compared: Sequence[Variant], overrides: Mapping[str, Any] | None = None
            ) -> Prepared:
    """Resolve the settings of ``name`` for a run among ``compared`` and read the files they name."""
    analysis = site.analysis(name)
    settings, inputs = resolve_settings(site.scene, name, compared, overrides)
    module = getattr(analysis, "__module__", None) or type(analysis).__module__
    key = content_key(name, json.dumps(settings, sort_keys=True), code_digest(module))
    return Prepared(name, settings, inputs, key)


def load_prepared(site: Site, variant: Variant, prepared: Prepared) -> AnalysisResult | None:
    """The cached result of a prepared analysis on ``variant``; None when it has to be computed."""
    base = content_key(site.key(variant), prepared.key)
    tables = site.results.tables(base)
    if tables is None:
        return None
    return site.results.get(content_key(base, tables_digest(site.rules, tables)))


def run_prepared(site: Site, variant: Variant, prepared: Prepared, *, origin: str = "",
                 progress: Progress | None = None) -> tuple[AnalysisResult, bool]:
    """(result, computed) of a prepared analysis on ``variant``: loaded when its key is known
    (computed False), else computed and stored."""
    cached = load_prepared(site, variant, prepared)
    if cached is not None:
        return cached, False
    base = content_key(site.key(variant), prepared.key)
    twin = site.twin(variant, origin)
    rules = recording(site.rules)
    analysis = site.analysis(prepared.name)
    options = dict(prepared.inputs)
    if progress is not None and "progress" in inspect.signature(analysis).parameters:
        result = analysis(twin, rules, options, progress=progress)  # type: ignore[call-arg]
    else:
        result = analysis(twin, rules, options)
    # every result states the ground its depths and heights stand on
    result = replace(result, settings=prepared.settings, details={**result.details, "terrain": twin.terrain})
    read = sorted(rules.tables_read)
    site.results.put_tables(base, read)
    site.results.put(content_key(base, tables_digest(site.rules, read)), result)
    return result, True


def run_analysis(site: Site, variant: Variant, name: str, overrides: Mapping[str, Any] | None = None, *,
                 compared: Sequence[Variant] | None = None, origin: str = "",
                 progress: Progress | None = None) -> AnalysisResult:
    """Analysis ``name`` on ``variant`` of the site's scene, with the scene's settings and ``overrides``
    on top; ``compared`` (default: the variant alone) are the variants whose plan areas count."""
    prepared = prepare(site, name, [variant] if compared is None else compared, overrides)
    return run_prepared(site, variant, prepared, origin=origin, progress=progress)[0]

