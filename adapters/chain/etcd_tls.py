"""TLS settings of the etcd client: the CA bundle and the client certificate for mutual TLS.

etcd members started with `--client-cert-auth --trusted-ca-file --cert-file
--key-file` serve `https://` client URLs and accept only clients whose
certificate the trusted CA signed. The client verifies each member's
certificate and host name against `ca_file`; there is no way to turn that off.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path


class EtcdTlsError(ValueError):
    """A TLS file of the etcd client is missing, unreadable or not valid PEM."""

    def __init__(self, field: str, path: Path, detail: str) -> None:
        super().__init__(f"cannot load the etcd {field} {path}: {detail}")
        self.field = field
        self.path = path
        self.detail = detail


@dataclass(frozen=True)
class EtcdTls:
    """The CA bundle that signs the members' server certificates, and this client's key pair.

    Without `cert_file` and `key_file` the client sends no certificate, which
    members started with `--client-cert-auth` reject.
    """

    ca_file: Path
    cert_file: Path | None = None
    key_file: Path | None = None

    def __post_init__(self) -> None:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("an etcd client certificate needs its key and a key needs its "
                             f"certificate (cert_file={self.cert_file}, key_file={self.key_file})")

    def context(self) -> ssl.SSLContext:
        """Build a client context that verifies server certificates and host names.

        Raises EtcdTlsError naming the field (ca_file, cert_file, key_file) and
        the file that could not be read or loaded.
        """
        for field, path in self.files():
            try:
                path.open("rb").close()
            except OSError as error:
                raise EtcdTlsError(field, path, _reason(error)) from error
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            context.load_verify_locations(cafile=str(self.ca_file))
        except ssl.SSLError as error:
            raise EtcdTlsError("ca_file", self.ca_file, _reason(error)) from error
        if self.cert_file is not None:
            try:
                context.load_cert_chain(str(self.cert_file), str(self.key_file))
            except ssl.SSLError as error:
                raise EtcdTlsError("cert_file", self.cert_file,
                                   f"{_reason(error)}, or key_file {self.key_file} is not "
                                   "its private key") from error
        return context

    def files(self) -> list[tuple[str, Path]]:
        """Return each file that is set, with the name of its field."""
        named = [("ca_file", self.ca_file), ("cert_file", self.cert_file),
                 ("key_file", self.key_file)]
        return [(field, path) for field, path in named if path is not None]


def _reason(error: OSError) -> str:
    if isinstance(error, ssl.SSLError):
        return f"no valid PEM data ({error.reason or error})"
    return error.strerror or str(error)
