"""Command line: ``stadstwin --help``. Commands only orchestrate; the work lives in the layers below."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from stadstwin import __version__
from stadstwin.errors import InputError, StadstwinError

app = typer.Typer(
    help="stadstwin: 3D digital twin of Dutch streets, above and below ground.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts are plain: units such as [m] stay in them
)
scene_app = typer.Typer(help="Inspect and validate scene definitions.", no_args_is_help=True,
                      rich_markup_mode=None)
app.add_typer(scene_app, name="scene")
check_app = typer.Typer(help="Run one analysis on a scene or variant: clashes, thermal, heat, water, sightlines.",
                        no_args_is_help=True, rich_markup_mode=None)
app.add_typer(check_app, name="check")
plans_app = typer.Typer(help="The plan register: every party's works, koppelkansen and graafrust.",
                        no_args_is_help=True, rich_markup_mode=None)
app.add_typer(plans_app, name="plans")

console = Console()
errors = Console(stderr=True)


def fail(error: StadstwinError) -> None:
    """Print a stadstwin error without a stack trace and exit with status 1."""
    from rich.markup import escape

    errors.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def _version(value: bool) -> None:
    if value:
        console.print(f"stadstwin {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """stadstwin command line."""
    import warnings

    warnings.showwarning = _show_warning


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning as one line on stderr (its message names the file, the feature and what was done),
    without Python's source location."""
    from rich.markup import escape

    errors.print(f"[yellow]warning:[/] {escape(str(message))}", soft_wrap=True)


class _Bars:
    """Rich progress bars for long steps, one bar per step name (a ``progress(step, done, total)`` callback)."""

    def __init__(self, progress) -> None:
        self.progress = progress
        self.tasks: dict[str, int] = {}

    def __call__(self, step: str, done: int, total: int) -> None:
        if step not in self.tasks:
            self.tasks[step] = self.progress.add_task(step, total=max(total, 1))
        self.progress.update(self.tasks[step], completed=done, total=max(total, 1))


def _progress():
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=console, transient=False)


@app.command()
def sample(folder: Path = typer.Argument(..., help="Folder to write the demo district into."),
           seed: int = typer.Option(0, min=0, help="Random seed (same seed, same files)."),
           scale: int = typer.Option(1, min=1, max=50, help="Area multiplier: about 6 × scale blocks (scale 10 ≈ 1,800 buildings).")) -> None:
    """Write the synthetic demo district in real formats (LAZ, CityJSON, IMKL, GeoJSON, GeoPackage)."""
    from stadstwin.sample import write_sample

    scene = write_sample(folder, seed=seed, scale=scale)
    console.print(f"demo district written; scene: [bold]{scene}[/]")


@app.command()
def build(scene: Path = typer.Argument(..., help="Scene folder or its scene.toml."),
          no_cache: bool = typer.Option(False, "--no-cache", help="Rebuild even if a cached twin exists."),
          tile_size: float = typer.Option(None, "--tile-size", min=1.0,
                                          help="Build tile by tile: square tiles of this size [m], one twin each on disk."),
          margin: float = typer.Option(None, min=0.0, help="With --tile-size: margin around each tile [m] "
                                                           "(default: the scene's shadow_buffer).")) -> None:
    """Build (and cache) the twin of a scene and print what it holds."""
    import json

    from stadstwin.build.summary import summarize
    from stadstwin.build.twin_builder import build_twin

    if tile_size is not None:
        _build_tiled(scene, tile_size, margin, no_cache)
        return
    try:
        with _progress() as progress:
            twin = build_twin(scene, use_cache=not no_cache, progress=_Bars(progress))
    except StadstwinError as exc:
        fail(exc)
    summary = summarize(twin)
    table = Table(title=f"twin {twin.name}", show_header=False)
    b = summary["bounds"]
    table.add_row("extent", f"x {b[0]:.0f}–{b[2]:.0f}, y {b[1]:.0f}–{b[3]:.0f} m (EPSG:7415)")
    table.add_row("ground", summary["ground"] or "unknown")
    for name, raster in summary["terrain"].items():
        if raster:
            table.add_row(name, f"{raster['shape'][0]}×{raster['shape'][1]} cells of {raster['cell_size_m']:g} m, "
                                f"{raster['min']:.2f}–{raster['max']:.2f} m, gaps {raster['gap_fraction']:.1%}")
    if summary["surface_shares"]:
        table.add_row("surface", ", ".join(f"{k} {v:.0%}" for k, v in summary["surface_shares"].items()))
    bl = summary["buildings"]
    table.add_row("buildings", f"{bl['count']} ({bl['with_mesh']} with 3D mesh, {bl['without_height']} without height)")
    table.add_row("trees", f"{summary['trees']['count']} ({summary['trees']['detected']} detected from the CHM)")
    nw = summary["networks"]
    table.add_row("networks", f"{nw['features']} features, {nw['segments']} segments, {nw['length_m']:.0f} m")
    table.add_row("by utility", json.dumps(nw["utility"]))
    table.add_row("depth sources", json.dumps(nw["depth_source"]))
    table.add_row("owners", ", ".join(nw["owners"]) or "none")
    console.print(table)


@app.command()
def export(scene: Path = typer.Argument(..., help="Scene folder or its scene.toml."),
           format: str = typer.Option("glb", "--format", help="glb (per layer, for viewers), cityjson (2.0), "
                                                               "gpkg (3D lines per utility, for QGIS), cog (DTM/DSM/CHM) or "
                                                               "3dtiles (OGC 3D Tiles 1.1, for city-scale viewers)."),
           variant: str = typer.Option(None, help="Export a plan variant instead of the unchanged scene."),
           out: Path = typer.Option(None, help="Output folder (default: SCENE/export/VARIANT)."),
           tile_size: float = typer.Option(None, "--tile-size", min=1.0,
                                           help="With --format 3dtiles: export from the tiled twin (tiles of this "
                                                "size [m], built if missing), one tile in memory at a time."),
           margin: float = typer.Option(None, min=0.0, help="With --tile-size: margin around each tile [m] "
                                                            "(default: the scene's shadow_buffer).")) -> None:
    """Export the twin for viewers and GIS: GLB layers, CityJSON 2.0, GeoPackage, Cloud-Optimised GeoTIFFs or
    3D Tiles."""
    formats = ("glb", "cityjson", "gpkg", "cog", "3dtiles")
    if format not in formats:
        fail(StadstwinError(f"unknown format {format!r}", hint=f"choose one of {', '.join(formats)}"))
    if tile_size is not None:
        if format != "3dtiles" or variant is not None:
            fail(InputError("--tile-size exports the base scene as 3D Tiles; use it with --format 3dtiles and "
                            "without --variant", feature="--tile-size"))
        _export_tiled_3dtiles(scene, tile_size, margin, out)
        return
    try:
        with _progress() as progress:
            loaded, rules, twin, plan = _scene_twin(scene, variant, _Bars(progress))
    except StadstwinError as exc:
        fail(exc)
    folder = out or loaded.root / "export" / plan.id
    folder.mkdir(parents=True, exist_ok=True)
    if format == "glb":
        from stadstwin.io.glb import export_glb

        written = list(export_glb(twin, folder, rules=rules).values())
    elif format == "cityjson":
        from stadstwin.io.cityjson import write_cityjson

        written = [write_cityjson(folder / f"{twin.name.replace(':', '-')}.city.json", twin.buildings, twin.dtm)]
    elif format == "gpkg":
        from stadstwin.io.gpkg import export_gpkg

        written = [export_gpkg(twin, folder / f"{twin.name.replace(':', '-')}.gpkg")]
    elif format == "3dtiles":
        from stadstwin.io.tiles3d import export_3dtiles

        written = [export_3dtiles(twin, folder)]
    else:
        from stadstwin.io.geotiff import write_cog

        rasters = {"dtm": (twin.dtm, "NAP"), "dsm": (twin.dsm, "NAP"), "chm": (twin.chm, "maaiveld")}
        written = [write_cog(r, folder / f"{name}.tif", heights=heights) for name, (r, heights) in rasters.items()
                   if r is not None]
    for path in written:
        console.print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


