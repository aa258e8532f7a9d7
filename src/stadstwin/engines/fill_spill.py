"""Fill-and-spill of a rain volume over an elevation raster: where water ponds after a storm (numba).

Rain that is not lost to infiltration or the sewer runs over the surface into depressions; a
full depression spills over its lowest rim into the next one, and water that reaches the raster
border leaves the scene. Timing is ignored (the Dutch stress test asks where water ends up, not
when), and every water surface is flat.

Depression tree. Cells are switched on in ascending elevation; a cell joins the pond of its
already-on neighbours (8 around). A cell with none starts a new pond (a leaf: a local minimum);
a cell touching two or more ponds is their saddle: they merge there into a parent pond whose
floor is the saddle's elevation, and each child's *spill level* is that elevation. A pond that
touches the raster border (a border cell, or a cell the caller marks as outlet, e.g. open water) merges into the
outside and drains there. The volume a
pond holds up to its spill level is its capacity: Σ (spill − z) · A over the cells of its
subtree. NaN cells are walls: never switched on, never outlets. A pond enclosed by walls and
never reaching the border has no spill level and holds any volume.

Rain on a cell runs to its lowest already-on neighbour and on, to the leaf pond at the end of that
path (rain on a border cell, or running to one, leaves the scene). Pouring into a pond: it fills
the pond; once full, the overflow goes at the saddle into each sibling that is not yet full
(entering at the leaf below the saddle on the sibling's side, and filling that sibling's subtree
the same way), and only when all siblings are full does the parent pond's own volume above the
saddle fill, then the parent spills on. Volumes are moved by exact subtraction, so stored +
outflow equals the rain to rounding. Finally each pond with water above its floor gets its level
L from Σ_{z < L} (L − z) · A = stored volume, over the cells of its subtree; a full pond takes its
parent's level where the parent holds water, else its spill level.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_ROW = np.array([-1, -1, 0, 1, 1, 1, 0, -1], dtype=np.int64)
_COL = np.array([0, 1, 1, 1, 0, -1, -1, -1], dtype=np.int64)
OUTSIDE = 0
"""Node id of the world beyond the raster border; water that reaches it leaves the scene."""


@njit(cache=True, nogil=True)
def _find(links, cell):
    root = cell
    while links[root] != root:
        root = links[root]
    while links[cell] != root:  # path compression
        links[cell], cell = root, links[cell]
    return root


@njit(cache=True, nogil=True)
def _depression_tree(z, valid, outlet, rows, cols):
    """Switch cells on in ascending order: (node parent, floor, spill level, entry leaf, member node of
    each cell, leaf each cell's rain runs to, order, node count). Node 0 is the outside."""
    n = rows * cols
    order = np.argsort(z, kind="mergesort")
    links = np.arange(n)
    on = np.zeros(n, dtype=np.bool_)
    component = np.full(n, -1, dtype=np.int64)  # node of each union-find root
    member = np.full(n, -1, dtype=np.int64)
    leaf_of = np.full(n, -1, dtype=np.int64)
    parent = np.full(2 * n + 1, -1, dtype=np.int64)
    floor = np.full(2 * n + 1, -np.inf)
    spill = np.full(2 * n + 1, np.inf)
    entry = np.full(2 * n + 1, -1, dtype=np.int64)
    nodes = 1
    roots = np.empty(9, dtype=np.int64)
    lowest = np.empty(9, dtype=np.int64)  # per distinct root: its lowest neighbour cell of this cell
    for cell in order:
        if not valid[cell]:
            continue
        r = cell // cols
        c = cell % cols
        level = z[cell]
        found = 0
        border = r == 0 or c == 0 or r == rows - 1 or c == cols - 1 or outlet[cell]
        downhill = -1
        for k in range(8):
            rr = r + _ROW[k]
            cc = c + _COL[k]
            if rr < 0 or rr >= rows or cc < 0 or cc >= cols:
                continue
            other = rr * cols + cc
            if not on[other]:
                continue
            if downhill < 0 or z[other] < z[downhill]:
                downhill = other
            root = _find(links, other)
            seen = -1
            for i in range(found):
                if roots[i] == root:
                    seen = i
            if seen < 0:
                roots[found] = root
                lowest[found] = other
                found += 1
            elif z[other] < z[lowest[seen]]:
                lowest[seen] = other
        on[cell] = True
        outside = border
        for i in range(found):
            if component[roots[i]] == OUTSIDE:
                outside = True
        if found == 0 and not outside:  # a local minimum: a new leaf pond
            node = nodes
            nodes += 1
            floor[node] = level
            component[cell] = node
            member[cell] = node
            leaf_of[cell] = node
            continue
        leaf_of[cell] = OUTSIDE if border or downhill < 0 else leaf_of[downhill]
        if outside:
            node = OUTSIDE
        elif found == 1:
            node = component[roots[0]]
        else:
            node = nodes
            nodes += 1
            floor[node] = level
        for i in range(found):
            child = component[roots[i]]
            if child != node:
                parent[child] = node
                spill[child] = level
                entry[child] = leaf_of[lowest[i]]
            links[roots[i]] = cell
        component[cell] = node
        member[cell] = node
    return parent[:nodes], floor[:nodes], spill[:nodes], entry[:nodes], member, leaf_of, order, nodes


@njit(cache=True, nogil=True)
def _pour(amount, leaf, top, parent, full, own, own_cap, child_start, children, entry, stack_x, stack_node,
          stack_next):
    """Pour ``amount`` [m³] into the subtree of ``top`` entering at ``leaf``; returns the overflow [m³]."""
    stack_x[0] = top
    stack_node[0] = leaf
    stack_next[0] = 0
    depth = 1
    while depth > 0 and amount > 0.0:
        f = depth - 1
        node = stack_node[f]
        descended = False
        while stack_next[f] < child_start[node + 1] - child_start[node]:
            child = children[child_start[node] + stack_next[f]]
            stack_next[f] += 1
            if not full[child]:
                stack_x[depth] = child
                stack_node[depth] = entry[child]
                stack_next[depth] = 0
                depth += 1
                descended = True
                break
        if descended:
            continue
        if not full[node]:
            take = min(own_cap[node] - own[node], amount)
            own[node] += take
            amount -= take
            if amount <= 0.0:
                break
            full[node] = True
        if node == stack_x[f]:
            depth -= 1  # this subtree is full: the overflow returns to the frame that poured into it
        else:
            stack_node[f] = parent[node]
            stack_next[f] = 0
    return max(amount, 0.0)


@njit(cache=True, nogil=True)
def fill_and_spill(dem: np.ndarray, water: np.ndarray, cell_area: float, outlet: np.ndarray):
    """(water depth [m] per cell, outflow [m³]) of the volumes ``water`` [m³ per cell] (module doc).

    ``water`` must be ≥ 0 and 0 on NaN (wall) cells: rain on a roof is routed by the caller.
    ``outlet`` (bool, shape of ``dem``) marks cells that drain like the border (open water)."""
    rows, cols = dem.shape
    n = rows * cols
    flat = dem.ravel()
    valid = ~np.isnan(flat)
    base = np.nanmin(flat) if valid.any() else 0.0
    z = np.where(valid, flat - base, np.inf)
    parent, floor, spill, entry, member, leaf_of, order, nodes = _depression_tree(z, valid, outlet.ravel(), rows, cols)
    floor = floor.copy()
    # cells per node: own (joined at that node, ascending) and subtree totals
    own_n = np.zeros(nodes, dtype=np.int64)
    own_sum = np.zeros(nodes)
    for cell in range(n):
        if valid[cell] and member[cell] > OUTSIDE:
            own_n[member[cell]] += 1
            own_sum[member[cell]] += z[cell]
    own_start = np.zeros(nodes + 1, dtype=np.int64)
    for k in range(nodes):
        own_start[k + 1] = own_start[k] + own_n[k]
    own_cells = np.empty(own_start[nodes], dtype=np.int64)
    fill = own_start[:-1].copy()
    for cell in order:
        if valid[cell] and member[cell] > OUTSIDE:
            own_cells[fill[member[cell]]] = cell
            fill[member[cell]] += 1
    child_count = np.zeros(nodes + 1, dtype=np.int64)
    for k in range(1, nodes):
        if parent[k] > OUTSIDE:
            child_count[parent[k] + 1] += 1
    child_start = np.cumsum(child_count)
    children = np.empty(child_start[nodes], dtype=np.int64)
    fill = child_start[:-1].copy()
    for k in range(1, nodes):
        if parent[k] > OUTSIDE:
            children[fill[parent[k]]] = k
            fill[parent[k]] += 1
    below_n = np.zeros(nodes, dtype=np.int64)  # cells of the children's subtrees (all below the floor)
    below_sum = np.zeros(nodes)
    sub_n = own_n.copy()
    sub_sum = own_sum.copy()
    for k in range(1, nodes):  # children come before their parent
        if parent[k] > OUTSIDE:
            below_n[parent[k]] += sub_n[k]
            below_sum[parent[k]] += sub_sum[k]
            sub_n[parent[k]] += sub_n[k]
            sub_sum[parent[k]] += sub_sum[k]
    own_cap = np.full(nodes, np.inf)
    for k in range(1, nodes):
        if np.isfinite(spill[k]):
            above = below_n[k] * (spill[k] - floor[k]) if below_n[k] > 0 else 0.0
            own_cap[k] = cell_area * (above + own_n[k] * spill[k] - own_sum[k])
    own_cap[OUTSIDE] = np.inf
    # pour each cell's water into the leaf its run-off reaches
    top = np.arange(nodes)
    for k in range(nodes - 1, 0, -1):  # parents after children: walk down from the roots
        if parent[k] > OUTSIDE:
            top[k] = top[parent[k]]
    full = np.zeros(nodes, dtype=np.bool_)
    own = np.zeros(nodes)
    stack_x = np.empty(nodes + 1, dtype=np.int64)
    stack_node = np.empty(nodes + 1, dtype=np.int64)
    stack_next = np.empty(nodes + 1, dtype=np.int64)
    flat_water = water.ravel()
    outflow = 0.0
    for cell in range(n):
        volume = flat_water[cell]
        if volume < 0.0 or (volume > 0.0 and not valid[cell]):
            raise ValueError("water volumes must be ≥ 0 and lie on valid (non-NaN) cells")
        if volume == 0.0:
            continue
        leaf = leaf_of[cell]
        if leaf == OUTSIDE:
            outflow += volume
            continue
        outflow += _pour(volume, leaf, top[leaf], parent, full, own, own_cap, child_start, children, entry,
                         stack_x, stack_node, stack_next)
    # water level per node, from the roots down
    level = np.full(nodes, -np.inf)
    for k in range(nodes - 1, 0, -1):
        p = parent[k]
        if full[k] and p > OUTSIDE and level[p] > -np.inf:
            level[k] = level[p]  # under its parent's water, which stands at least at its spill level
        elif full[k]:
            level[k] = spill[k]
        elif own[k] > 0.0:
            volume = own[k] / cell_area
            count = below_n[k]
            total = below_sum[k]
            if count > 0:
                volume += count * floor[k] - total  # the full children below the floor
            for i in range(own_start[k], own_start[k + 1]):
                zc = z[own_cells[i]]
                if count > 0 and (volume + total) / count <= zc:
                    break
                count += 1
                total += zc
            level[k] = (volume + total) / count
    depth = np.zeros(n)
    for cell in range(n):
        if valid[cell] and member[cell] > OUTSIDE:
            depth[cell] = max(level[member[cell]] - z[cell], 0.0)
    return depth.reshape(rows, cols), outflow
