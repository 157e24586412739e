"""What an alert concerns: its signature (topology) and the keys the detectors group by."""

from __future__ import annotations

from typing import NamedTuple

SEP = "\x1f"


class Sig(NamedTuple):
    """Service, namespace, alert name, cluster, environment of an alert."""

    service: str
    namespace: str
    alertname: str
    cluster: str
    environment: str

    @property
    def key(self) -> str:
        """One string per signature (the storm detector's grouping key)."""
        return SEP.join(self)

    @classmethod
    def from_key(cls, key: str) -> Sig:
        """The signature back from `key`."""
        parts = key.split(SEP)
        return cls(*parts) if len(parts) == len(cls._fields) else cls("", "", key, "", "")

    def describe(self) -> str:
        """`alertname` on `service` (namespace), for summaries."""
        where = self.service or self.namespace or "unknown service"
        if self.namespace and self.service:
            where = f"{self.service} ({self.namespace})"
        return f"{self.alertname or 'unnamed alert'} on {where}"


def signature_of(labels: dict[str, str]) -> Sig:
    """The signature of an alert from its labels."""
    get = labels.get
    return Sig(
        get("service") or get("app") or get("job") or "",
        get("namespace") or "",
        get("alertname") or "",
        get("cluster") or "",
        get("env") or get("environment") or "",
    )


def rare_key(sig: Sig, labels: dict[str, str], ignore: frozenset[str]) -> str:
    """Service, alert name, severity and the set of label names: what 'seen before' means."""
    names = ",".join(sorted(n for n in labels if n not in ignore) if ignore else sorted(labels))
    return SEP.join((sig.service, sig.namespace, sig.alertname, labels.get("severity", ""), names))


def severity_of(labels: dict[str, str]) -> str:
    """The severity label, lower-cased ('warning' when absent)."""
    return (labels.get("severity") or "warning").lower()