@app.command()
def compare(scene: Path = typer.Argument(..., help="Scene folder."),
            variants: list[str] = typer.Argument(..., help="Variant ids; the first is the reference ('base' = unchanged)."),
            out: Path = typer.Option(None, help="Report folder (default: SCENE/reports/A-vs-B)."),
            no_cache: bool = typer.Option(False, "--no-cache", help="Recompute every analysis.")) -> None:
    """Effects of plan variants against the first: verdict table, ranking and an HTML report."""
    from stadstwin.model.scene import Scene
    from stadstwin.scenario.compare import compare as run_compare
    from stadstwin.scenario.report import write_report

    try:
        loaded = Scene.load(scene)
        with _progress() as progress:
            bars = _Bars(progress)
            comparison = run_compare(loaded, variants, use_cache=not no_cache,
                                     progress=lambda step, done, total: bars("analyses", done, total))
    except StadstwinError as exc:
        fail(exc)
    for vid, rows in comparison.verdicts.items():
        table = Table(title=f"{vid} against {comparison.reference.variant.id}")
        for column in ("criterion", "reference", "variant", "change", "effect", "limit"):
            table.add_column(column, justify="left" if column == "criterion" else "right")
        colours = {"better": "green", "worse": "red", "same": "white", "n/a": "dim"}
        for row in rows:
            limit = "" if row.passes is None else ("passes" if row.passes else "[red]fails[/]")
            table.add_row(row.criterion.label, f"{row.base:.3g}", f"{row.variant:.3g}", f"{row.change:+.3g}",
                          f"[{colours[row.effect]}]{row.effect}[/]", limit)
        console.print(table)
    if len(comparison.runs) > 2:
        console.print("ranking: " + ", ".join(f"{i}. {v} ({s:.2f})" for i, (v, s) in enumerate(comparison.ranking, 1)))
    folder = out or loaded.root / "reports" / "-vs-".join(variants)
    try:
        programme = _report_programme(loaded.root)
    except StadstwinError as exc:
        fail(exc)
    html_path, json_path = write_report(comparison, folder, snapshots=_snapshots(comparison, loaded.load_rules()),
                                        programme=programme)
    console.print(f"report: [bold]{html_path}[/] (JSON: {json_path}); "
                  f"{comparison.computed} analyses computed, {comparison.reused} reused")


def _report_programme(folder: Path):
    """The report's programme section of a scene with a plan register (SCENE/plans.geojson), else None:
    kansenkaart for all years and per 5-year window, programming table, koppelkansen with their joined
    route checks, graafrust conflicts."""
    from stadstwin.io.plan_register import REGISTER
    from stadstwin.render.kansenkaart import kansenkaart_png, programming_table_png, year_windows
    from stadstwin.scenario.report import Programme

    if not (folder / REGISTER).is_file():
        return None
    _, plans, twin, results = _programming(folder, None, None, ("koppelkansen", "graafrust"), joined=True)
    chances, conflicts = _with_joined(results), results["graafrust"].findings
    outlines = list(twin.buildings.footprint)
    maps = {f"{a}–{b}": kansenkaart_png(plans, chances, conflicts, twin.bounds, outlines=outlines, years=(a, b))
            for a, b in year_windows(plans)}
    maps = {"all years": kansenkaart_png(plans, chances, conflicts, twin.bounds, outlines=outlines), **maps}
    return Programme(maps=maps, table=programming_table_png(plans, chances, conflicts), koppelkansen=chances,
                     graafrust=conflicts)


def _snapshots(comparison, rules) -> dict[str, bytes]:
    """A 3D picture of every variant of a comparison, framed on its plan area when it has one."""
    from stadstwin.render.snapshot import snapshot_png

    pictures = {}
    for run in comparison.runs:
        area = run.variant.area_geometry
        focus = None if area is None else tuple(area.buffer(40).bounds)
        pictures[f"{run.variant.id}: {run.variant.name}"] = snapshot_png(run.twin, rules, title=run.variant.name,
                                                                         focus=focus)
    return pictures


@app.command()
def study(path: Path = typer.Argument(..., help="Study file (simulations/NAME.toml)."),
          scheduler: str = typer.Option(None, help="Address of a running Dask scheduler, e.g. tcp://host:8786 "
                                                   "(default: a local cluster)."),
          workers: int = typer.Option(2, min=1, help="Workers of the local cluster."),
          threads: bool = typer.Option(None, "--threads/--processes", show_default=False,
                                       help="Local workers as threads or processes (default: threads, measured "
                                            "in benchmarks/bench_study.py).")) -> None:
    """Run a batch effect study on Dask and write its report; resumes where an interrupted run stopped."""
    from stadstwin.batch.report import ranking, write_study_report
    from stadstwin.batch.runner import PROCESSES_BY_DEFAULT, run_study
    from stadstwin.batch.study import Study
    from stadstwin.scenario.assessment import default_frame

    processes = PROCESSES_BY_DEFAULT if threads is None else not threads
    try:
        definition = Study.load(path)
        frame = definition.load_scene().assessment or default_frame()
        with _progress() as progress:
            bars = _Bars(progress)
            run = run_study(definition, scheduler=scheduler, workers=workers, processes=processes,
                            progress=lambda done, total: bars("tasks", done, total))
    except StadstwinError as exc:
        fail(exc)
    except OSError as exc:
        fail(StadstwinError(f"cannot reach the Dask scheduler: {exc}", hint="check --scheduler ADDRESS"))
    report = write_study_report(definition, run.results, frame)
    table = Table(title=f"study {definition.name}: best variants on the assessment frame")
    table.add_column("#", justify="right")
    table.add_column("variant")
    table.add_column("score", justify="right")
    for i, (variant, score) in enumerate(ranking(run.results, frame)[:10], 1):
        table.add_row(str(i), variant, f"{score:.3f}")
    console.print(table)
    console.print(f"{run.computed} tasks computed, {run.resumed} resumed, {run.failed} failed; report: [bold]{report}[/]")
    if run.failed:
        failed = run.results[run.results["status"] == "error"]
        for _, row in failed.iterrows():
            errors.print(f"[red]task {row['variant']} failed:[/] {row['error']}", highlight=False)


@app.command()
def serve(scenes: Path = typer.Argument(Path("scenes"), help="Folder of scene folders (NAME/scene.toml)."),
          host: str = typer.Option("127.0.0.1", help="Address to listen on."),
          port: int = typer.Option(8000, min=1, max=65535, help="Port to listen on."),
          data: Path = typer.Option(None, help="Service database, results and caches (default: SCENES/.service)."),
          confidential: list[str] = typer.Option([], "--confidential", help="Network owner (e.g. KL1009) whose "
                                                 "assets other organisations see only as occupied space; repeatable."),
          viewer: Path = typer.Option(Path("viewer/dist"), help="Built viewer served at / when it exists."),
          workers: int = typer.Option(2, min=1, max=32, help="Job worker threads.")) -> None:
    """Web service and 3D viewer: scenes, plan variants, GLB layers, analyses as jobs (API under /api)."""
    import json
    import os

    import uvicorn

    from stadstwin.errors import SceneError
    from stadstwin.service import create_app
    from stadstwin.service.auth import DEMO_TOKENS
    from stadstwin.service.store import Store

    if not scenes.is_dir():
        fail(SceneError("not a folder of scene folders", path=scenes, hint="run `stadstwin sample DIR` for a demo"))
    data = data or scenes / ".service"
    store = Store(data / "service.sqlite")
    token_file = data / "demo-tokens.json"
    if not store.has_tokens():
        tokens = [{"organisation": org, "name": name, "role": role, "token": store.add_token(org, name, role)}
                  for org, name, role in DEMO_TOKENS]
        token_file.write_text(json.dumps(tokens, indent=2))
        os.chmod(token_file, 0o600)
        table = Table(title="demo API tokens (Authorization: Bearer TOKEN)")
        for column in ("organisation", "name", "role", "token"):
            table.add_column(column)
        for t in tokens:
            table.add_row(t["organisation"], t["name"], t["role"], t["token"])
        console.print(table)
    elif token_file.is_file():
        console.print(f"demo tokens: {token_file}")
    store.close()
    try:
        application = create_app(scenes, data / "service.sqlite", confidential=confidential, viewer_dist=viewer,
                                 workers=workers)
    except StadstwinError as exc:
        fail(exc)
    names = ", ".join(application.state.service.catalog.scenes) or "none"
    console.print(f"scenes: {names}; confidential owners: {', '.join(confidential) or 'none'}")
    console.print(f"serving on [bold]http://{host}:{port}/[/] (API /api, docs /docs)")
    uvicorn.run(application, host=host, port=port, log_level="info")


