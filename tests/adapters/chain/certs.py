"""Throwaway certificate authorities and key pairs for the etcd TLS tests.

Keys are ECDSA P-256, which is fast to generate. Certificates are valid
from one day before to one day after their creation.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from adapters.chain.etcd_tls import EtcdTls
from adapters.chain.local_cluster import MemberTls

VALIDITY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class KeyPair:
    """A PEM certificate file and its PEM private key file."""

    cert_file: Path
    key_file: Path


@dataclass(frozen=True)
class Authority:
    """A self-signed CA that issues server and client certificates into `directory`."""

    name: str
    directory: Path
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    cert_file: Path

    def issue(self, name: str, *, hosts: Sequence[str] = (), server: bool = False,
              client: bool = False) -> KeyPair:
        """Write a certificate for `name` with `hosts` as IP or DNS subject alternative names."""
        key = ec.generate_private_key(ec.SECP256R1())
        usages = ([ExtendedKeyUsageOID.SERVER_AUTH] if server else []) + (
            [ExtendedKeyUsageOID.CLIENT_AUTH] if client else [])
        builder = _builder(name, self.certificate.subject, key).add_extension(
            x509.BasicConstraints(ca=False, path_length=None), critical=True,
        ).add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False,
                          key_encipherment=False, data_encipherment=False, key_agreement=False,
                          key_cert_sign=False, crl_sign=False, encipher_only=False,
                          decipher_only=False),
            critical=True,
        ).add_extension(
            x509.ExtendedKeyUsage(usages), critical=False,
        ).add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
            critical=False,
        )
        if hosts:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([_general_name(host) for host in hosts]),
                critical=False,
            )
        certificate = builder.sign(self.key, hashes.SHA256())
        return _write(self.directory, name, certificate, key)


def new_authority(directory: Path, name: str) -> Authority:
    """Create a CA called `name` and write its certificate to `directory`/`name`.pem."""
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    certificate = _builder(name, subject, key).add_extension(
        x509.BasicConstraints(ca=True, path_length=0), critical=True,
    ).add_extension(
        x509.KeyUsage(digital_signature=False, content_commitment=False,
                      key_encipherment=False, data_encipherment=False, key_agreement=False,
                      key_cert_sign=True, crl_sign=True, encipher_only=False,
                      decipher_only=False),
        critical=True,
    ).sign(key, hashes.SHA256())
    pair = _write(directory, name, certificate, key)
    return Authority(name, directory, key, certificate, pair.cert_file)


def _builder(name: str, issuer: x509.Name, key: ec.EllipticCurvePrivateKey
             ) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return x509.CertificateBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]),
    ).issuer_name(issuer).public_key(key.public_key()).serial_number(
        x509.random_serial_number(),
    ).not_valid_before(now - VALIDITY).not_valid_after(now + VALIDITY).add_extension(
        x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False,
    )


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _write(directory: Path, name: str, certificate: x509.Certificate,
           key: ec.EllipticCurvePrivateKey) -> KeyPair:
    pair = KeyPair(directory / f"{name}.pem", directory / f"{name}-key.pem")
    pair.cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    pair.key_file.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))
    pair.key_file.chmod(0o600)
    return pair


@dataclass(frozen=True)
class Pki:
    """A trusted CA with member and client key pairs, and an unrelated CA with a client."""

    ca: Authority
    server: KeyPair
    client: KeyPair
    other_host: KeyPair
    other_ca: Authority
    other_client: KeyPair

    def client_tls(self) -> EtcdTls:
        """Return the TLS files of a client the members accept."""
        return EtcdTls(self.ca.cert_file, self.client.cert_file, self.client.key_file)

    def member_tls(self) -> MemberTls:
        """Return the TLS files of a member whose certificate names 127.0.0.1 and localhost."""
        return MemberTls(self.ca.cert_file, self.server.cert_file, self.server.key_file)


def new_pki(directory: Path) -> Pki:
    """Create the trusted CA, the member and client key pairs, and the unrelated CA."""
    ca = new_authority(directory / "trusted", "consortium-ca")
    other_ca = new_authority(directory / "other", "other-ca")
    return Pki(
        ca=ca,
        server=ca.issue("etcd-member", hosts=["127.0.0.1", "localhost"], server=True,
                        client=True),
        client=ca.issue("hospital-a", client=True),
        other_host=ca.issue("etcd-other-host", hosts=["etcd.other.example"], server=True),
        other_ca=other_ca,
        other_client=other_ca.issue("intruder", client=True),
    )
