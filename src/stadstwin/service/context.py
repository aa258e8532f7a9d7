"""The service's shared state (store, scenes, jobs, settings) and the lookups every route needs.

Every name a request carries is looked up here, never joined into a path: scenes come from the
catalogue, variants and jobs from the store; anything else is a 404.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Collection, Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request

from stadstwin.analyses.result import Analysis
from stadstwin.io.plan_register import plans_from_features
from stadstwin.model.plans import Plan
from stadstwin.model.variant import Variant
from stadstwin.scenario.variants import BASE
from stadstwin.service.catalog import NotFound, SceneCatalog
from stadstwin.service.http_cache import MEMORY_BUDGET, BudgetCache, once
from stadstwin.service.jobs import JobRunner
from stadstwin.service.limits import ID_PATTERN
from stadstwin.service.processes import Process
from stadstwin.service.redact import Visibility, bodies_in
from stadstwin.service.store import Job, Principal, Store, StoredVariant

_ID = re.compile(ID_PATTERN)
T = TypeVar("T")


class ResponseCache(BudgetCache):
    """The ``size`` most recently used values by key (for answers that cannot change under their key,
    e.g. of finished jobs, or of a variant version as one organisation sees it); prepared answers
    hold at most ``budget`` bytes in all."""

    def __init__(self, size: int = 256, budget: int = MEMORY_BUDGET) -> None:
        super().__init__(size, budget)
        self._pending: dict[Hashable, asyncio.Future] = {}

    async def get_or_compute(self, key: Hashable, compute: Callable[[], T],
                             valid: Callable[[T], bool] | None = None) -> T:
        """The value under ``key``; on a miss (or when ``valid`` says the kept one is stale, e.g. its
        files went missing) ``compute()`` runs in a worker thread, once for all who ask meanwhile
        (``http_cache.once``), and is kept."""
        found = self.get(key)
        if found is None or (valid is not None and not valid(found)):
            found = self.put(key, await once(self._pending, key, compute))
        return found


@dataclass
class Service:
    """Everything the routes share."""

    store: Store
    catalog: SceneCatalog
    runner: JobRunner
    processes: Mapping[str, Process]
    analyses: Mapping[str, Analysis]
    confidential: Collection[str]
    files: Path
    responses: ResponseCache = field(default_factory=ResponseCache)

    def scene_name(self, name: str) -> str:
        """``name`` if it is a loaded scene; NotFound otherwise."""
        self.catalog.scene(name)
        return name

    def stored_variant(self, scene: str, vid: str) -> StoredVariant:
        """A stored (editable) variant; NotFound for unknown ids and for ``base``."""
        self.scene_name(scene)
        found = self.store.variant(scene, vid) if _ID.match(vid) else None
        if found is None:
            raise NotFound(f"unknown variant {vid!r} of scene {scene!r}")
        return found

    def variant(self, scene: str, vid: str) -> tuple[Variant, int]:
        """A variant (``base`` included) and its version (0 for ``base``)."""
        version, stored = self.variant_version(scene, vid)
        return self.variant_of(scene, stored), version

    def variant_version(self, scene: str, vid: str) -> tuple[int, StoredVariant | None]:
        """A variant's version (0 for ``base``) and, for a stored one, what is stored; NotFound otherwise.
        Reads no more than one row: (scene, id, version) names a variant's content for good."""
        self.scene_name(scene)
        if vid == BASE:
            return 0, None
        stored = self.stored_variant(scene, vid)
        return stored.version, stored

    def variant_of(self, scene: str, stored: StoredVariant | None) -> Variant:
        """The variant a :meth:`variant_version` answer names (``base`` for None)."""
        return self.catalog.base_variant(scene) if stored is None else Variant.model_validate(stored.body)

    def variant_ids(self, scene: str) -> list[str]:
        return [BASE, *(v.id for v in self.store.variants(scene))]

    def job(self, job_id: str, who: Principal | None = None) -> Job:
        """A job; NotFound for unknown ids and, for ``who``, for another organisation's job on the plan
        register as that organisation sees it (``plans_for``)."""
        found = self.store.job(job_id) if _ID.match(job_id) else None
        if found is None or (who is not None and not self.may_see(who, found)):
            raise NotFound(f"unknown job {job_id!r}")
        return found

    @staticmethod
    def may_see(who: Principal, job: Job) -> bool:
        """Whether ``who`` may see ``job``: every job except another organisation's on its view of the plans."""
        return job.inputs.get("plans_for", who.organisation) == who.organisation

    def plan_hidden(self, who: Principal | None, plan: Plan) -> bool:
        """Whether ``who`` sees ``plan`` only redacted ("a party plans works here in year Y"): a
        confidential plan, or any plan of a confidential owner, of another party."""
        secret = plan.confidential or plan.party in self.confidential
        return secret and (who is None or who.organisation != plan.party)

    def stored_plans(self, scene: str) -> list[tuple[StoredVariant, Plan]]:
        """The scene's stored plans with their parsed plan (bodies are validated when stored)."""
        self.scene_name(scene)
        stored = self.store.plans(scene)
        return list(zip(stored, plans_from_features([s.body for s in stored], f"plans of {scene}")))

    def visible_plans(self, who: Principal | None, scene: str) -> list[Plan]:
        """The scene's plans as ``who`` may see them (module ``routes_plans``)."""
        return [p.redacted() if self.plan_hidden(who, p) else p for _, p in self.stored_plans(scene)]

    def visibility(self, who: Principal | None) -> Visibility:
        """What ``who`` may see (None: a caller without a valid token, who sees no confidential asset)."""
        return Visibility(self.confidential, None if who is None else who.organisation)

    def withheld(self, who: Principal | None, scene: str, variants: list[dict[str, Any]]) -> frozenset[str]:
        """Strings ``who`` may not see in output about these variant bodies of ``scene``: the hidden
        owners' ids in the base twin and those the bodies' edits create."""
        visibility = self.visibility(who)
        if not visibility.hidden:
            return frozenset()
        return visibility.withheld_values(self.catalog.base(scene)[1], variants)

    def withheld_anywhere(self, who: Principal | None, bodies: Collection[dict[str, Any]] = (), *,
                          every_scene: bool = False) -> frozenset[str]:
        """Strings ``who`` may not see in output that may be about any scene (errors, the audit log): those
        of every scene whose twin is loaded (``every_scene``: of every scene, loading its twin), its
        stored variants and the given variant bodies."""
        visibility = self.visibility(who)
        if not visibility.hidden:
            return frozenset()
        values: set[str] = set(visibility.hidden)
        for scene in (self.catalog.scenes if every_scene else self.catalog.loaded()):
            stored = [v.body for v in self.store.variants(scene)]
            values |= self.withheld(who, scene, [*stored, *bodies])
        return frozenset(values)

    def job_withheld(self, who: Principal | None, job: Job) -> frozenset[str]:
        """Strings ``who`` may not see in a job's status and results."""
        scene = job.inputs.get("scene")
        if scene not in self.catalog.scenes:
            return self.withheld_anywhere(who, bodies_in(job.inputs), every_scene=True)
        return self.withheld(who, scene, bodies_in(job.inputs))


async def service(request: Request) -> Service:
    """The app's Service (a FastAPI dependency; async, so it costs no thread hop)."""
    return request.app.state.service


#: A route parameter: the app's Service.
Svc = Annotated[Service, Depends(service)]