@app.command()
def demo(folder: Path = typer.Argument(Path("demo"), help="Folder for the demo district, its reports and service data."),
         serve_after: bool = typer.Option(True, "--serve/--no-serve", help="Start the web service and viewer at the end."),
         port: int = typer.Option(8000, min=1, max=65535, help="Port of the web service.")) -> None:
    """The main job on the embedded demo: sample district, twin, every analysis on every variant, reports, viewer."""
    from stadstwin.sample import write_sample
    from stadstwin.scenario.variants import BASE

    scene = folder / "scenes" / "demo"
    if not (scene / "scene.toml").is_file():
        scene = write_sample(folder)
        console.print(f"demo district written to [bold]{folder}[/]")
    from stadstwin.model.scene import Scene

    variants = [p.stem for p in Scene.load(scene).variant_paths()]
    compare(scene, [BASE, *variants], out=folder / "reports" / "all-variants", no_cache=False)
    heat_networks = [v for v in variants if v.startswith("heatnet")]
    if len(heat_networks) == 2:
        compare(scene, heat_networks, out=folder / "reports" / "-vs-".join(heat_networks), no_cache=False)
    if serve_after:
        serve(folder / "scenes", host="127.0.0.1", port=port, data=None, confidential=[],
              viewer=Path("viewer/dist"), workers=2)


@scene_app.command("init")
def scene_init(folder: Path = typer.Argument(..., help="Scene folder to write scene.toml into."),
               files: list[Path] = typer.Option(..., "--from", help="The files: LAS/LAZ, DTM/DSM GeoTIFF, CityJSON, "
                                                "BGT GeoPackage/SQLite, KLIC zip, tree register (repeat --from)."),
               extent: str = typer.Option(None, help="xmin,ymin,xmax,ymax in RD New [m] (default: where the data "
                                          "meet: elevation ∩ KLIC area ∩ BGT/CityJSON)."),
               crs: str = typer.Option(None, help="CRS to assume for files that name none, e.g. EPSG:28992."),
               ground_nap: float = typer.Option(None, help="Constant ground level [m NAP] for a scene without "
                                                "elevation files (e.g. KLIC only)."),
               cell_size: float = typer.Option(None, help="Cell size [m] (default: the GeoTIFF's, 0.5 with a "
                                               "point cloud, else 1)."),
               name: str = typer.Option(None, help="Scene name (default: the folder's)."),
               force: bool = typer.Option(False, "--force", help="Replace an existing scene.toml.")) -> None:
    """Write a valid scene.toml from the files a user has, each recognised by its content."""
    from stadstwin.io.scene_init import init_scene
    from stadstwin.io.scene_sources import describe_bounds

    try:
        bounds = None if extent is None else _extent(extent)
        result = init_scene(folder, files, extent=bounds, crs=crs, ground_nap=ground_nap, cell_size=cell_size,
                            name=name, overwrite=force)
    except StadstwinError as exc:
        fail(exc)
    table = Table(title=f"{result.path}", show_header=True)
    for column in ("file", "holds", "CRS", "bounds (RD New)"):
        table.add_column(column)
    for s in result.sources:
        crs_text = s.crs if s.crs_in_file else f"{s.crs} (assumed)"
        table.add_row(s.path.name, s.detail, crs_text, describe_bounds(s.bounds))
    console.print(table)
    console.print(f"extent {describe_bounds(result.extent)} m ({result.extent_from}), cell size {result.cell_size:g} m")
    console.print(f"[green]scene written[/]; check it with `stadstwin scene validate {folder}`")


