"""kopf handlers. Importing this package registers them all."""

from parity.handlers import baseline, children, environment, instance, notifier, startup, timers  # noqa: F401
