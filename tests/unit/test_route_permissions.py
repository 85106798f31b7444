"""Every region-scoped route of the API declares the jurisdiction permission (services/api/permissions.py)."""

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import SecretStr

from services.api.app import create_app
from services.api.permissions import Nationwide, Permissions
from services.common.settings import ApiSettings

# Routes that reach no region: logging in, who you are, and the operational endpoints.
UNSCOPED = {
    ("POST", "/auth/token"),
    ("POST", "/auth/refresh"),
    ("POST", "/auth/logout"),
    ("GET", "/users/me"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
}


def permissions_of(dependant: Dependant) -> list[Permissions]:
    """Every Permissions dependency a route declares, however deep."""
    found = [dep.call for dep in dependant.dependencies if isinstance(dep.call, Permissions)]
    return found + [p for dep in dependant.dependencies for p in permissions_of(dep)]


def api_routes() -> list[tuple[str, str, APIRoute]]:
    secret = SecretStr("unit-test-secret-0123456789abcdef0123")
    app = create_app(ApiSettings(jwt_secret=secret, redis_url="redis://127.0.0.1:1/0"))
    routes = [ctx.original_route for ctx in iter_route_contexts(app.routes)]
    api = [route for route in routes if isinstance(route, APIRoute) and route.include_in_schema]
    return [(method, route.path, route) for route in api for method in sorted(route.methods or ())]


def test_every_route_but_login_and_operations_declares_the_jurisdiction_permission():
    routes = api_routes()
    assert len(routes) >= 30
    lacking = [
        (m, path) for m, path, route in routes if (m, path) not in UNSCOPED and not permissions_of(route.dependant)
    ]
    assert lacking == []
    assert {(m, path) for m, path, _ in routes} >= UNSCOPED


def test_every_change_to_the_risk_model_needs_a_national_jurisdiction():
    changes = [
        route
        for m, path, route in api_routes()
        if path.startswith("/models") and m != "GET" and not path.endswith("/evaluations")  # evaluating changes nothing
    ]
    assert len(changes) == 5  # activate, shadow on, shadow off, rollback, train
    for route in changes:
        checks = [check for permissions in permissions_of(route.dependant) for check in permissions.permissions]
        assert any(isinstance(check, Nationwide) for check in checks), route.path