def _extent(text: str) -> tuple[float, float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4:
        raise InputError(f"--extent {text!r}: give four numbers xmin,ymin,xmax,ymax in RD New metres")
    return values  # type: ignore[return-value]


@scene_app.command("validate")
def scene_validate(scene: Path = typer.Argument(..., help="Scene folder or its scene.toml.")) -> None:
    """Check a scene: its TOML, every source file (readable, CRS, bounds against the extent), rule
    overrides and plan variants."""
    from rich.markup import escape

    from stadstwin.io.scene_sources import check_sources
    from stadstwin.model.scene import Scene

    try:
        loaded = Scene.load(scene)
        rules = loaded.load_rules()
        variants = loaded.load_variants()
    except StadstwinError as exc:
        fail(exc)
    problems = check_sources(loaded)
    table = Table(title=f"scene {loaded.name}", show_header=False)
    e = loaded.extent
    table.add_row("extent (RD New)", f"x {e.xmin:.0f}–{e.xmax:.0f}, y {e.ymin:.0f}–{e.ymax:.0f} m")
    table.add_row("cell size", f"{loaded.cell_size:g} m")
    table.add_row("ground", loaded.terrain_used)
    sources = loaded.sources
    files = [*sources.pointclouds, *sources.cityjson, *sources.bgt.values(), *sources.klic]
    files += [f for f in (sources.dtm, sources.dsm, sources.trees) if f is not None]
    table.add_row("source files", "\n".join(str(f.path) for f in files) or "none")
    overridden = ", ".join(sorted(loaded.rules)) or "none"
    table.add_row("rule overrides", overridden)
    soil = rules.soil_properties(loaded.soil.soil)
    table.add_row("soil", f"{loaded.soil.soil or rules.soil.default}: ρ {soil.resistivity:g} K·m/W")
    table.add_row("variants", "\n".join(f"{v.id}: {v.name} ({v.phase.value})" for v in variants) or "none")
    console.print(table)
    if problems:
        for problem in problems:
            errors.print(f"[bold red]error:[/] {escape(str(problem))}", highlight=False, soft_wrap=True)
        errors.print(f"[bold red]scene is not valid:[/] {len(problems)} problem(s) in its sources")
        raise typer.Exit(1)
    console.print("[green]scene is valid[/]")


def _short(feature_id: str) -> str:
    """A feature id without its IMKL namespace or variant prefix, for narrow tables."""
    return str(feature_id).rsplit(".", 1)[-1].rsplit("/", 1)[-1]


@check_app.command("thermal")
def check_thermal(scene: Path = typer.Argument(..., help="Scene folder or its scene.toml."),
                  variant: str = typer.Option(None, help="Plan variant id to apply (default: the scene as it is)."),
                  out: Path = typer.Option(None, help="Output folder (default: SCENE/results/thermal-VARIANT)."),
                  hours: int = typer.Option(8760, min=1, max=8784, help="Hours from 1 January to simulate."),
                  cutoff: float = typer.Option(10.0, min=0.5, help="Sources farther than this (m) run at their "
                                                                   "mean load; the error bound is printed."),
                  stagnation_hours: float = typer.Option(0.0, min=0.0, help="Time constant (h) of the water's lag "
                                                                            "behind the soil; 0 = water at soil temperature."),
                  top: int = typer.Option(15, min=1, help="Rows in the table of the warmest water segments.")) -> None:
    """Drinking-water mains warmed by cables and heat networks: hours above 25 °C, sources, GeoPackage, figures."""
    import json

    import numpy as np
    import shapely
    from pyogrio.raw import write

    from stadstwin.analyses.water_warming import findings, metrics
    from stadstwin.crs import INTERNAL_CRS
    from stadstwin.render.figures import analysis_figures

    try:
        with _progress() as progress:
            site, plan, analysis = _run_analysis(scene, variant, "thermal", {
                "hours": hours, "cutoff": cutoff, "stagnation_hours": stagnation_hours}, _Bars(progress))
    except StadstwinError as exc:
        fail(exc)
    loaded, rules, twin, result = site.scene, site.rules, site.twin(plan), analysis.details["water"]
    folder = out or loaded.root / "results" / f"thermal-{plan.id}"
    folder.mkdir(parents=True, exist_ok=True)
    table = Table(title=f"warmest water mains: {twin.name} / {plan.id} ({hours} h, soil ρ "
                        f"{result.soil.resistivity:g} K·m/W)")
    for column, justify in (("segment", "left"), ("owner", "left"), ("max °C", "right"),
                            (f"h > {result.limit:g} °C", "right"), (f"h > {result.warning:g} °C", "right"),
                            ("rise K", "right"), ("top source", "left")):
        table.add_column(column, justify=justify)
    for s in np.argsort(-result.max_temperature)[:top]:
        ranked = result.contributions.get(int(s), [])
        source = f"{_short(ranked[0].feature_id)} ({100 * ranked[0].share:.0f}%)" if ranked else "–"
        table.add_row(f"{_short(result.feature_id[s])} #{s}", str(result.owner[s]), f"{result.max_temperature[s]:.1f}",
                      str(result.hours_above_limit[s]), str(result.hours_above_warning[s]),
                      f"{result.rise_at_worst[s]:.2f}", source)
    console.print(table)
    console.print(f"cut-off {result.cutoff:g} m: the rise left out is at most {result.cutoff_error_k:.3f} K at any "
                  f"receiver (sum of per-source bounds)")
    top_source = np.array([result.contributions[s][0].feature_id if result.contributions.get(s) else ""
                           for s in range(len(result.rows))], dtype=object)
    gpkg = folder / "water_temperature.gpkg"
    gpkg.unlink(missing_ok=True)
    write(str(gpkg), shapely.to_wkb(shapely.linestrings(result.segments), output_dimension=3),
          [result.feature_id.astype(object), result.owner.astype(object), result.max_temperature,
           result.hours_above_limit, result.hours_above_warning, result.rise_at_worst, result.worst_hour, top_source],
          ["feature_id", "owner", "max_temperature_c", "hours_above_limit_h", "hours_above_warning_h", "rise_k",
           "worst_hour", "top_source"],
          layer="water_temperature", driver="GPKG", crs=INTERNAL_CRS, geometry_type="LineString Z")
    for name, png in analysis_figures(analysis, twin, rules).items():
        (folder / f"{name}.png").write_bytes(png)
    summary = {
        "scene": twin.name, "variant": plan.id, "ground": twin.terrain, "settings": analysis.settings,
        "metrics": metrics(result),
        "findings": findings(result),
    }
    (folder / "thermal.json").write_text(json.dumps(summary, indent=1, default=str), encoding="utf-8")
    console.print(f"ground: {twin.terrain}")
    console.print(f"water_temperature.gpkg (EPSG:7415), cross-section and year PNGs and thermal.json in [bold]{folder}[/]")


def _build_tiled(scene: Path, tile_size: float, margin: float | None, no_cache: bool):
    """Build the tiles of a scene with a progress bar over tiles; the ``TiledTwin``."""
    from stadstwin.build.tiled import build_tiled

    try:
        with _progress() as progress:
            tiled = build_tiled(scene, tile_size, margin=margin, use_cache=not no_cache, progress=_Bars(progress))
    except StadstwinError as exc:
        fail(exc)
    rows = 1 + max(t.row for t in tiled.tiles)
    console.print(f"twin {tiled.name}: {len(tiled.tiles)} tiles ({rows} × {len(tiled.tiles) // rows}) of "
                  f"{tile_size:g} m over {tiled.shape[0]}×{tiled.shape[1]} cells in [bold]{tiled.folder}[/]")
    return tiled


def _export_tiled_3dtiles(scene: Path, tile_size: float, margin: float | None, out: Path | None) -> None:
    """``export --format 3dtiles --tile-size``: tiles built (or loaded), exported one at a time."""
    from stadstwin.io.tiles3d import export_tiled_3dtiles
    from stadstwin.model.scene import Scene
    from stadstwin.scenario.variants import BASE

    tiled = _build_tiled(scene, tile_size, margin, False)
    try:
        folder = out or Scene.load(scene).root / "export" / BASE
        with _progress() as progress:
            path = export_tiled_3dtiles(tiled, folder, progress=_Bars(progress))
    except StadstwinError as exc:
        fail(exc)
    console.print(f"wrote {path}: {len(tiled.tiles)} scene tiles as subtrees, "
                  f"{sum(f.stat().st_size for f in folder.rglob('*.glb')) / 1e6:.1f} MB of GLB")


def _check_heat_tiled(scene: Path, overrides: dict, out: Path | None, tile_size: float, margin: float | None,
                      scheduler: str | None, workers: int) -> None:
    """``check heat --tile-size``: tiles built (or loaded), analysed as Dask tasks, stitched."""
    import json

    from stadstwin.batch.tiled_heat import run_tiled_heat
    from stadstwin.model.scene import Scene
    from stadstwin.scenario.pipeline import resolve_settings

    tiled = _build_tiled(scene, tile_size, margin, False)
    try:
        loaded = Scene.load(scene)
        _, inputs = resolve_settings(loaded, "heat", [], overrides)
        folder = out or loaded.root / "results" / "heat-base"
        with _progress() as progress:
            result = run_tiled_heat(tiled, loaded.load_rules(), inputs, folder, scheduler=scheduler,
                                    workers=workers, progress=_Bars(progress))
    except StadstwinError as exc:
        fail(exc)
    except OSError as exc:  # a scheduler that cannot be reached
        fail(StadstwinError(f"cannot reach the Dask scheduler: {exc}", hint="check --scheduler ADDRESS"))
    table = Table(title=f"heat & shade: {tiled.name}, {len(tiled.tiles)} tiles ({result.day})", show_header=False)
    for key in ("pet_mean_c", "shade_fraction", "sun_hours_mean_h", "utci_max_c", "tmrt_mean_c", "svf_mean"):
        if key in result.metrics:
            table.add_row(f"{key} (public space)", f"{result.metrics[key]:.3f}")
    console.print(table)
    (folder / "heat.json").write_text(json.dumps({"terrain": result.terrain, "day": result.day, "tiles": len(tiled.tiles),
                                                  "tile_size_m": tile_size, "metrics": result.metrics}, indent=1),
                                      encoding="utf-8")
    console.print(f"{len(result.paths)} stitched COGs (EPSG:28992) and heat.json in [bold]{folder}[/]")


@check_app.command("heat")
def check_heat(scene: Path = typer.Argument(..., help="Scene folder or its scene.toml."),
               variant: str = typer.Option(None, help="Plan variant id to apply (its area gets its own statistics)."),
               date: str = typer.Option(None, help="Day YYYY-MM-DD (default: the scene's climate date, else the "
                                                  "weather file's hottest day, else the rules' hot day)."),
               weather: Path = typer.Option(None, help="EPW or KNMI hourly weather file (default: the scene's, "
                                                       "else the shipped clear hot day)."),
               out: Path = typer.Option(None, help="Output folder (default: SCENE/results/heat-VARIANT)."),
               step_minutes: float = typer.Option(10.0, min=1.0, max=120.0, help="Time step of the sun hours [min]."),
               tile_size: float = typer.Option(None, "--tile-size", min=1.0,
                                               help="Run tile by tile on the tiled twin (tiles of this size [m]) as "
                                                    "Dask tasks; outputs stitched into one COG each."),
               margin: float = typer.Option(None, min=0.0, help="With --tile-size: margin around each tile [m] "
                                                                "(default: the scene's shadow_buffer)."),
               scheduler: str = typer.Option(None, help="With --tile-size: address of a running Dask scheduler "
                                                        "(default: a local cluster); its workers must see the scene folder."),
               workers: int = typer.Option(2, min=1, help="With --tile-size: workers of the local cluster.")) -> None:
    """Sun hours, shade, SVF, Tmrt, UTCI and PET (mean 12–18 h): statistics, GeoTIFFs and maps."""


    overrides: dict = {"step_minutes": step_minutes}
    if date is not None:
        overrides["date"] = date
    if weather is not None:
        overrides["weather"] = str(weather)
    if tile_size is not None:
        if variant is not None:
            fail(InputError("a tiled run analyses the base scene; --variant is not supported with it",
                            feature="--tile-size"))
        _check_heat_tiled(scene, overrides, out, tile_size, margin, scheduler, workers)
        return
    try:
        with _progress() as progress:
            site, plan, result = _run_analysis(scene, variant, "heat", overrides, _Bars(progress))
    except StadstwinError as exc:
        fail(exc)
    loaded, twin = site.scene, site.twin(plan)
    columns = {"pet_mean_c": "PET 12–18 h [°C]", "shade_fraction": "shade 15 h", "sun_hours_mean_h": "sun [h]",
               "utci_max_c": "UTCI max [°C]", "tmrt_mean_c": "Tmrt [°C]", "svf_mean": "SVF"}
    table = Table(title=f"heat & shade: {twin.name} ({result.details.get('day', 'hot day')})")
    table.add_column("where")
    for label in columns.values():
        table.add_column(label, justify="right")
    for suffix, where in (("", "public space"), ("_carriageway", "carriageway"), ("_pavement", "pavement"),
                          ("_verge", "verge"), ("_unknown", "other ground"), ("_plan_area", "plan area")):
        if f"pet_mean_c{suffix}" in result.metrics:
            table.add_row(where, *(f"{result.metrics.get(k + suffix, float('nan')):.2f}" for k in columns))
    console.print(table)
    folder = out or loaded.root / "results" / f"heat-{variant or 'base'}"
    figures = _write_result(result, twin, site.rules, folder, "heat",
                            {"terrain": result.details["terrain"], "metrics": result.metrics})
    console.print(f"ground: {result.details['terrain']}")
    console.print(f"{len(result.rasters)} GeoTIFFs (EPSG:28992), {figures} maps and "
                  f"heat.json in [bold]{folder}[/]")


def _xy(text: str, option: str) -> tuple[float, float]:
    """A point given on the command line as ``X,Y`` [m]; ``InputError`` naming the option otherwise."""
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"expected X,Y in metres, got {text!r}", feature=option) from None
    return x, y


