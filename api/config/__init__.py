"""Configuration: the only reader of the environment."""

from api.config.settings import ConfigError, Settings

__all__ = ['ConfigError', 'Settings']
