"""The demo district as plain data: a street grid in a standard Dutch street profile.

Everything here is geometry and attributes in RD New [m] and NAP [m]; the ``write_*`` modules turn
it into real exchange formats. Layout: ``nx`` × ``ny`` building blocks separated by 15 m streets
(pavement 2.5 | parking or cycle path 2.0 | carriageway 6.0 | parking 2.0 | pavement 2.5). The
middle east–west street is the main street ("Hoofdstraat") with street trees on its north side.

Utilities follow the Dutch standard profile, measured from the facade of each street side:
telecom 0.30, LV 0.65, gas 1.25, water 1.85 under the pavement, MV 2.45 at the pavement edge
(north/east side), the gravity sewer under the carriageway centre; an existing district-heating
pair lies in the west parking strip of the second north–south street, beside a 200 mm water main.
Deliberate conflicts (described in ``District.notes``): a drilled fibre crossing that hits a water
main at measured depth (hard clash), and a gas main that jogs to 0.35 m of an LV cable of standard
depth (a clash only possible within the depth uncertainty).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from itertools import pairwise

import numpy as np
import shapely

ORIGIN = (155_000.0, 463_000.0)  # SW corner of the district, RD New [m] (Utrecht area)
BLOCK_X = 65.0  # block size east–west [m]
BLOCK_Y = 70.0  # block size north–south [m]
STREET = 15.0  # facade to facade [m]
#: Strips across a street from its low (south or west) facade: (function, from, to) [m]
PROFILE = (
    ("voetpad", 0.0, 2.5),
    ("parkeervlak", 2.5, 4.5),
    ("rijbaan lokale weg", 4.5, 10.5),
    ("parkeervlak", 10.5, 12.5),
    ("voetpad", 12.5, 15.0),
)
MAIN_STREET_LOW_SIDE = "fietspad"  # the main street has a cycle path instead of south parking
GEMEENTE = "0344"  # Utrecht: BAG ids 0344100000xxxxxx, BGT bronhouder G0344
WATER_LEVEL_DROP = 0.6  # pond level below the lowest ground around it [m]


@dataclass(frozen=True)
class Building:
    """A building with a rectangular footprint and a flat or gabled roof (heights above ground)."""

    bag_id: str  # 16 digits, e.g. 0344100000100001
    footprint: tuple[float, float, float, float]  # xmin, ymin, xmax, ymax [m]
    ground: float  # ground level at the centroid [m NAP]
    eave: float  # lowest roof height above ground [m]
    ridge: float  # highest roof height above ground [m]; equal to eave for a flat roof
    ridge_along_x: bool  # ridge runs east–west
    in_3dbag: bool  # also delivered as CityJSON

    @property
    def flat(self) -> bool:
        return self.ridge == self.eave

    def roof_z(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Roof height at points inside the footprint [m NAP]."""
        x0, y0, x1, y1 = self.footprint
        if self.flat:
            return np.full(np.shape(x), self.ground + self.eave)
        across, lo, hi = (y, y0, y1) if self.ridge_along_x else (x, x0, x1)
        half = (hi - lo) / 2.0
        rise = 1.0 - np.abs(across - (lo + half)) / half
        return self.ground + self.eave + (self.ridge - self.eave) * rise

    def roof_percentile(self, q: float) -> float:
        """Height percentile ``q`` (0–100) of the roof surface [m NAP]; a gable is uniform in height."""
        return self.ground + self.eave + (self.ridge - self.eave) * q / 100.0


@dataclass(frozen=True)
class Tree:
    """A tree: trunk position, total height, crown diameter [m]."""

    id: str
    x: float
    y: float
    height: float
    crown: float
    species: str
    in_register: bool  # street trees are in the register; park and garden trees only in the LAZ


@dataclass(frozen=True)
class Area:
    """A BGT surface: layer name, BGT class or function, polygon."""

    layer: str  # wegdeel, begroeidterreindeel, onbegroeidterreindeel, waterdeel
    kind: str  # function / class / fysiek voorkomen value
    polygon: shapely.Polygon