def _write_result(result, twin, rules, folder: Path, name: str, summary: dict) -> int:
    """An analysis result into ``folder``: its rasters as COGs, its figures as PNGs and ``summary`` as
    ``NAME.json``; returns the number of figures."""
    import json

    from stadstwin.io.geotiff import write_cog
    from stadstwin.render.figures import analysis_figures

    folder.mkdir(parents=True, exist_ok=True)
    for key, raster in result.rasters.items():
        write_cog(raster, folder / f"{key}.tif")
    figures = analysis_figures(result, twin, rules)
    for key, png in figures.items():
        (folder / f"{key}.png").write_bytes(png)
    (folder / f"{name}.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return len(figures)


def _run_analysis(scene: Path, variant: str | None, name: str, overrides: dict, bars):
    """(site, variant, result) of analysis ``name`` on a variant, through the one pipeline (and its cache)."""
    from stadstwin.scenario.pipeline import Site, run_analysis
    from stadstwin.scenario.variants import BASE, find_variant

    site = Site.open(scene, progress=bars)
    plan, origin = find_variant(site.scene, variant or BASE)
    return site, plan, run_analysis(site, plan, name, overrides, origin=origin, progress=bars)


def _scene_twin(scene: Path, variant: str | None, bars):
    """(scene, rules, twin, variant) of a scene or of one of its plan variants, from the site's twins."""
    from stadstwin.scenario.pipeline import Site
    from stadstwin.scenario.variants import BASE, find_variant

    site = Site.open(scene, progress=bars)
    plan, origin = find_variant(site.scene, variant or BASE)
    return site.scene, site.rules, site.twin(plan, origin), plan


def _utility(key: str):
    from stadstwin.errors import InputError
    from stadstwin.model.utilities import Utility

    try:
        return Utility.from_key(key)
    except KeyError:
        raise InputError(f"unknown utility {key!r}", feature="--utility",
                         hint=f"choose one of {', '.join(u.key for u in Utility)}") from None


def _findings_table(features: list[dict], title: str, limit: int, chainage: bool = False) -> Table:
    table = Table(title=title)
    columns = (["chainage [m]"] if chainage else []) + ["check", "severity", "margin", "rule", "asset", "other", "owners"]
    for column in columns:
        table.add_column(column, justify="right" if column in ("chainage [m]", "margin") else "left")
    colour = {"certain": "red", "possible": "yellow"}
    for f in features[:limit]:
        p = f["properties"]
        row = ([f"{p['chainage_m']:.1f}"] if chainage else []) + [
            p["check"], f"[{colour[p['severity']]}]{p['severity']}[/]", f"{p['margin_m']:+.2f}", p["rule"],
            p["feature_a"].rsplit(".", 1)[-1], p["feature_b"].rsplit(".", 1)[-1] or p["utility_b"],
            f"{p['owner_a']} / {p['owner_b'] or '-'}"]
        table.add_row(*row)
    return table


def _write_findings(features: list[dict], metrics: dict, folder: Path, name: str, terrain: str) -> tuple[Path, Path]:
    """``NAME.json`` (metrics, the ground used + FeatureCollection) and ``NAME.gpkg`` (layers ``findings``: points,
    ``pairs``: lines from the point on the asset to the point on the other party), EPSG:7415."""
    import json

    import numpy as np
    import shapely
    from pyogrio.raw import write

    folder.mkdir(parents=True, exist_ok=True)
    json_path = folder / f"{name}.json"
    json_path.write_text(json.dumps({"metrics": metrics, "terrain": terrain, "findings": {"type": "FeatureCollection", "features": features}},
                                    indent=1), encoding="utf-8")
    gpkg = folder / f"{name}.gpkg"
    if gpkg.exists():
        gpkg.unlink()
    keys = ("check", "severity", "rule", "margin_m", "margin_best_m", "margin_worst_m", "feature_a", "owner_a",
            "utility_a", "feature_b", "owner_b", "utility_b", *(("chainage_m",) if features and "chainage_m" in
                                                                  features[0]["properties"] else ()))
    for layer, chosen, geometry in (
        ("findings", features, lambda f: shapely.Point(f["geometry"]["coordinates"])),
        ("pairs", [f for f in features if f["properties"]["other_point"]],
         lambda f: shapely.LineString([f["geometry"]["coordinates"], f["properties"]["other_point"]])),
    ):
        fields = [np.array([f["properties"][k] for f in chosen], dtype=object if k not in (
            "margin_m", "margin_best_m", "margin_worst_m", "chainage_m") else np.float64) for k in keys]
        write(str(gpkg), shapely.to_wkb(np.array([geometry(f) for f in chosen], dtype=object), output_dimension=3),
              fields, list(keys), layer=layer, driver="GPKG", crs="EPSG:7415",
              geometry_type="Point Z" if layer == "findings" else "LineString Z", append=gpkg.exists())
    return json_path, gpkg


@check_app.command("clashes")
def check_clashes(scene: Path = typer.Argument(..., help="Scene folder or its scene.toml."),
                  variant: str = typer.Option(None, help="Plan variant id to apply first."),
                  out: Path = typer.Option(None, help="Output folder (default: SCENE/results/clashes-VARIANT)."),
                  limit: int = typer.Option(20, min=0, help="Findings listed in the terminal (worst first).")) -> None:
    """Underground checks: hard clashes, clearance, cover, crossing angle, tree zones, buildings and
    reservations, each certain or possible under the depth uncertainty; GeoPackage, JSON and cross-sections."""
    from collections import Counter

    from stadstwin.render.figures import analysis_figures

    try:
        with _progress() as progress:
            site, plan, result = _run_analysis(scene, variant, "clashes", {}, _Bars(progress))
    except StadstwinError as exc:
        fail(exc)
    loaded, twin = site.scene, site.twin(plan)
    figures = analysis_figures(result, twin, site.rules)
    features = sorted(result.findings, key=lambda f: (f["properties"]["severity"] != "certain", f["properties"]["margin_m"]))
    by_check = Table(title=f"underground findings: {twin.name} ({variant or 'base'}), {len(twin.networks)} segments")
    for column in ("check", "certain", "possible"):
        by_check.add_column(column, justify="left" if column == "check" else "right")
    counts = Counter((f["properties"]["check"], f["properties"]["severity"]) for f in features)
    for check in dict.fromkeys(f["properties"]["check"] for f in features):
        by_check.add_row(check, str(counts[(check, "certain")]), str(counts[(check, "possible")]))
    console.print(by_check)
    owners = Counter((" / ".join(sorted({f["properties"]["owner_a"], f["properties"]["owner_b"] or "-"})),
                      f["properties"]["severity"]) for f in features)
    by_owner = Table(title="by owner pair")
    for column in ("owners", "certain", "possible"):
        by_owner.add_column(column, justify="left" if column == "owners" else "right")
    for pair in sorted({p for p, _ in owners}, key=lambda p: -(owners[(p, "certain")] + owners[(p, "possible")])):
        by_owner.add_row(pair, str(owners[(pair, "certain")]), str(owners[(pair, "possible")]))
    console.print(by_owner)
    if limit:
        console.print(_findings_table(features, f"worst {min(limit, len(features))} findings", limit))
    folder = out or loaded.root / "results" / f"clashes-{variant or 'base'}"
    json_path, gpkg = _write_findings(features, result.metrics, folder, "clashes", result.details["terrain"])
    for name, png in figures.items():
        (folder / f"{name}.png").write_bytes(png)
    console.print(f"ground: {result.details['terrain']}; "
                  f"{int(result.metrics['standard_depth_only_findings'])} findings only from standard-depth uncertainty")
    console.print(f"{int(result.metrics['certain_findings'])} certain, {int(result.metrics['possible_findings'])} "
                  f"possible findings; [bold]{gpkg}[/], {json_path.name} and {len(figures)} cross-sections in {folder}")


@check_app.command("water")
def check_water(scene: Path = typer.Argument(..., help="Scene folder or its scene.toml."),
                variant: str = typer.Option(None, help="Plan variant id to apply first."),
                storm: str = typer.Option("t70", help="Design storm of the rules: t70 (70 mm in 2 h) or t140."),
                hyetograph: Path = typer.Option(None, help="CSV hyetograph (columns minutes, mm) instead of --storm."),
                out: Path = typer.Option(None, help="Output folder (default: SCENE/results/water-VARIANT).")) -> None:
    """Water nuisance stress test: max water depth, flooded area > 10 / > 30 cm, wet entrances, volume balance."""

    from rich.markup import escape

    from stadstwin.io.hyetograph import read_hyetograph

    try:
        settings: dict = {"storm": storm}
        if hyetograph is not None:
            rain, step = read_hyetograph(hyetograph)
            settings = {"hyetograph": rain, "step_minutes": step}
        with _progress() as progress:
            site, plan, result = _run_analysis(scene, variant, "water", settings, _Bars(progress))
    except StadstwinError as exc:
        fail(exc)
    twin = site.twin(plan)
    m = result.metrics
    table = Table(title=f"water nuisance: {twin.name} ({variant or 'base'}), {m['storm_mm']:.0f} mm "
                        f"({result.details['storm']})")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for key, label in (("max_depth_m", "deepest water on the street [m]"),
                       ("flooded_area_10cm_m2", "area > 10 cm [m²]"), ("flooded_area_30cm_m2", "area > 30 cm [m²]"),
                       ("buildings_wet_entrance", "buildings with > 10 cm at the facade"),
                       ("rain_m3", "rain [m³]"), ("lost_m3", "infiltrated + sewer [m³]"), ("ponded_m3", "ponded [m³]"),
                       ("retention_stored_m3", "in retention [m³]"), ("outflow_m3", "left the scene / open water [m³]"),
                       ("not_modelled_m3", "on DTM gaps, not modelled [m³]"),
                       ("volume_balance_relative", "volume balance (relative)")):
        table.add_row(escape(label), f"{m[key]:.3g}" if key == "volume_balance_relative" else f"{m[key]:,.2f}")
    console.print(table)
    folder = out or site.scene.root / "results" / f"water-{variant or 'base'}"
    figures = _write_result(result, twin, site.rules, folder, "water", {
        "metrics": m, "details": result.details, "findings": {"type": "FeatureCollection", "features": result.findings}})
    console.print(f"ground: {result.details['terrain']}")
    console.print(f"water_depth.tif (EPSG:28992), {figures} map(s) and water.json ({len(result.findings)} "
                  f"wet entrances) in [bold]{folder}[/]")


_SCENE_ARG = typer.Argument(..., help="Scene folder (its register: SCENE/plans.geojson).")
_REGISTER_OPT = typer.Option(None, help="Plan register instead of SCENE/plans.geojson (GeoJSON, GeoPackage or CSV + WKT).")
_ORGANISATION_OPT = typer.Option(None, help="Show others' confidential plans as this organisation may see them.")


def _register(scene: Path, register: Path | None, organisation: str | None):
    """(scene folder, plans as ``organisation`` may see them) of a scene's register (default SCENE/plans.geojson)."""
    from stadstwin.io.plan_register import REGISTER, read_plan_register

    folder = scene.parent if scene.name == "scene.toml" else scene
    plans = read_plan_register(register or folder / REGISTER)
    if organisation is not None:
        plans = [p if not p.confidential or p.party == organisation else p.redacted() for p in plans]
    return folder, plans


def _programming(scene: Path, register: Path | None, organisation: str | None, names: tuple[str, ...],
                 joined: bool = False, overrides: dict | None = None):
    """(scene folder, visible plans, the scene's twin or None, {analysis: result}) of the programming
    analyses ``names`` on the register as ``organisation`` may see it; through the pipeline when SCENE
    holds a scene.toml (the twin's surfaces set graafrust), else on the register alone. ``joined``
    adds the joined route check when there is a twin to lay routes in."""
    from stadstwin.analyses.registry import PLANNING
    from stadstwin.io.plan_register import plan_feature
    from stadstwin.rules import load_rules
    from stadstwin.scenario.pipeline import Site, run_analysis
    from stadstwin.scenario.variants import base_variant

    folder, plans = _register(scene, register, organisation)
    settings = {"plans": [plan_feature(p) for p in plans]}
    if not (folder / "scene.toml").is_file():
        return folder, plans, None, {name: PLANNING[name](None, load_rules(), settings) for name in names}
    site = Site.open(folder, analyses=PLANNING)
    names = (*names, "joined") if joined and "joined" not in names else names
    return folder, plans, site.base, {name: run_analysis(site, base_variant(site.scene.name), name,
                                                         {**settings, **(overrides or {})} if name == "joined" else settings)
                                      for name in names}


def _with_joined(results: dict) -> list[dict]:
    """The koppelkansen of ``results``, each with the verdict of its group's joined route check
    (``joined``: koppelkans id, verdict, certain and possible findings) when one ran."""
    from stadstwin.analyses.programming import group_id

    checks = {f["properties"]["koppelkans"]: f["properties"] for f in results["joined"].findings} if "joined" in results else {}
    chances = []
    for f in results["koppelkansen"].findings:
        found = checks.get(group_id(f))
        joined = {k: found[k] for k in ("koppelkans", "verdict", "certain", "possible")} if found else None
        chances.append({**f, "properties": {**f["properties"], "joined": joined}})
    return chances


def _joined_table(checks: list[dict]) -> Table:
    table = Table(title=f"joined route checks ({len(checks)})")
    for column in ("koppelkans", "new routes", "length [m]", "certain", "possible", "verdict"):
        table.add_column(column, justify="right" if column in ("length [m]", "certain", "possible") else "left",
                         overflow="fold")
    colour = {"fits": "green", "possible conflicts": "yellow", "does not fit": "red"}
    for f in checks:
        q = f["properties"]
        table.add_row(q["koppelkans"], ", ".join(r["utility"] for r in q["routes"]),
                      f"{q['route_length_m']:.0f}", str(q["certain"]), str(q["possible"]),
                      f"[{colour[q['verdict']]}]{q['verdict']}[/]")
    return table


def _plans_table(plans) -> Table:
    table = Table(title=f"plan register: {len(plans)} plans of {len({p.party for p in plans})} parties")
    for column in ("plan", "party", "theme", "phase", "works", "digs"):
        table.add_column(column)
    for p in sorted(plans, key=lambda p: p.works.start):
        table.add_row(p.id, p.party, p.theme, p.phase.value, f"{p.works.start} – {p.works.end}",
                      "yes" if p.digs else "no")
    return table


def _kansen_table(chances: list[dict]) -> Table:
    table = Table(title=f"koppelkansen ({len(chances)})")
    for column in ("plans", "gap [y]", "shared [m]", "saving"):
        table.add_column(column)
    for f in chances:
        q = f["properties"]
        table.add_row(" + ".join(q["plans"]), f"{q['gap_years']:.2f}", f"{q['shared_length_m']:.0f}", q["saving"])
    return table


def _print_conflicts(conflicts: list[dict]) -> None:
    if not conflicts:
        console.print("no graafrust conflicts")
    for f in conflicts:
        console.print(f"[red]graafrust conflict:[/] {f['properties']['message']}")


def _write_collection(target: Path, name: str, features: list[dict]) -> Path:
    """``target/NAME.geojson``: ``features`` as one FeatureCollection."""
    import json

    target.mkdir(parents=True, exist_ok=True)
    path = target / f"{name}.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "name": name, "features": features}, indent=1),
                    encoding="utf-8")
    return path


