"""Registry operations for analysts: list versions, read the activation log, activate and roll back."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from kafka import KafkaProducer

from services.common import topics
from services.common.kafka import TopicToEnd
from services.common.kafka_auth import client_options
from services.common.model_activation import Activation
from services.scoring.model import ModelManifest, ModelRegistry, activation_message


class RegistryError(ValueError):
    """An activation or roll-back that cannot be done; the message says why."""


def activations(bootstrap: str, timeout_s: float = 10) -> list[Activation]:
    """Every activation on `models.activations`, oldest first (read to the end, no consumer group)."""
    return [Activation.model_validate_json(raw) for raw in TopicToEnd(bootstrap, topics.MODEL_ACTIVATIONS, timeout_s)]


def active(history: list[Activation], role: Literal["active", "shadow"] = "active") -> Activation | None:
    """The version in use in `role`: its last activation (None when there is none or it was switched off)."""
    mine = [activation for activation in history if activation.role == role]
    return mine[-1] if mine and mine[-1].version else None


def listing(folder: Path, history: list[Activation]) -> list[dict[str, Any]]:
    """Every registered version with its manifest details and whether it is active."""
    current, shadow = active(history), active(history, "shadow")
    out = []
    for manifest in ModelRegistry(folder).versions() if folder.exists() else []:
        doc = manifest.model_dump(mode="json", exclude={"baseline"})
        doc["active"] = current is not None and current.version == manifest.version
        doc["shadow"] = shadow is not None and shadow.version == manifest.version
        doc["report"] = (folder / manifest.version / "report.md").exists()
        out.append(doc)
    return out


def verified(folder: Path, version: str) -> ModelManifest:
    """The manifest of a version whose artefact still matches its checksum."""
    registry = ModelRegistry(folder)
    manifest = registry.manifest(version)
    digest = hashlib.sha256((folder / version / "model.joblib").read_bytes()).hexdigest()
    if digest != manifest.sha256:
        raise RegistryError(f"model {version}: artefact checksum does not match its manifest; not activated")
    return manifest


def publish(
    bootstrap: str, manifest: ModelManifest | None, by: str, role: Literal["active", "shadow"] = "active"
) -> Activation:
    """Publish an activation of `manifest` in `role` (None: switch the role off) with acks=all, and return it."""
    now = datetime.now(UTC)
    message = activation_message(manifest, by, now, role)
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", **client_options())  # the process's principal
    try:
        producer.send(topics.MODEL_ACTIVATIONS, message).get(30)
    finally:
        producer.close()
    return Activation.model_validate_json(message)


def activate(bootstrap: str, folder: Path, version: str, by: str) -> Activation:
    """Verify and activate a version."""
    return publish(bootstrap, verified(folder, version), by)


def start_shadow(bootstrap: str, folder: Path, version: str, by: str) -> Activation:
    """Verify a version and run it as the shadow candidate: it scores next to the active model, never alerts."""
    return publish(bootstrap, verified(folder, version), by, "shadow")


def stop_shadow(bootstrap: str, by: str) -> Activation:
    """Stop shadow scoring."""
    return publish(bootstrap, None, by, "shadow")


def rollback(bootstrap: str, folder: Path, by: str) -> Activation:
    """Re-activate the version that was active before the current one."""
    history = activations(bootstrap)
    current = active(history)
    if current is None:
        raise RegistryError("no model is active: nothing to roll back")
    earlier = rollback_target(history)
    if earlier is None:
        raise RegistryError(f"{current.version} is the only version ever activated: nothing to roll back to")
    return activate(bootstrap, folder, earlier, by)


def rollback_target(history: list[Activation]) -> str | None:
    """The version a roll-back would re-activate: the last one active before the current one (None: there is none,
    or no model is active)."""
    current = active(history)
    if current is None:
        return None
    earlier = [a.version for a in history if a.role == "active" and a.version and a.version != current.version]
    return earlier[-1] if earlier else None
