"""The layers are the packages, and imports point down only (docs/architecture.md, "How it is built")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# What nothing under the app's layers imports: Falcon, the edge, the metrics, the app, the root.
_ABOVE = ('falcon', 'api.edge', 'api.observability', 'api.app', 'resources', 'container')
# What a module of pure logic in api/upstream never imports: no Falcon, no session, no SDK, no HTTP.
_PURE_UPSTREAM = (
    *_ABOVE,
    'api.upstream.session',
    'api.upstream.connections',
    'api.upstream.cloudant_couch',
    'api.upstream.cloudant_reads',
    'api.upstream.export_reads',
    'api.upstream.view_reads',
    'api.upstream.cloudant_batches',
    'ibmcloudant',
    'ibm_cloud_sdk_core',
    'requests',
    'urllib3',
)
# Signing in: tokens, keys and principals from the configuration alone; no Falcon, no Cloudant session.
_AUTH = (
    'falcon',
    'api.edge',
    'api.observability',
    'api.app',
    'api.upstream',
    'api.capacity',
    'resources',
    'container',
    'ibmcloudant',
    'requests',
)
# module prefix -> what it must never import. Entry points (api.wsgi, api.release, api.cli.*,
# gunicorn.conf.py) and the composition root (container) may import anything.
FORBIDDEN = {
    'api.edge': (
        'api.observability',
        'api.app',
        'api.serving.hooks',
        'resources',
        'container',
        'api.upstream.session',
        'api.upstream.cloudant_couch',
        'api.upstream.cloudant_reads',
        'api.upstream.export_reads',
        'api.upstream.view_reads',
        'api.upstream.cloudant_batches',
        'api.upstream.deadline',
        'api.upstream.logins',
        'api.auth.http_fetch',
        'ibmcloudant',
        'requests',
        'urllib3',
    ),
    # Only api.auth.http_fetch speaks HTTP (its own small pool, never the Cloudant session); the rest
    # of the package verifies tokens and keeps key sets without it.
    'api.auth': (*_AUTH, 'urllib3', 'api.auth.http_fetch'),
    'api.auth.http_fetch': _AUTH,
    # The key check and a key's prefix: decided from the request and the configuration alone, before
    # anything upstream is touched.
    'api.edge.keys': ('api.observability', 'api.app', 'resources', 'container', 'api.upstream', 'requests'),
    'api.edge.id_prefix': (
        'api.observability',
        'api.app',
        'resources',
        'container',
        'api.upstream',
        'requests',
    ),
    # A prefix's id range is pure arithmetic on ids: no SDK, no session, no HTTP.
    'api.upstream.id_range': (*_PURE_UPSTREAM, 'api.upstream.logins'),
    'api.observability': ('api.edge', 'api.app', 'resources', 'container'),
    'api.config': ('falcon', 'api.edge', 'api.upstream', 'api.observability', 'resources', 'container'),
    'api.errors': ('api.edge', 'api.upstream', 'resources', 'container'),
    'api.app': ('container', 'api.upstream.session', 'api.upstream.cloudant_couch'),
    # The serving process: gunicorn's side of things, under the app; never the resources or the root.
    'api.serving': ('resources', 'container', 'api.app'),
    # gunicorn's worker: the edge's refusals, never the app, the pool or the resources (one session per
    # worker stays the app's and the hooks' business).
    'api.serving.worker': ('api.app', 'api.upstream', 'api.observability', 'resources', 'container'),
    'api.serving.linger': ('falcon', 'api.edge', 'api.app', 'api.upstream', 'resources', 'container'),
    'api.serving.body': ('falcon', 'api.edge', 'api.app', 'api.upstream', 'resources', 'container'),
    'api.serving.access': ('falcon', 'api.edge', 'api.app', 'api.upstream', 'resources', 'container'),
    # Resources call the Couch port; the session, the SDK and the logins are out of their reach.
    'resources': (
        'container',
        'api.upstream.session',
        'api.upstream.cloudant_couch',
        'api.upstream.cloudant_reads',
        'api.upstream.export_reads',
        'api.upstream.view_reads',
        'api.upstream.cloudant_batches',
        'api.upstream.deadline',
        'api.upstream.logins',
        'api.upstream.retry',
        'api.upstream.failures',
        'api.auth.http_fetch',
        'ibmcloudant',
        'ibm_cloud_sdk_core',
        'requests',
        'urllib3',
    ),
    # Live changes: the Couch port and a request's upstream record; never the session, the SDK, the
    # edge or the serving process (the worker takes their sockets, not the other way round).
    'api.changes': (
        *_ABOVE,
        'api.serving',
        'api.upstream.session',
        'api.upstream.cloudant_couch',
        'api.upstream.cloudant_reads',
        'api.upstream.changes_reads',
        'ibmcloudant',
        'requests',
        'urllib3',
    ),
    # Replication's namespaces and wire format: edge-level (Falcon), over the port's JSON; never the
    # SDK, the session or the resources.
    'api.sync': (
        'api.observability',
        'api.app',
        'resources',
        'container',
        'api.upstream.session',
        'api.upstream.cloudant_couch',
        'api.upstream.cloudant_reads',
        'api.upstream.sync_calls',
        'ibmcloudant',
        'requests',
        'urllib3',
    ),
    # The capacity guard: under the pools (they ask it through their Admission protocol), over the
    # upstream's record of a request; never Falcon, the edge, the app or the resources.
    'api.capacity': (*_ABOVE, 'api.upstream.session', 'api.upstream.cloudant_couch'),
    # The upstream's pools ask the guard through a Protocol: the package never imports it.
    'api.upstream': (
        *_ABOVE,
        'api.serving.hooks',
        'api.capacity',
    ),
    # The capacity guard's request classes and headers: pure functions of a method, a path, a body.
    'api.capacity.request_classes': _PURE_UPSTREAM,
    'api.capacity.rate_limit_headers': _PURE_UPSTREAM,
    # Windows in Redis or in memory: no HTTP, no SDK, no request of couchgate's.
    'api.capacity.budget': _PURE_UPSTREAM,
    'api.capacity.shared_windows': _PURE_UPSTREAM,
    # The edge adds the guard's headers; the guard itself, Redis and limits stay out of its reach.
    'api.edge.rate_limit': (
        'api.observability',
        'api.app',
        'resources',
        'container',
        'api.capacity.guard',
        'api.capacity.budget',
        'api.capacity.shared_windows',
        'api.upstream.session',
        'api.upstream.connections',
        'redis',
        'limits',
        'requests',
    ),
}


def modules() -> dict[str, Path]:
    found = {}
    for package in ('api', 'resources'):
        for path in sorted((ROOT / package).rglob('*.py')):
            parts = path.relative_to(ROOT).with_suffix('').parts
            found['.'.join(parts[:-1] if parts[-1] == '__init__' else parts)] = path
    return found


def imports(path: Path) -> set[str]:
    """Every module `path` imports, at any depth of its code (lazy imports count too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f'{node.module}.{alias.name}' for alias in node.names)
    return names