@plans_app.command("import")
def plans_import(scene: Path = _SCENE_ARG,
                 file: Path = typer.Argument(..., help="Plans to import: GeoJSON, GeoPackage or CSV with a wkt column."),
                 layer: str = typer.Option(None, help="Layer of a GeoPackage (default: its first).")) -> None:
    """Merge FILE into the scene's register: new plans are added, a plan with a stored id is replaced."""
    from stadstwin.io.plan_register import import_plans

    try:
        register, plans, added, replaced = import_plans(scene, file, layer)
    except StadstwinError as exc:
        fail(exc)
    console.print(f"{file.name}: {added} plan(s) added, {replaced} replaced; {register} holds "
                  f"{len(plans)} plans of {len({p.party for p in plans})} parties")


@plans_app.command("derive")
def plans_derive(scene: Path = typer.Argument(..., help="Scene folder or its scene.toml."),
                 year: int = typer.Option(..., min=1900, max=2200, help="Year to plan the derived works in.")) -> None:
    """Derive candidate works from the twin's assets (removal of abandoned networks, by their owners)
    and merge them into the scene's register."""
    from stadstwin.analyses.asset_plans import abandoned_network_plans
    from stadstwin.io.plan_register import merge_plans

    try:
        found, _, twin, _ = _scene_twin(scene, None, None)
        derived = abandoned_network_plans(twin, year)
        if not derived:
            console.print("the twin holds no abandoned networks: no plans derived")
            return
        register, plans, added, replaced = merge_plans(found.root, derived)
    except StadstwinError as exc:
        fail(exc)
    console.print(_plans_table(derived))
    console.print(f"{added} plan(s) added, {replaced} replaced; {register} holds {len(plans)} plans")