@dataclass(frozen=True)
class Network:
    """An IMKL Utiliteitsnet: owner, thema and standard depth [m below ground]."""

    id: str
    owner: str  # bronhoudercode
    thema: str
    standard_depth: float


@dataclass(frozen=True)
class Line:
    """One cable or pipe: IMKL feature type, network, centre line and size."""

    id: str
    feature: str  # Elektriciteitskabel, Telecommunicatiekabel, Waterleiding, ...
    network: str
    coords: tuple[tuple[float, float], ...]
    diameter_mm: float
    label: str
    connection: bool = False  # a house connection (huisaansluiting)


@dataclass(frozen=True)
class DepthPoint:
    """An IMKL depth point: ``DiepteNAP`` (value = NAP level of the top) or ``DiepteTovMaaiveld``."""

    id: str
    feature: str  # DiepteNAP or DiepteTovMaaiveld
    network: str
    x: float
    y: float
    value: float  # [m NAP] or [m below ground]
    ground: float  # ground level [m NAP]


@dataclass(frozen=True)
class Route:
    """A planned heat-network pair or a set of new trees for a plan variant."""

    id: str
    name: str
    theme: str
    area: tuple[float, float, float, float]  # plan area bounds [m RD]
    lines: tuple[tuple[str, tuple[tuple[float, float], ...]], ...] = ()  # (role, coords)
    trees: tuple[Tree, ...] = ()


@dataclass
class District:
    """The whole demo district."""

    seed: int
    scale: int
    nx: int
    ny: int
    extent: tuple[float, float, float, float]
    buildings: list[Building] = field(default_factory=list)
    trees: list[Tree] = field(default_factory=list)
    areas: list[Area] = field(default_factory=list)
    networks: list[Network] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    depth_points: list[DepthPoint] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)
    water_level: float = 0.0
    notes: list[str] = field(default_factory=list)


def ground_z(
    x: np.ndarray | float, y: np.ndarray | float, extent: tuple[float, float, float, float]
) -> np.ndarray:
    """Gently sloped ground with a low undulation, about -0.6 … +1.3 m NAP."""
    x0, y0, x1, y1 = extent
    fx = (np.asarray(x) - x0) / (x1 - x0)
    fy = (np.asarray(y) - y0) / (y1 - y0)
    wave = (
        0.2
        * np.sin(2 * np.pi * (np.asarray(x) - x0) / 180.0)
        * np.cos(2 * np.pi * (np.asarray(y) - y0) / 150.0)
    )
    return -0.4 + 1.5 * (0.6 * fx + 0.4 * fy) + wave


def grid_shape(scale: int) -> tuple[int, int]:
    """Blocks east–west and north–south: 3 × 2 at scale 1, about ``6·scale`` blocks in all."""
    if not isinstance(scale, int) or isinstance(scale, bool) or scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale!r}")
    ny = max(2, round(2 * math.sqrt(scale)))
    return max(3, round(6 * scale / ny)), ny


def street_low(k: int, along_x: bool) -> float:
    """Low edge (south or west facade line) of street ``k`` [m RD]."""
    base = ORIGIN[1] if along_x else ORIGIN[0]
    return base + k * ((BLOCK_Y if along_x else BLOCK_X) + STREET)


def block_bounds(i: int, j: int) -> tuple[float, float, float, float]:
    """Bounds of block (i, j) [m RD]."""
    x0 = street_low(i, False) + STREET
    y0 = street_low(j, True) + STREET
    return x0, y0, x0 + BLOCK_X, y0 + BLOCK_Y


def is_park(i: int, j: int) -> bool:
    """Every third block column, odd rows: a park with a pond instead of buildings."""
    return i % 3 == 1 and j % 2 == 1


