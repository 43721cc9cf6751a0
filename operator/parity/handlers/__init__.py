"""kopf handlers. Importing this package registers them all."""

from parity.handlers import baseline, children, environment, index, instance, login, notifier, startup, timers  # noqa: F401
