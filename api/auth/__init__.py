"""Signing in: OpenID Connect tokens verified against their issuers' keys, made into principals."""