@plans_app.command("list")
def plans_list(scene: Path = _SCENE_ARG, register: Path = _REGISTER_OPT,
               organisation: str = _ORGANISATION_OPT) -> None:
    """Every party's plans in the register, by start of works."""
    try:
        _, plans = _register(scene, register, organisation)
    except StadstwinError as exc:
        fail(exc)
    console.print(_plans_table(plans))


@plans_app.command("koppelkansen")
def plans_koppelkansen(scene: Path = _SCENE_ARG, register: Path = _REGISTER_OPT,
                       organisation: str = _ORGANISATION_OPT,
                       out: Path = typer.Option(None, help="Output folder (default: SCENE/results/plans).")) -> None:
    """Koppelkansen: plans of different parties close in space and time, best first; koppelkansen.geojson."""
    try:
        folder, _, _, results = _programming(scene, register, organisation, ("koppelkansen",), joined=True)
    except StadstwinError as exc:
        fail(exc)
    chances = _with_joined(results)
    console.print(_kansen_table(chances))
    path = _write_collection(out or folder / "results" / "plans", "koppelkansen", chances)
    console.print(f"{path.name} (EPSG:28992) in [bold]{path.parent}[/]")


@plans_app.command("graafrust")
def plans_graafrust(scene: Path = _SCENE_ARG, register: Path = _REGISTER_OPT,
                    organisation: str = _ORGANISATION_OPT,
                    out: Path = typer.Option(None, help="Output folder (default: SCENE/results/plans).")) -> None:
    """Graafrust conflicts: plans that dig where the ground is still closed after other works; graafrust.geojson."""
    try:
        folder, _, _, results = _programming(scene, register, organisation, ("graafrust",))
    except StadstwinError as exc:
        fail(exc)
    conflicts = results["graafrust"].findings
    _print_conflicts(conflicts)
    path = _write_collection(out or folder / "results" / "plans", "graafrust", conflicts)
    console.print(f"{path.name} (EPSG:28992) in [bold]{path.parent}[/]")


@plans_app.command("joined")
def plans_joined(scene: Path = typer.Argument(..., help="Scene folder (its twin; its register: SCENE/plans.geojson)."),
                 koppelkans: str = typer.Option(None, help="Only this koppelkans: its group id (a+b) or one of its plans."),
                 register: Path = _REGISTER_OPT, organisation: str = _ORGANISATION_OPT,
                 out: Path = typer.Option(None, help="Output folder (default: SCENE/results/plans).")) -> None:
    """Joined route check: each koppelkans's new cable and pipe routes laid together and checked against
    everything underground; whether the combined trench fits; joined.geojson."""
    from stadstwin.errors import SceneError

    folder = scene.parent if scene.name == "scene.toml" else scene
    try:
        if not (folder / "scene.toml").is_file():
            raise SceneError("the joined check lays routes in the scene's twin: no scene.toml", path=folder)
        folder, _, _, results = _programming(scene, register, organisation, ("joined",),
                                             overrides={"koppelkans": koppelkans or ""})
    except StadstwinError as exc:
        fail(exc)
    checks = results["joined"].findings
    console.print(_joined_table(checks))
    for f in checks:
        for c in f["properties"]["conflicts"][:10]:
            console.print(f"  {f['properties']['koppelkans']}: {c['check']} ({c['severity']}) {c['plan']} × "
                          f"{c['other'] or '-'} at ({c['x']:.1f}, {c['y']:.1f}), margin {c['margin_m']:+.2f} m")
    path = _write_collection(out or folder / "results" / "plans", "joined", checks)
    console.print(f"{path.name} (EPSG:28992) in [bold]{path.parent}[/]")


@plans_app.command("programme")
def plans_programme(scene: Path = _SCENE_ARG, register: Path = _REGISTER_OPT,
                    organisation: str = _ORGANISATION_OPT,
                    years: str = typer.Option(None, help="Only works in FROM-TO, e.g. 2028-2031."),
                    out: Path = typer.Option(None, help="Output folder (default: SCENE/results/plans).")) -> None:
    """The plans, koppelkansen and graafrust conflicts together: tables, kansenkaart, programming.json."""
    import json

    from stadstwin.render.kansenkaart import kansenkaart_png, programming_table_png

    try:
        span = tuple(int(y) for y in years.split("-")) if years else None
    except ValueError:
        fail(InputError(f"--years {years!r} is not FROM-TO", feature="--years"))
    try:
        folder, plans, site_twin, results = _programming(scene, register, organisation, ("koppelkansen", "graafrust"),
                                                         joined=True)
    except StadstwinError as exc:
        fail(exc)
    chances, conflicts = _with_joined(results), results["graafrust"].findings
    console.print(_plans_table(plans))
    console.print(_kansen_table(chances))
    _print_conflicts(conflicts)
    target = out or folder / "results" / "plans"
    target.mkdir(parents=True, exist_ok=True)
    bounds = site_twin.bounds if site_twin is not None else _bounds(p.footprint for p in plans)
    png = kansenkaart_png(plans, chances, conflicts, bounds, years=span,
                          outlines=list(site_twin.buildings.footprint) if site_twin is not None else ())
    (target / "kansenkaart.png").write_bytes(png)
    (target / "programming_table.png").write_bytes(programming_table_png(plans, chances, conflicts))
    (target / "programming.json").write_text(json.dumps(
        {"koppelkansen": {"type": "FeatureCollection", "features": chances},
         "graafrust": {"type": "FeatureCollection", "features": conflicts}}, indent=1), encoding="utf-8")
    console.print(f"kansenkaart.png, programming_table.png and programming.json (EPSG:28992) in [bold]{target}[/]")


def _bounds(geometries) -> tuple[float, float, float, float]:
    """(xmin, ymin, xmax, ymax) of geometries [m]."""
    import shapely

    return tuple(shapely.GeometryCollection(list(geometries)).bounds)


