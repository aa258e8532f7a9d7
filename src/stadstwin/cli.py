"""Command line: ``stadstwin --help``. Commands only orchestrate; the work lives in the layers below."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from stadstwin import __version__
from stadstwin.errors import StadstwinError

app = typer.Typer(
    help="stadstwin: 3D digital twin of Dutch streets, above and below ground.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
scene_app = typer.Typer(help="Inspect and validate scene definitions.", no_args_is_help=True)
app.add_typer(scene_app, name="scene")

console = Console()
errors = Console(stderr=True)


def fail(error: StadstwinError) -> None:
    """Print a stadstwin error without a stack trace and exit with status 1."""
    errors.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
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


@scene_app.command("validate")
def scene_validate(scene: Path = typer.Argument(..., help="Scene folder or its scene.toml.")) -> None:
    """Check a scene: its TOML, source files, CRS, rule overrides and plan variants."""
    from stadstwin.model.scene import Scene

    try:
        loaded = Scene.load(scene)
        rules = loaded.load_rules()
        variants = loaded.load_variants()
    except StadstwinError as exc:
        fail(exc)
    table = Table(title=f"scene {loaded.name}", show_header=False)
    e = loaded.extent
    table.add_row("extent (RD New)", f"x {e.xmin:.0f}–{e.xmax:.0f}, y {e.ymin:.0f}–{e.ymax:.0f} m")
    table.add_row("cell size", f"{loaded.cell_size:g} m")
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
    console.print("[green]scene is valid[/]")