def rule_for(module: str) -> tuple[str, ...]:
    matches = [prefix for prefix in FORBIDDEN if module == prefix or module.startswith(prefix + '.')]
    return FORBIDDEN[max(matches, key=len)] if matches else ()


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + '.')


@pytest.mark.parametrize('module', sorted(modules()))
def test_imports_point_down_only(module):
    path = modules()[module]
    wrong = sorted(name for name in imports(path) for banned in rule_for(module) if within(name, banned))
    assert not wrong, f'{module} must not import {wrong}'


def test_every_module_of_api_and_resources_is_under_a_rule_or_an_entry_point():
    entry_points = {
        'api',
        'api.wsgi',
        'api.release',
        'api.release_design',
        'api.bootstrap',
        'api.cli',
        'api.cli.demo',
        'api.cli.procfile',
        'api.cli.ports',
        'api.cli.config_reference',
        'api.cli.dev_issuer',
    }
    loose = sorted(m for m in modules() if not rule_for(m) and m not in entry_points)
    assert not loose, f'add these to FORBIDDEN or to the entry points: {loose}'


def test_the_rule_catches_a_forbidden_import(tmp_path):
    # The test above could pass by finding no imports at all: show it finds one.
    path = tmp_path / 'bad.py'
    path.write_text('def f():\n    from api.edge.keys import ApiKeys\n')
    assert 'api.edge.keys' in imports(path)
    assert any(within('api.edge.keys', banned) for banned in rule_for('api.upstream.session'))


def test_only_the_composition_root_and_entry_points_name_the_concrete_couch():
    users = sorted(
        m
        for m, path in modules().items()
        if 'api.upstream.cloudant_couch' in imports(path) and m != 'api.upstream.cloudant_couch'
    )
    container = imports(ROOT / 'container.py')
    assert users == []
    assert 'api.upstream.cloudant_couch' in container
