"""The cluster client every cluster-mode command starts with."""

from __future__ import annotations

from parity.cli.main import CliError
from parity.kube.client import Kube, KubeError


def connect(context: str | None = None) -> Kube:
    """A client for the kubeconfig's current (or named) context; a one-line CliError when there
    is no usable kubeconfig or context. The caller closes it."""
    try:
        return Kube.connect(context=context)
    except KubeError as err:
        raise CliError(str(err)) from None
