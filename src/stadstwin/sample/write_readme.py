"""``README.md`` of a written sample: what each file holds, with counts, and the planted conflicts."""

from __future__ import annotations

from pathlib import Path

from stadstwin.sample.district import District


def write_readme(
    district: District, folder: Path, files: dict[str, Path], counts: dict[str, int]
) -> Path:
    """Write ``folder/README.md``: files, a count table and the deliberate conflicts."""
    x0, y0, x1, y1 = district.extent
    listing = "\n".join(
        f"- `{path.relative_to(folder).as_posix()}` — {what}" for what, path in files.items()
    )
    table = "\n".join(f"| {what} | {n} |" for what, n in counts.items())
    notes = "\n".join(f"- {note}" for note in district.notes)
    text = f"""# stadstwin demo district

Synthetic but realistic Dutch district (seed {district.seed}, scale {district.scale}): {district.nx} × {district.ny}
blocks in a 15 m street grid, RD New x {x0:.0f}–{x1:.0f}, y {y0:.0f}–{y1:.0f}, ground about -0.6…+1.3 m NAP.
Same seed and scale give byte-identical files. Open the scene with `stadstwin build scenes/demo`.

## Files

{listing}

## Contents

| what | count |
| --- | --- |
{table}

## Planted situations

{notes}
- street trees stand in the north parking strip of the main street, about 1 m from the MV cable
  (inside the trunk clearance); variant heatnet-north runs under them, heatnet-south under the cycle path
  1.15 m from the water main.

Utility owners and codes are illustrative; BAG ids use the Utrecht municipality code 0344.
"""
    path = folder / "README.md"
    path.write_text(text, encoding="utf-8")
    return path
