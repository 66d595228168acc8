"""Schemathesis hooks for fuzzing a running hub from its /v1/openapi.json.

Every request is signed as the client signs it (backchannel_core::auth): an Ed25519 signature
by one identity key over

    backchannel-request/1 \\n METHOD \\n PATH?QUERY \\n ts \\n nonce \\n hex(sha256(body))

computed on the request exactly as it is sent, so that generated requests get past
authentication and reach the routes' own checks. Before the run, that key creates a case on
the hub (it is the case's mediator), registers it with the hub's witness and issues invites
whose secrets the hooks keep. Half of the generated `case` path parameters are that case, and
half of the `channel` ones its `public` channel; half of the generated joins spend one of those
invites, each signed by a fresh key; half of the generated invites expire an hour ahead; and
two thirds of the generated entries are plain messages: so that fuzzing reaches the code
behind "no such case", "no such invite", "expired" and "stale head", and past them.

Set BACKCHANNEL_HUB_URL (e.g. http://127.0.0.1:8080) for that set-up; scripts/schemathesis/run
does. Loaded with SCHEMATHESIS_HOOKS=hooks (PYTHONPATH=scripts/schemathesis).
"""

import hashlib
import json
import os
import secrets
import time

import requests
import schemathesis
from hypothesis import strategies as st
from nacl.signing import SigningKey

KEY = SigningKey.generate()
CASE = secrets.token_hex(16)
# Invite secrets of CASE, issued at set-up: a join spending one succeeds (once).
INVITES = [secrets.token_bytes(16) for _ in range(64)]


def authorization(method: str, path_and_query: str, body: bytes, key: SigningKey = KEY) -> str:
    """The `Authorization` header of a request, signed now by `key` with a fresh nonce."""
    ts = int(time.time() * 1000)
    nonce = secrets.token_bytes(16)
    signed = "\n".join(
        [
            "backchannel-request/1",
            method.upper(),
            path_and_query,
            str(ts),
            nonce.hex(),
            hashlib.sha256(body).hexdigest(),
        ]
    ).encode()
    sig = key.sign(signed).signature
    public = key.verify_key.encode().hex()
    return f"Backchannel key={public}, ts={ts}, nonce={nonce.hex()}, sig={sig.hex()}"


class Sign(requests.auth.AuthBase):
    """Signs a prepared request: its body and target are final here."""

    def __call__(self, request):
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        # A join is signed by a key of its own: the case's mediator is already a member.
        key = SigningKey.generate() if request.path_url == "/v1/join" else KEY
        request.headers["Authorization"] = authorization(
            request.method, request.path_url, body, key
        )
        return request


SIGN = Sign()


def set_up(url: str) -> None:
    """The case the fuzzing key mediates, registered with the hub's witness."""
    invites = [
        (
            f"/v1/cases/{CASE}/invites",
            {"code_hash": hashlib.sha256(secret).hexdigest(), "role": "observer"},
        )
        for secret in INVITES
    ]
    for path, body in [
        ("/v1/cases", {"case_id": CASE}),
        (f"/v1/witness/{CASE}", {}),
        *invites,
    ]:
        response = requests.post(url + path, data=json.dumps(body), auth=SIGN, timeout=10)
        if response.status_code >= 300:
            raise RuntimeError(f"POST {path}: {response.status_code} {response.text}")


if os.environ.get("BACKCHANNEL_HUB_URL"):
    set_up(os.environ["BACKCHANNEL_HUB_URL"].rstrip("/"))


@schemathesis.hook
def before_call(context, case, kwargs):
    kwargs["auth"] = SIGN


@schemathesis.hook
def flatmap_path_parameters(context, path_parameters):
    if not isinstance(path_parameters, dict):
        return st.just(path_parameters)
    known = dict(path_parameters)
    if "case" in known:
        known["case"] = CASE
    if "channel" in known:
        known["channel"] = "public"
    return st.sampled_from([path_parameters, known])


def operation(context) -> str:
    """`METHOD /path` of the operation a hook is drawing for."""
    op = getattr(context, "operation", None)
    return f"{op.method.upper()} {op.path}" if op is not None else ""


@schemathesis.hook
def flatmap_body(context, body):
    if not isinstance(body, dict):
        return st.just(body)
    name = operation(context)
    if name == "POST /v1/join":
        known = st.sampled_from(INVITES).map(
            lambda secret: {**body, "case_id": CASE, "code": secret.hex()}
        )
        return st.one_of(st.just(body), known)
    if name == "POST /v1/cases/{case}/invites":
        in_an_hour = int(time.time() * 1000) + 3_600_000
        return st.sampled_from([body, {**body, "expires_ms": in_an_hour}])
    if name == "POST /v1/cases/{case}/channels/{channel}/entries" and "body" in body:
        # A plain message, as the sealed `public` channel takes: accepted at the head, else
        # refused with the head and the entries missed.
        message = {"kind": "message", "after": body.get("after", 0), "body": body["body"]}
        return st.sampled_from([body, message, {**message, "after": 0}])
    return st.just(body)
