"""retention-purge entry points: decode the request, call a handler, answer a status."""

from __future__ import annotations

from flask import Flask

from shared.runtime import bootstrap
from shared.web import service_app


def create_app(env=None, **overrides) -> Flask:
    runtime = bootstrap("retention-purge", env, **overrides)
    return service_app(runtime)
