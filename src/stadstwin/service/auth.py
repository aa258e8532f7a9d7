"""Bearer tokens: who is calling (401 without a known token) and whether they may edit (403)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from stadstwin.service.store import Principal

_bearer = HTTPBearer(auto_error=False, description="API token of an organisation (role read or edit)")

#: Organisations and roles of the tokens ``stadstwin serve`` creates on first start.
DEMO_TOKENS = (
    ("GM0344", "gemeente", "edit"),
    ("KL1014", "netbeheerder", "edit"),
    ("KL1009", "telecom", "edit"),
    ("public", "viewer", "read"),
)


async def reader(request: Request,
                 credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal:
    """The caller; 401 without a valid token."""
    principal = None if credentials is None else request.app.state.service.store.principal(credentials.credentials)
    if principal is None:
        raise HTTPException(401, "a valid API token is required (Authorization: Bearer <token>)",
                            headers={"WWW-Authenticate": "Bearer"})
    return principal


async def editor(principal: Annotated[Principal, Depends(reader)]) -> Principal:
    """The caller, who must hold an edit token; 403 otherwise."""
    if not principal.can_edit:
        raise HTTPException(403, f"token {principal.name!r} of {principal.organisation} is read-only")
    return principal


#: A route parameter: the caller (any role).
Reader = Annotated[Principal, Depends(reader)]
#: A route parameter: the caller, who holds an edit token.
Editor = Annotated[Principal, Depends(editor)]
