"""Protobuf request bodies (``floe_lab/kube/protobuf.py``): the kinds ``kubectl create <kind>`` sends are read as
the JSON manifest they stand for; anything else is the apiserver's 415."""

from __future__ import annotations

import pytest

from floe_lab.kube.errors import ApiError
from floe_lab.kube.protobuf import decode


def _varint(value: int) -> bytes:
    out = b""
    value &= (1 << 64) - 1
    while True:
        low, value = value & 0x7F, value >> 7
        out += bytes([low | (0x80 if value else 0)])
        if not value:
            return out


def _field(number: int, value: bytes | int) -> bytes:
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    return _varint(number << 3 | 2) + _varint(len(value)) + value


def _entry(number: int, key: str, value: bytes) -> bytes:
    return _field(number, _field(1, key.encode()) + _field(2, value))


def _envelope(kind: str, raw: bytes, api_version: str = "v1") -> bytes:
    type_meta = _field(1, api_version.encode()) + _field(2, kind.encode())
    return b"k8s\x00" + _field(1, type_meta) + _field(2, raw) + _field(3, b"") + _field(4, b"")


# ObjectMeta as Go writes it: every non-pointer field, empty or not (name, generateName, ..., creationTimestamp {}).
META = (
    _field(1, b"pw")
    + b"".join(_field(n, b"") for n in (2, 3, 4, 5, 6))
    + _field(7, 0)
    + _field(8, b"")
    + _entry(11, "app", b"floe")
)


def test_a_secret_reads_as_its_json_manifest_with_the_empty_fields_left_out() -> None:
    raw = _field(1, META) + _entry(2, "password", b"s3cret") + _field(3, b"Opaque") + _field(5, 0)
    assert decode(_envelope("Secret", raw)) == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "pw", "labels": {"app": "floe"}},
        "data": {"password": "czNjcmV0"},
        "type": "Opaque",
        "immutable": False,  # a pointer in Go: sent only when set, so kept even when false
    }


def test_configmaps_namespaces_and_service_accounts() -> None:
    cm = decode(_envelope("ConfigMap", _field(1, META) + _entry(2, "MODE", b"lab") + _entry(3, "bin", b"\x00")))
    assert (cm["data"], cm["binaryData"]) == ({"MODE": "lab"}, {"bin": "AA=="})
    ns = decode(_envelope("Namespace", _field(1, META) + _field(2, _field(1, b"kubernetes")) + _field(3, b"")))
    assert ns == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": ns["metadata"],
        "spec": {"finalizers": ["kubernetes"]},
    }
    sa = decode(_envelope("ServiceAccount", _field(1, META) + _field(3, _field(1, b"registry")) + _field(4, 1)))
    assert (sa["imagePullSecrets"], sa["automountServiceAccountToken"]) == ([{"name": "registry"}], True)


def test_negative_numbers_and_times() -> None:
    meta = _field(1, b"x") + _field(8, _field(1, 1767268800)) + _field(10, -1)
    decoded = decode(_envelope("ConfigMap", _field(1, meta)))
    assert decoded["metadata"] == {
        "name": "x",
        "creationTimestamp": "2026-01-01T12:00:00Z",
        "deletionGracePeriodSeconds": -1,
    }


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (_envelope("Deployment", _field(1, META), "apps/v1"), "reads Deployment as JSON only"),
        (b"k8s\x00\n\x0c\n\x02v1", "truncated field"),
        (b'{"kind": "Secret"}', "k8s protobuf prefix"),
    ],
)
def test_what_it_cannot_read_is_415(body: bytes, why: str) -> None:
    with pytest.raises(ApiError) as refused:
        decode(body)
    assert (refused.value.code, refused.value.reason) == (415, "UnsupportedMediaType")
    assert why in refused.value.message