@check_app.command("sightlines")
def check_sightlines(scene: Path = typer.Argument(..., help="Scene folder or its scene.toml."),
                     variant: str = typer.Option(None, help="Plan variant id to apply first."),
                     radius: float = typer.Option(None, help="How far a viewpoint looks [m] (default: the scene's)."),
                     transparent_trees: bool = typer.Option(None, "--transparent-trees/--opaque-trees",
                                                            help="Whether tree crowns block the view."),
                     curvature: bool = typer.Option(None, "--curvature/--no-curvature",
                                                    help="Earth curvature and refraction (off by default)."),
                     viewpoint: list[str] = typer.Option(None, help="Look from X,Y (RD New m) instead of the "
                                                         "scene's viewpoints; repeatable (named punt_1, punt_2, …)."),
                     along: str = typer.Option(None, help="Look from a route walked: 'X,Y X,Y …' (RD New m), "
                                                          "observers every 5 m (named route)."),
                     within: str = typer.Option(None, help="Look from an area: a polygon ring 'X,Y X,Y X,Y …' "
                                                           "(RD New m), observers on a 5 m grid (named gebied)."),
                     out: Path = typer.Option(None, help="Output folder (default: SCENE/results/sightlines-VARIANT).")
                     ) -> None:
    """Sight lines: visible area per viewpoint, how many viewpoints see each cell, blocked sight lines."""

    from rich.markup import escape

    from stadstwin.errors import SceneError

    overrides = {key: value for key, value in (("radius", radius), ("transparent_trees", transparent_trees),
                                               ("curvature", curvature)) if value is not None}
    try:
        chosen = [{"name": f"punt_{k}", "x": x, "y": y}
                  for k, (x, y) in enumerate((_xy(text, "--viewpoint") for text in viewpoint or []), 1)]
        for option, key, name, text in (("--along", "along", "route", along), ("--within", "within", "gebied", within)):
            if text:
                chosen.append({"name": name, key: [_xy(part, option) for part in text.split()]})
        if chosen:
            overrides["viewpoints"] = chosen
        with _progress() as progress:
            site, plan, result = _run_analysis(scene, variant, "sightlines", overrides, _Bars(progress))
        if not result.details["viewpoints"]:
            raise SceneError("the scene has no viewpoints", path=site.scene.path, feature="sightlines",
                             hint="add [[sightlines.viewpoints]] (name, x, y) and [[sightlines.landmarks]]")
    except StadstwinError as exc:
        fail(exc)
    twin = site.twin(plan)
    table = Table(title=f"sight lines: {twin.name} ({variant or 'base'}), radius {result.details['radius_m']:g} m, "
                        f"trees {'transparent' if result.details['transparent_trees'] else 'opaque'}")
    for column, justify in (("viewpoint", "left"), ("visible [m²]", "right"), ("landmark", "left"),
                            ("distance [m]", "right"), ("sight line", "left")):
        table.add_column(escape(column), justify=justify)
    for vp in result.details["viewpoints"]:
        lines = [line for line in result.details["sight_lines"] if line["viewpoint"] == vp["name"]] or [None]
        for k, line in enumerate(lines):
            first = (vp["name"], f"{vp['visible_area_m2']:,.0f}") if k == 0 else ("", "")
            if line is None:
                table.add_row(*first, "–", "", "")
                continue
            state = "free" if not line["blocked"] else (
                f"blocked by {line['blocker_kind']} {line['blocked_by']} at {line['blocked_at_m']:.0f} m")
            table.add_row(*first, line["landmark"], f"{line['distance_m']:.0f}", escape(state))
    console.print(table)
    folder = out or site.scene.root / "results" / f"sightlines-{variant or 'base'}"
    figures = _write_result(result, twin, site.rules, folder, "sightlines", {
        "scene": twin.name, "variant": variant or "base", "ground": twin.terrain, "settings": result.settings,
        "metrics": result.metrics, "details": result.details,
        "findings": {"type": "FeatureCollection", "features": result.findings}})
    console.print(f"visible_count.tif (EPSG:28992), {figures} map(s) and sightlines.json "
                  f"({len(result.findings)} blocked sight lines) in [bold]{folder}[/]")


@check_app.command("route")
def check_route_command(
    scene: Path = typer.Argument(..., help="Scene folder or its scene.toml."),
    route: Path = typer.Option(..., help="GeoJSON with one LineString (with a crs member); 3D = axis height in m NAP."),
    utility: str = typer.Option(..., help="Kind of the new cable or pipe, e.g. electricity_mv, district_heating."),
    diameter: float = typer.Option(None, min=0.001, max=5.0, help="Outer diameter [m] (default: the kind's)."),
    cover: float = typer.Option(None, min=0.0, max=20.0, help="Cover to the top [m] (default: rule cover + tolerance)."),
    owner: str = typer.Option("new route", help="Owner of the new route (its own reservations do not conflict)."),
    variant: str = typer.Option(None, help="Plan variant id to apply first."),
    out: Path = typer.Option(None, help="Output folder (default: SCENE/results/route-NAME)."),
) -> None:
    """Check a proposed route: every conflict by chainage, and a cross-section at the worst point."""
    import json

    from stadstwin.analyses.findings import count_metrics
    from stadstwin.analyses.route_check import (
        check_route,
        route_coordinates,
        route_table,
        worst_finding,
    )
    from stadstwin.errors import InputError
    from stadstwin.render.sections import route_section_png

    try:
        kind = _utility(utility)
        try:
            geojson = json.loads(route.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read the route: {exc}", path=route) from None
        coordinates = route_coordinates(geojson, source=str(route))
        with _progress() as progress:
            loaded, rules, twin, _ = _scene_twin(scene, variant, _Bars(progress))
        table = route_table(twin, rules, coordinates, kind, diameter=diameter, cover=cover, owner=owner)
        result = check_route(twin, rules, table)
    except StadstwinError as exc:
        fail(exc)
    features = result.features()
    console.print(_findings_table(features, f"route {route.name} ({kind.key}, {result.route_length:.1f} m): "
                                            f"{len(features)} conflicts", len(features), chainage=True))
    folder = out or loaded.root / "results" / f"route-{route.stem}"
    console.print(f"ground: {twin.terrain}")
    json_path, gpkg = _write_findings(features, count_metrics(result.findings), folder, "route_check", twin.terrain)
    worst = worst_finding(result)
    if worst is not None:
        png = folder / "cross_section.png"
        png.write_bytes(route_section_png(result, rules, worst))
        console.print(f"cross-section at chainage {result.chainage[worst]:.1f} m: [bold]{png}[/]")
    else:
        console.print("[green]no conflicts: the route satisfies every rule[/]")
    console.print(f"{gpkg} and {json_path.name} in {folder}")


@app.command("route")
def route_command(
    scene: Path = typer.Argument(..., help="Scene folder or its scene.toml."),
    start: str = typer.Option(..., "--from", help="Start x,y in RD New [m]."),
    end: str = typer.Option(..., "--to", help="End x,y in RD New [m]."),
    utility: str = typer.Option(..., help="Kind of the new cable or pipe, e.g. electricity_lv."),
    diameter: float = typer.Option(None, min=0.001, max=5.0, help="Outer diameter [m] (default: the kind's)."),
    step: float = typer.Option(0.5, min=0.1, max=2.0, help="Plan step of the search lattice [m]."),
    margin: float = typer.Option(15.0, min=1.0, max=200.0, help="Search area beyond the end points [m]."),
    levels: int = typer.Option(5, min=1, max=20, help="Depth levels, 0.25 m apart from the rule cover down."),
    owner: str = typer.Option("new route", help="Owner of the new route (its own reservations are open to it)."),
    variant: str = typer.Option(None, help="Plan variant id to apply first."),
    out: Path = typer.Option(None, help="GeoJSON to write (default: SCENE/results/route-X-Y.geojson)."),
) -> None:
    """Find the shortest route that satisfies every underground rule, with its cost breakdown."""
    import json

    from stadstwin.analyses.route_check import check_route, route_table
    from stadstwin.analyses.route_finder import RouteOptions, find_route

    try:
        kind = _utility(utility)
        points = [_xy(start, "--from"), _xy(end, "--to")]
        with _progress() as progress:
            loaded, rules, twin, _ = _scene_twin(scene, variant, _Bars(progress))
        found = find_route(twin, rules, points[0], points[1], kind, diameter=diameter, owner=owner,
                           options=RouteOptions(step=step, margin=margin, levels=levels))
        recheck = check_route(twin, rules, route_table(twin, rules, found.coordinates, kind, diameter=found.diameter,
                                                       owner=owner))
    except StadstwinError as exc:
        fail(exc)
    feature = found.geojson()
    feature["properties"]["findings_on_recheck"] = len(recheck.findings)
    path = out or loaded.root / "results" / f"route-{points[0][0]:.0f}-{points[0][1]:.0f}.geojson"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"type": "FeatureCollection", "crs": {"type": "name", "properties": {
        "name": "urn:ogc:def:crs:EPSG::7415"}}, "features": [feature]}, indent=1), encoding="utf-8")
    table = Table(title=f"route for {kind.key}: {found.cost['length_m']:.1f} m", show_header=False)
    for key, value in found.cost.items():
        table.add_row(key, f"{value:.2f}")
    table.add_row("findings on re-check", str(len(recheck.findings)))
    console.print(table)
    console.print(f"route: [bold]{path}[/]")
