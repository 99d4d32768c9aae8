"""A private CA made in the test, the files an operator would point SSL_CERT_FILE / SSL_CERT_DIR at, and the
sandbox served over TLS with a certificate that CA issued (as an admin API behind a private CA is)."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import shutil
import socketserver
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _validity() -> tuple[dt.datetime, dt.datetime]:
    # The one place tests read the machine clock: a certificate must be valid now, and a window this
    # generous cannot make a test depend on the date.
    now = dt.datetime.now(dt.UTC)
    return now - dt.timedelta(days=1), now + dt.timedelta(days=3650)


@dataclass
class PrivateCa:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    pem: Path  # the CA certificate alone: what SSL_CERT_FILE names

    @classmethod
    def create(cls, folder: Path, name: str = "housejobs test ca") -> PrivateCa:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        start, end = _validity()
        cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(start).not_valid_after(end)
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                             key_encipherment=False, data_encipherment=False, key_agreement=False,
                                             key_cert_sign=True, crl_sign=True, encipher_only=False,
                                             decipher_only=False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(key, hashes.SHA256()))
        folder.mkdir(parents=True, exist_ok=True)
        pem = folder / "private-ca.pem"
        pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return cls(key, cert, pem)

    def issue(self, folder: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
        """A server certificate for `host` (an IP address or a name); returns (cert, key) PEM paths."""
        key = ec.generate_private_key(ec.SECP256R1())
        try:
            alt: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
        except ValueError:
            alt = x509.DNSName(host)
        start, end = _validity()
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
                .issuer_name(self.cert.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
                .add_extension(x509.SubjectAlternativeName([alt]), critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                               critical=False)
                .sign(self.key, hashes.SHA256()))
        folder.mkdir(parents=True, exist_ok=True)
        cert_path, key_path = folder / f"{host}.pem", folder / f"{host}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        return cert_path, key_path

    def hashed_dir(self, folder: Path) -> Path:
        """A c_rehash-style directory holding this CA, as SSL_CERT_DIR wants: `openssl rehash` when the
        machine has it, else the `<subject hash>.0` name written here."""
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(self.pem, folder / "private-ca.pem")
        openssl = shutil.which("openssl")
        if openssl is not None:
            subprocess.run([openssl, "rehash", str(folder)], check=True, capture_output=True)
        else:
            shutil.copy(self.pem, folder / f"{subject_hash(self.cert)}.0")
        return folder


def subject_hash(cert: x509.Certificate) -> str:
    """OpenSSL's X509_NAME_hash for a name of lower-case, single-spaced UTF8String values (the names made
    here): SHA-1 of the RDNs' DER without the outer SEQUENCE, first 4 bytes read little-endian."""
    der = cert.subject.public_bytes()
    length = der[1]
    body = der[2 + (length & 0x7F if length & 0x80 else 0):]
    return f"{int.from_bytes(hashlib.sha1(body).digest()[:4], 'little'):08x}"  # noqa: S324 - OpenSSL's choice


def serve_tls(server: socketserver.TCPServer, cert: Path, key: Path) -> str:
    """Put `server` (the sandbox, a sink; not yet serving) behind TLS; returns its https:// URL (a LocalServer's
    `url` says https from then on too)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    # The handshake happens in the handler's thread, so a client that rejects the certificate never
    # stalls the accept loop.
    server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    host, port = server.server_address[:2]
    return f"https://{host!s}:{port}"
