"""Schemathesis hooks for fuzzing a running hub from its /v1/openapi.json.

Every request is signed as the client signs it (backchannel_core::auth): an Ed25519 signature
by one identity key over

    backchannel-request/1 \\n METHOD \\n PATH?QUERY \\n ts \\n nonce \\n hex(sha256(body))

computed on the request exactly as it is sent, so that generated requests get past
authentication and reach the routes' own checks. Before the run, that key creates a case on
the hub (it is the case's mediator) and registers it with the hub's witness; half of the
generated `case` path parameters are that case, and half of the `channel` ones its `public`
channel, so that fuzzing reaches the code behind "no such case".

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


def authorization(method: str, path_and_query: str, body: bytes) -> str:
    """The `Authorization` header of a request, signed now with a fresh nonce."""
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
    sig = KEY.sign(signed).signature
    key = KEY.verify_key.encode().hex()
    return f"Backchannel key={key}, ts={ts}, nonce={nonce.hex()}, sig={sig.hex()}"


class Sign(requests.auth.AuthBase):
    """Signs a prepared request: its body and target are final here."""

    def __call__(self, request):
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        request.headers["Authorization"] = authorization(request.method, request.path_url, body)
        return request


SIGN = Sign()


def set_up(url: str) -> None:
    """The case the fuzzing key mediates, registered with the hub's witness."""
    for path, body in [
        ("/v1/cases", {"case_id": CASE}),
        (f"/v1/witness/{CASE}", {}),
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