def make_district(seed: int = 0, scale: int = 1) -> District:
    """Build the district for ``seed`` and ``scale`` (deterministic)."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    nx, ny = grid_shape(scale)
    rng = np.random.default_rng(seed)
    extent = (
        ORIGIN[0],
        ORIGIN[1],
        street_low(nx, False) + STREET,
        street_low(ny, True) + STREET,
    )
    district = District(seed=seed, scale=scale, nx=nx, ny=ny, extent=extent)
    _add_blocks(district, rng)
    _add_streets(district)
    _add_street_trees(district, rng)
    _add_networks(district)
    _add_conflicts(district)
    _add_routes(district)
    district.lines = [_densified(line) for line in district.lines]
    return district


def main_street(district: District) -> int:
    """Index of the main east–west street."""
    return district.ny // 2


def _add_blocks(district: District, rng: np.random.Generator) -> None:
    counter = 0
    garden_trees = 0
    for j in range(district.ny):
        for i in range(district.nx):
            bx0, by0, bx1, by1 = block_bounds(i, j)
            block = shapely.box(bx0, by0, bx1, by1)
            if is_park(i, j):
                _add_park(district, rng, block)
                continue
            apartments = rng.random() < 0.35
            footprints: list[tuple[tuple[float, float, float, float], bool, bool]] = []
            deep = 12.0 if apartments else 9.5
            # north and south rows span the block; east and west rows fill in between
            for y_lo, y_hi in ((by1 - deep, by1), (by0, by0 + deep)):
                for x_lo, x_hi in _split(bx0, bx1, 40.0 if apartments else 5.4, rng):
                    footprints.append(((x_lo, y_lo, x_hi, y_hi), apartments, True))
            for x_lo, x_hi in ((bx0, bx0 + 9.5), (bx1 - 9.5, bx1)):
                for y_lo, y_hi in _split(by0 + deep, by1 - deep, 5.4, rng):
                    footprints.append(((x_lo, y_lo, x_hi, y_hi), False, False))
            row_eave = {}
            for box, flat, along_x in footprints:
                key = (box[1], box[3]) if along_x else (box[0], box[2])
                if key not in row_eave:
                    if flat:
                        storeys = int(rng.integers(3, 6))
                        row_eave[key] = (3.0 * storeys + 0.6, 3.0 * storeys + 0.6)
                    else:
                        eave = round(float(rng.uniform(5.6, 6.4)), 2)
                        row_eave[key] = (eave, round(eave + float(rng.uniform(3.0, 4.2)), 2))
                eave, ridge = row_eave[key]
                cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
                counter += 1
                district.buildings.append(
                    Building(
                        bag_id=f"{GEMEENTE}100000{100000 + counter:06d}",
                        footprint=tuple(round(v, 3) for v in box),
                        ground=round(float(ground_z(cx, cy, district.extent)), 3),
                        eave=eave,
                        ridge=ridge,
                        ridge_along_x=along_x,
                        in_3dbag=j % 2 == 0,
                    )
                )
            inner = shapely.box(bx0 + 9.5, by0 + deep, bx1 - 9.5, by1 - deep)
            district.areas.append(Area("onbegroeidterreindeel", "erf", inner))
            for _ in range(int(rng.integers(0, 3))):
                garden_trees += 1
                crown = float(rng.uniform(3.0, 6.0))
                tx0, ty0, tx1, ty1 = inner.buffer(-crown / 2 - 0.5).bounds
                district.trees.append(
                    Tree(
                        id=f"TUIN-{garden_trees:04d}",
                        x=round(float(rng.uniform(tx0, tx1)), 2),
                        y=round(float(rng.uniform(ty0, ty1)), 2),
                        height=round(float(rng.uniform(5.0, 10.0)), 1),
                        crown=round(crown, 1),
                        species="Betula pendula",
                        in_register=False,
                    )
                )


def _split(
    lo: float, hi: float, width: float, rng: np.random.Generator
) -> list[tuple[float, float]]:
    """Split [lo, hi] into plots of about ``width`` with jittered party walls."""
    n = max(1, round((hi - lo) / width))
    edges = np.linspace(lo, hi, n + 1)
    edges[1:-1] += rng.uniform(-0.3, 0.3, n - 1)
    return [(float(a), float(b)) for a, b in pairwise(edges)]


def _add_park(district: District, rng: np.random.Generator, block: shapely.Polygon) -> None:
    cx, cy = block.centroid.x, block.centroid.y
    pond = shapely.Polygon(
        [
            (cx + 18.0 * math.cos(a), cy + 11.0 * math.sin(a))
            for a in np.linspace(0, 2 * math.pi, 25)[:-1]
        ]
    )
    pond = shapely.set_precision(pond, 0.001)
    district.areas.append(Area("begroeidterreindeel", "groenvoorziening", block.difference(pond)))
    district.areas.append(Area("waterdeel", "watervlakte", pond))
    ring = np.asarray(pond.exterior.coords)
    district.water_level = round(
        float(ground_z(ring[:, 0], ring[:, 1], district.extent).min()) - WATER_LEVEL_DROP, 2
    )
    bx0, by0, bx1, by1 = block.bounds
    placed = 0
    while placed < 10:
        x, y = float(rng.uniform(bx0 + 6, bx1 - 6)), float(rng.uniform(by0 + 6, by1 - 6))
        if pond.buffer(6.0).contains(shapely.Point(x, y)):
            continue
        placed += 1
        district.trees.append(
            Tree(
                id=f"PARK-{len(district.trees) + 1:04d}",
                x=round(x, 2),
                y=round(y, 2),
                height=round(float(rng.uniform(12.0, 20.0)), 1),
                crown=round(float(rng.uniform(7.0, 11.0)), 1),
                species=str(rng.choice(["Quercus robur", "Fagus sylvatica", "Salix alba"])),
                in_register=False,
            )
        )


def _add_streets(district: District) -> None:
    """BGT wegdeel strips per street stretch between crossings, and crossing squares."""
    main = main_street(district)
    for m in range(district.ny + 1):
        for i in range(district.nx):
            xa, xb = block_bounds(i, 0)[0], block_bounds(i, 0)[2]
            low = street_low(m, True)
            for function, a, b in PROFILE:
                if m == main and function == "parkeervlak" and a < STREET / 2:
                    function = MAIN_STREET_LOW_SIDE
                district.areas.append(
                    Area("wegdeel", function, shapely.box(xa, low + a, xb, low + b))
                )
    for k in range(district.nx + 1):
        for j in range(district.ny):
            ya, yb = block_bounds(0, j)[1], block_bounds(0, j)[3]
            low = street_low(k, False)
            for function, a, b in PROFILE:
                district.areas.append(
                    Area("wegdeel", function, shapely.box(low + a, ya, low + b, yb))
                )
    for k in range(district.nx + 1):
        for m in range(district.ny + 1):
            x, y = street_low(k, False), street_low(m, True)
            district.areas.append(
                Area("wegdeel", "rijbaan lokale weg", shapely.box(x, y, x + STREET, y + STREET))
            )


def _add_street_trees(district: District, rng: np.random.Generator) -> None:
    """Street trees every ~10 m in the north parking strip of the main street (the register)."""
    y = street_low(main_street(district), True) + 11.5
    species = ["Tilia × europaea", "Platanus × hispanica", "Fraxinus excelsior"]
    number = 0
    for i in range(district.nx):
        xa, xb = block_bounds(i, 0)[0], block_bounds(i, 0)[2]
        for x in np.arange(xa + 5.0, xb - 2.0, 10.0):
            number += 1
            district.trees.append(
                Tree(
                    id=f"BOOM-{number:04d}",
                    x=round(float(x + rng.uniform(-0.5, 0.5)), 2),
                    y=round(float(y + rng.uniform(-0.2, 0.2)), 2),
                    height=round(float(rng.uniform(9.0, 16.0)), 1),
                    crown=round(float(rng.uniform(5.0, 9.0)), 1),
                    species=species[number % len(species)],
                    in_register=True,
                )
            )


#: Main lines per street side: (network, feature, offset from facade [m], diameter [mm], label)
SIDE_MAINS = (
    ("telecom", "Telecommunicatiekabel", 0.30, 40.0, "KPN koper/glas"),
    ("lv", "Elektriciteitskabel", 0.65, 50.0, "LS 4x150 Al"),
    ("gas", "OlieGasChemicalienPijpleiding", 1.25, 110.0, "110 PE 100 mbar"),
    ("water", "Waterleiding", 1.85, 110.0, "110 PVC"),
)
#: House connections: (network, feature, diameter [mm], shift along the facade from its centre [m])
CONNECTIONS = (
    ("telecom", "Telecommunicatiekabel", 10.0, -1.0),
    ("lv", "Elektriciteitskabel", 25.0, -0.5),
    ("gas", "OlieGasChemicalienPijpleiding", 32.0, 0.0),
    ("water", "Waterleiding", 32.0, 0.5),
    ("sewer", "Rioolleiding", 125.0, 1.2),
)
NETWORKS = (
    Network("telecom", "KL1009", "datatransport", 0.50),
    Network("lv", "KL1014", "laagspanning", 0.70),
    Network("mv", "KL1014", "middenspanning", 0.90),
    Network("gas", "KL1014", "gasLageDruk", 1.00),
    Network("water", "KL1100", "water", 1.35),
    Network("sewer", "GM0344", "rioolVrijverval", 2.00),
    Network("heat", "KL1170", "warmte", 1.00),
    Network("fibre", "KL3131", "datatransport", 1.40),
)
HEAT_STREET = 1  # north–south street with the existing district-heating pair
HEAT_OFFSETS = (3.0, 3.8)  # supply, return from the west facade [m]
HEAT_WATER_MM = 200.0  # the water main beside the heat pair


def _place(along_x: bool, s: float, t: float) -> tuple[float, float]:
    """Point at ``s`` along and ``t`` across a street axis."""
    return (round(s, 3), round(t, 3)) if along_x else (round(t, 3), round(s, 3))


def _add_networks(district: District) -> None:
    district.networks.extend(NETWORKS)
    count: dict[str, int] = {}

    def add(
        network: str, feature: str, coords, diameter: float, label: str, connection: bool = False
    ) -> None:
        count[network] = count.get(network, 0) + 1
        district.lines.append(
            Line(
                id=f"{network}_{'ha' if connection else 'main'}_{count[network]:05d}",
                feature=feature,
                network=network,
                coords=tuple(coords),
                diameter_mm=diameter,
                label=label,
                connection=connection,
            )
        )

    def street(along_x: bool, k: int, s0: float, s1: float, reach: bool) -> None:
        """All mains of one street stretch; ``reach`` extends north–south mains to the crossing mains."""
        low = street_low(k, along_x)
        for network, feature, offset, diameter, label in SIDE_MAINS:
            ext = offset if reach else 0.0
            for t in (low + offset, low + STREET - offset):
                if not along_x and k == HEAT_STREET and network == "water" and t < low + STREET / 2:
                    size, name = HEAT_WATER_MM, "200 PVC transport"
                else:
                    size, name = diameter, label
                add(
                    network,
                    feature,
                    [_place(along_x, s0 - ext, t), _place(along_x, s1 + ext, t)],
                    size,
                    name,
                )
        t = low + STREET - 2.45
        add(
            "mv",
            "Elektriciteitskabel",
            [_place(along_x, s0, t), _place(along_x, s1, t)],
            80.0,
            "MS 3x240 Al",
        )
        ext = STREET / 2 if reach else 0.0
        t = low + STREET / 2
        add(
            "sewer",
            "Rioolleiding",
            [_place(along_x, s0 - ext, t), _place(along_x, s1 + ext, t)],
            400.0,
            "400 beton GWA",
        )
        if not along_x and k == HEAT_STREET:
            for role, offset in zip(("aanvoer", "retour"), HEAT_OFFSETS):
                t = low + offset
                add(
                    "heat",
                    "ThermischePijpleiding",
                    [_place(False, s0, t), _place(False, s1, t)],
                    200.0,
                    f"DN150 {role} (mantel 250)",
                )

    # east–west mains run through the crossings, cut at each north–south street
    cuts = (
        [district.extent[0]]
        + [block_bounds(i, 0)[2] for i in range(district.nx - 1)]
        + [district.extent[2]]
    )
    for m in range(district.ny + 1):
        for s0, s1 in pairwise(cuts):
            street(True, m, s0, s1, reach=False)
    # north–south mains run along the blocks and reach the east–west main of their own kind
    for k in range(district.nx + 1):
        for j in range(district.ny):
            _, y0, _, y1 = block_bounds(0, j)
            street(False, k, y0, y1, reach=True)

    for building in district.buildings:
        (along, across), normal, along_x = _front(building, district)
        for network, feature, diameter, shift in CONNECTIONS:
            reach = (
                STREET / 2
                if network == "sewer"
                else next(o for n, _, o, _, _ in SIDE_MAINS if n == network)
            )
            start = _place(along_x, along + shift, across)
            end = _place(along_x, along + shift, across + normal * reach)
            add(network, feature, [end, start], diameter, "huisaansluiting", connection=True)


VERTEX_SPACING = 10.0  # largest distance between vertices of a main [m], as in surveyed KLIC lines


def _densified(line: Line) -> Line:
    """``line`` with extra vertices so that no stretch is longer than ``VERTEX_SPACING``."""
    if line.connection:
        return line
    coords = [line.coords[0]]
    for (xa, ya), (xb, yb) in pairwise(line.coords):
        pieces = max(1, math.ceil(math.hypot(xb - xa, yb - ya) / VERTEX_SPACING))
        coords.extend(
            (round(xa + (xb - xa) * k / pieces, 3), round(ya + (yb - ya) * k / pieces, 3))
            for k in range(1, pieces + 1)
        )
    return replace(line, coords=tuple(coords))


def _line_index(district: District, network: str, point: tuple[float, float]) -> int:
    """Index of the main of ``network`` passing within 1 cm of ``point``."""
    p = shapely.Point(point)
    for index, line in enumerate(district.lines):
        if (
            line.network == network
            and not line.connection
            and shapely.LineString(line.coords).distance(p) < 0.01
        ):
            return index
    raise ValueError(f"no {network} main at {point}")


def _clear_of_connections(district: District, y: float, x: float, step: float) -> float:
    """First ``x + n·step`` at least 0.5 m from every house connection touching the line ``y``."""
    xs = np.array(
        [
            line.coords[0][0]
            for line in district.lines
            if line.connection and abs(line.coords[1][1] - y) < 0.01
        ]
    )
    while xs.size and np.abs(xs - x).min() < 0.5:
        x += step
    return round(x, 3)


def _add_conflicts(district: District) -> None:
    """One hard clash, one possible clash, and depth points on sewer and heat pipes."""
    ext = district.extent

    def depth_point(feature: str, network: str, x: float, y: float, below: float) -> None:
        ground = round(float(ground_z(x, y, ext)), 3)
        value = round(ground - below, 3) if feature == "DiepteNAP" else below
        number = len(district.depth_points) + 1
        district.depth_points.append(
            DepthPoint(f"{feature}_{number:03d}", feature, network, x, y, value, ground)
        )

    # hard clash: a drilled fibre crossing of the main street hits the south water main, both measured
    main_low = street_low(main_street(district), True)
    x = _clear_of_connections(district, main_low, block_bounds(0, 0)[0] + 10.0, step=10.0)
    crossing = (x, main_low + 1.85)
    district.lines.append(
        Line(
            "fibre_main_00001",
            "Telecommunicatiekabel",
            "fibre",
            ((x, main_low + 1.0), crossing, (x, main_low + STREET - 3.0)),
            14.0,
            "glasvezel boring",
        )
    )
    depth_point("DiepteTovMaaiveld", "fibre", *crossing, 1.38)
    depth_point("DiepteTovMaaiveld", "water", *crossing, 1.35)
    district.notes.append(
        f"hard clash: fibre_main_00001 crosses the water main at ({crossing[0]:.2f}, {crossing[1]:.2f}); "
        "measured tops 1.38 m (fibre, 14 mm) and 1.35 m (water, 110 mm) below ground"
    )

    # possible clash: beside the park the gas main jogs to 0.35 m of the LV cable (standard depth)
    park_x0, _, _, park_y1 = block_bounds(1, 1)
    t, jog = park_y1 + 1.25, park_y1 + 1.0
    index = _line_index(district, "gas", (park_x0 + 27.0, t))
    old = district.lines[index]
    (s0, _), (s1, _) = old.coords
    xs = [park_x0 + d for d in (18.0, 20.0, 34.0, 36.0)]
    coords = ((s0, t), (xs[0], t), (xs[1], jog), (xs[2], jog), (xs[3], t), (s1, t))
    district.lines[index] = replace(old, coords=coords)
    for x in (xs[1], (xs[1] + xs[2]) / 2, xs[2]):  # every vertex of the jog once densified
        depth_point("DiepteNAP", "gas", x, jog, 1.20)
    district.notes.append(
        f"possible clash: {old.id} (gas, measured top 1.20 m) runs 0.35 m beside the LV cable "
        f"(standard depth 0.70 m) for 14 m at x {xs[1]:.0f}–{xs[2]:.0f}, y {jog:.2f}"
    )

    heat = next(line for line in district.lines if line.network == "heat")
    (hx, hy0), (_, hy1) = heat.coords
    depth_point("DiepteTovMaaiveld", "heat", hx, round((hy0 + hy1) / 2, 3), 1.00)
    sewer_y = main_low + STREET / 2
    depth_point("DiepteNAP", "sewer", round(district.extent[0] + 40.0, 3), sewer_y, 2.00)
    district.notes.append(
        f"thermal: the {HEAT_WATER_MM:.0f} mm water main lies 1.15 m beside the district-heating supply "
        f"in north–south street {HEAT_STREET}"
    )


def _add_routes(district: District) -> None:
    """Plan variants: the heat network along either side of the main street, and new street trees."""
    low = street_low(main_street(district), True)
    x0, x1 = district.extent[0], district.extent[2]
    area = (x0, low, x1, low + STREET)
    for side, offsets, where in (
        ("north", (STREET - 3.0, STREET - 3.8), "noordzijde"),
        ("south", (3.0, 3.8), "zuidzijde"),
    ):
        lines = tuple(
            (role, ((x0, low + o), (x1, low + o)))
            for role, o in zip(("aanvoer", "retour"), offsets)
        )
        district.routes.append(
            Route(
                f"heatnet-{side}",
                f"Warmtenet Hoofdstraat {where}",
                "warmtetransitie",
                lines=lines,
                area=area,
            )
        )
    k = district.nx - 1
    x = street_low(k, False) + 3.5
    trees = []
    for j in range(district.ny):
        _, y0, _, y1 = block_bounds(0, j)
        for y in np.arange(y0 + 6.0, y1 - 3.0, 12.0):
            trees.append(
                Tree(
                    f"NIEUW-{len(trees) + 1:04d}", x, float(y), 12.0, 8.0, "Ulmus 'Columella'", True
                )
            )
    green_area = (
        street_low(k, False),
        district.extent[1],
        street_low(k, False) + STREET,
        district.extent[3],
    )
    district.routes.append(
        Route(
            "greening",
            "Vergroening noord-zuidstraat",
            "klimaatadaptatie",
            trees=tuple(trees),
            area=green_area,
        )
    )


def _front(building: Building, district: District) -> tuple[tuple[float, float], float, bool]:
    """Facade centre (along, across), outward normal sign and street direction of a building's front."""
    x0, y0, x1, y1 = building.footprint
    for j in range(district.ny):
        for i in range(district.nx):
            bx0, by0, bx1, by1 = block_bounds(i, j)
            if not (
                bx0 - 0.01 <= x0 and x1 <= bx1 + 0.01 and by0 - 0.01 <= y0 and y1 <= by1 + 0.01
            ):
                continue
            if building.ridge_along_x:
                return (
                    ((x0 + x1) / 2, y1 if abs(y1 - by1) < 0.01 else y0),
                    (1.0 if abs(y1 - by1) < 0.01 else -1.0),
                    True,
                )
            return (
                ((y0 + y1) / 2, x1 if abs(x1 - bx1) < 0.01 else x0),
                (1.0 if abs(x1 - bx1) < 0.01 else -1.0),
                False,
            )
    raise ValueError(f"building {building.bag_id} lies in no block")
