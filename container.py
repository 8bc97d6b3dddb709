"""The composition root: settings in, a configured Injector out."""

from __future__ import annotations

from ibm_cloud_sdk_core.authenticators import Authenticator, BasicAuthenticator, NoAuthAuthenticator
from ibmcloudant import CloudantV1
from injector import Injector, Module, provider, singleton
from requests import Session

from api.auth.http_fetch import HttpKeyFetch
from api.auth.jwks import KeyFetch
from api.auth.key_sets import KeySets
from api.auth.verifier import TokenVerifier
from api.capacity.setup import capacity_guard
from api.changes.hub import Hub
from api.config import Settings
from api.config.design import Design, load_design
from api.observability.metrics import Metrics
from api.upstream.cloudant_couch import CloudantCouch
from api.upstream.couch import Couch
from api.upstream.design_block import DesignBlocks
from api.upstream.logins import CookieSessionAuthenticator, SharedIAMAuthenticator, relogin_for
from api.upstream.retry import upstream_retry
from api.upstream.session import build_session


class Production(Module):
    """The bindings couchgate runs with; tests add a module after it to replace one."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    @singleton
    @provider
    def settings(self) -> Settings:
        return self._settings

    @singleton
    @provider
    def design(self, settings: Settings) -> Design:
        # Read from disk once per process, at start-up: requests only look names up in it.
        return load_design(settings.design_dir, settings.databases)

    @singleton
    @provider
    def metrics(self, settings: Settings) -> Metrics:
        return Metrics(settings)

    @singleton
    @provider
    def key_fetch(self) -> KeyFetch:
        # Its own small pool, made on first use: never the Cloudant session, never at start-up.
        return HttpKeyFetch()

    @singleton
    @provider
    def key_sets(self, settings: Settings, fetch: KeyFetch, metrics: Metrics) -> KeySets:
        # Each issuer's keys are fetched by a thread started on first use, in the worker.
        return KeySets(settings.auth_issuers, fetch, metrics)

    @singleton
    @provider
    def token_verifier(self, settings: Settings, key_sets: KeySets) -> TokenVerifier:
        return TokenVerifier(settings.auth_issuers, key_sets)

    @singleton
    @provider
    def session(self, settings: Settings, metrics: Metrics) -> Session:
        return build_session(
            pool_maxsize=settings.pool_maxsize,
            ca_bundle=settings.ca_bundle,
            retries=upstream_retry(settings.max_retries, settings.retry_max_wait),
            listener=metrics,
            deadline_seconds=settings.request_deadline,
            # None without CLOUDANT_CAPACITY: no admission, no Redis, no cost.
            guard=capacity_guard(settings, metrics),
        )

    @singleton
    @provider
    def authenticator(self, settings: Settings) -> Authenticator:
        if settings.auth_type == 'BASIC':
            return BasicAuthenticator(_checked(settings.username), _checked(settings.password))
        # Both log in once for all threads (api/upstream/logins.py); ibmcloudant's own do not,
        # or poll for 60 s.
        if settings.auth_type == 'COUCHDB_SESSION':
            return CookieSessionAuthenticator(_checked(settings.username), _checked(settings.password))
        if settings.auth_type == 'IAM':
            return SharedIAMAuthenticator(_checked(settings.apikey), url=settings.iam_url)
        return NoAuthAuthenticator()

    @singleton
    @provider
    def cloudant(self, settings: Settings, session: Session, authenticator: Authenticator) -> CloudantV1:
        client = CloudantV1(authenticator=authenticator)
        client.set_service_url(settings.url)
        # Our session replaces the SDK's own; no SDK call that remounts adapters is made after this.
        client.set_http_client(session)
        # Also reaches the authenticator's token manager: login and token calls time out alike.
        client.set_http_config({'timeout': (settings.connect_timeout, settings.read_timeout)})
        # The SDK gzips every request body by default; ours are single documents and small queries,
        # which gzip makes no smaller, at a CPU cost on both ends (seen in the benchmark's profile).
        client.set_enable_gzip_compression(False)
        return client

    @singleton
    @provider
    def couch(
        self, settings: Settings, client: CloudantV1, authenticator: Authenticator, design: Design
    ) -> Couch:
        # Pages that cross the design documents ask for that many more rows: known from design/ at
        # first, then from what the pages meet (api/upstream/design_block.py).
        known = {db: design.ddoc_count(db) for db in settings.databases}
        return CloudantCouch(
            client, relogin_for(authenticator), settings.request_deadline, DesignBlocks(known)
        )

    @singleton
    @provider
    def hub(self, settings: Settings, couch: Couch) -> Hub:
        # Its feeds are threads started by the first subscriber of a database, in the worker.
        return Hub(
            couch,
            max_streams=settings.changes_max_streams,
            heartbeat=settings.changes_heartbeat,
            page_bytes=settings.max_page_bytes,
        )


def _checked(credential: str | None) -> str:
    assert credential is not None, 'Settings.from_env requires it for this CLOUDANT_AUTH_TYPE'
    return credential


def build_injector(settings: Settings, *overrides: Module) -> Injector:
    """The object graph of one worker; `overrides` replace production bindings (tests)."""
    return Injector([Production(settings), *overrides])
