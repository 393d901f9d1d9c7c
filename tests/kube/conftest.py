"""Fixtures of the credential tests: a real PKI (CA, server and client certificates made with
the ``cryptography`` package) and a writer of kubeconfig files."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.fakes.kube import no_leaked_tasks  # noqa: F401  (fixture)

Key = ec.EllipticCurvePrivateKey


def _cert(
    subject: str, key: Key, issuer: tuple[str, Key] | None, *, ca: bool = False, server: bool = False
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer[0])]) if issuer else name
    builder = (
        x509.CertificateBuilder().subject_name(name).issuer_name(issuer_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )  # fmt: skip
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False,
        ), critical=True)  # fmt: skip
    elif server:
        builder = builder.add_extension(x509.SubjectAlternativeName([
            x509.DNSName("kube.test"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        ]), critical=False)  # fmt: skip
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    if not ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    return builder.sign(issuer[1] if issuer else key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: Key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@dataclass
class Pki:
    dir: Path
    ca: bytes
    other_ca: bytes
    client_cert: bytes
    client_key: bytes

    def server_context(self) -> ssl.SSLContext:
        """The fake API server's side: its certificate, and client certificates required."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cadata=self.ca.decode())
        context.load_cert_chain(self.dir / "server.pem", self.dir / "server-key.pem")
        context.verify_mode = ssl.CERT_REQUIRED
        return context


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    ca_key, other_key, server_key, client_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(4))
    ca = _cert("test-ca", ca_key, None, ca=True)
    other = _cert("other-ca", other_key, None, ca=True)
    server = _cert("kube-apiserver", server_key, ("test-ca", ca_key), server=True)
    client = _cert("podsleuth", client_key, ("test-ca", ca_key))
    files = {
        "ca.pem": _pem(ca), "other-ca.pem": _pem(other), "server.pem": _pem(server),
        "server-key.pem": _key_pem(server_key), "client.pem": _pem(client),
        "client-key.pem": _key_pem(client_key),
    }  # fmt: skip
    for name, data in files.items():
        (directory / name).write_bytes(data)
    return Pki(directory, _pem(ca), _pem(other), _pem(client), _key_pem(client_key))


def write_kubeconfig(
    path: Path, cluster: dict[str, Any], user: dict[str, Any], *, name: str = "test"
) -> Path:
    """One cluster, one user, one context named ``name``, current."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": name,
        "clusters": [{"name": name, "cluster": cluster}], "users": [{"name": name, "user": user}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
    }))  # fmt: skip
    return path
