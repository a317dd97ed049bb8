"""Redis over TLS with a password, for real: a local redis-server with TLS and certificates made here.

redis-py reads TLS options from the URL's query string (anything it does not parse itself is
passed to the connection as a string), so ``rediss://:PASSWORD@host:port/0?ssl_ca_certs=/path``
is all an operator configures. Certificate verification is on by default for rediss://.
"""

from __future__ import annotations

import datetime
import ipaddress
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from devsupport.ports import free_port
from devsupport.redis_server import RedisServer
from tests.conftest import require

pytestmark = pytest.mark.redis

TEXT = {"text": "the screen cracked on day two"}
# Characters that must be percent-encoded in a URL: proves the password survives quoting.
PASSWORD = "tls-" + secrets.token_hex(8) + "@:/?#%"


@dataclass(frozen=True)
class Pki:
    ca: Path
    other_ca: Path
    cert: Path
    key: Path


def _make_pki(directory: Path) -> Pki:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    def ca(common: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(name(common))
            .issuer_name(name(common))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .sign(key, hashes.SHA256())
        )
        return key, cert

    ca_key, ca_cert = ca("hardening test CA")
    _, other_cert = ca("hardening test CA")  # same name, other key: must not be trusted
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(name("127.0.0.1"))
        .issuer_name(ca_cert.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        # Python 3.13 verifies strictly (VERIFY_X509_STRICT): key identifiers are required.
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(server_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    pki = Pki(directory / "ca.crt", directory / "other-ca.crt", directory / "server.crt", directory / "server.key")
    pki.ca.write_bytes(ca_cert.public_bytes(pem))
    pki.other_ca.write_bytes(other_cert.public_bytes(pem))
    pki.cert.write_bytes(server_cert.public_bytes(pem))
    pki.key.write_bytes(server_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    pki.key.chmod(0o600)
    return pki


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[tuple[RedisServer, Pki]]:
    require(shutil.which("redis-server") is not None, "redis-server not installed (apt-get install redis-server)")
    pki = _make_pki(tmp_path)
    port = free_port()
    server = RedisServer(
        tmp_path,
        port=port,
        extra_args=[
            "--port", "0",  # no plaintext listener at all
            "--tls-port", str(port),
            "--tls-cert-file", str(pki.cert),
            "--tls-key-file", str(pki.key),
            "--tls-ca-cert-file", str(pki.ca),
            "--tls-auth-clients", "no",  # server-authenticated TLS; the client proves itself by password
            "--requirepass", PASSWORD,
        ],
    )  # fmt: skip
    try:
        server.start()
    except RuntimeError:  # a build without TLS exits at once on --tls-port
        server.stop()
        require(False, "this redis-server was built without TLS support")
    yield server, pki
    server.stop()


def tls_url(port: int, ca: Path | None, password: str = PASSWORD, scheme: str = "rediss") -> str:
    query = f"?ssl_ca_certs={quote(str(ca), safe='')}" if ca else ""
    return f"{scheme}://:{quote(password, safe='')}@127.0.0.1:{port}/0{query}"


def test_tls_with_password_miss_then_hit(make_client, tls_redis):
    import redis

    server, pki = tls_redis
    url = tls_url(server.port, pki.ca)
    # A generous timeout: the first TLS handshake (context, CA load) is slow on a busy CI box.
    client = make_client(REDIS_URL=url, CACHE_LOCAL_ENTRIES="0", REDIS_TIMEOUT_MS="5000")
    assert [client.post("/predict", json=TEXT).json()["cache"] for _ in range(2)] == ["MISS", "HIT"]
    health = client.get("/health").json()
    assert health["cache"] == {"backend": "redis", "status": "reachable", "breaker": "closed", "local_tier": "disabled"}
    # The entry really is in this TLS server (read back over TLS, independently of the app).
    direct = redis.Redis.from_url(url)
    assert [key.decode().split(":")[1] for key in direct.keys("pred:*")] == ["v1"]
    assert direct.connection_pool.connection_kwargs["ssl_ca_certs"] == str(pki.ca)


@pytest.mark.parametrize(
    "variant",
    ["other-ca", "no-ca-given", "wrong-password", "plaintext-to-tls-port"],
)
def test_untrusted_or_unauthenticated_tls_is_bypassed_never_500(make_client, tls_redis, variant: str):
    server, pki = tls_redis
    url = {
        "other-ca": tls_url(server.port, pki.other_ca),
        "no-ca-given": tls_url(server.port, None),  # system trust store: our CA is not in it
        "wrong-password": tls_url(server.port, pki.ca, password="not-the-password"),
        "plaintext-to-tls-port": tls_url(server.port, None, scheme="redis"),
    }[variant]
    client = make_client(REDIS_URL=url, CACHE_LOCAL_ENTRIES="0", REDIS_TIMEOUT_MS="5000")
    for _ in range(2):
        response = client.post("/predict", json=TEXT)
        assert response.status_code == 200
        assert response.json()["cache"] == "BYPASS" and response.json()["model_version"] == "v1"
    health = client.get("/health")
    assert health.status_code == 200 and health.json()["status"] == "degraded"
    assert PASSWORD not in health.text and "not-the-password" not in health.text
    # Nothing was written: a rejected client never reached the data.
    assert server.process is not None and server.process.poll() is None
    trusted = make_client(REDIS_URL=tls_url(server.port, pki.ca), CACHE_LOCAL_ENTRIES="0", REDIS_TIMEOUT_MS="5000")
    assert trusted.post("/predict", json=TEXT).json()["cache"] == "MISS"


# ---- deadlines over TLS --------------------------------------------------------------------------


def test_a_cold_instance_connects_over_tls_with_the_default_budgets(make_client, tls_redis):
    """REDIS_TIMEOUT_MS stays 100 ms; opening the TLS connection has its own, larger allowance."""
    server, pki = tls_redis
    for attempt in range(3):  # each a fresh instance: its first request opens the connection
        client = make_client(REDIS_URL=tls_url(server.port, pki.ca), CACHE_LOCAL_ENTRIES="0")
        assert client.app.state.service.cache.shared._connect_timeout == 1.0
        text = {"text": f"cold start number {attempt}"}
        assert [client.post("/predict", json=text).json()["cache"] for _ in range(2)] == ["MISS", "HIT"]


def test_a_tls_handshake_dripping_through_a_slow_path_ends_by_the_connect_budget(make_client, tls_redis):
    import time

    from tests.hardening.conftest import RedisProxy

    server, pki = tls_redis
    proxy = RedisProxy(server.port)
    proxy.start()
    try:
        proxy.set_mode("drip", 0.005)  # the server's ~1 KB handshake would take seconds
        client = make_client(
            REDIS_URL=tls_url(proxy.port, pki.ca),
            CACHE_LOCAL_ENTRIES="0",
            REDIS_CONNECT_TIMEOUT_MS="300",
            CACHE_BREAKER_FAILURES="100",
        )
        for _ in range(2):
            start = time.monotonic()
            response = client.post("/predict", json=TEXT)
            elapsed = time.monotonic() - start
            assert response.status_code == 200 and response.json()["cache"] == "BYPASS"
            assert elapsed < 0.3 + 1.0  # the connect budget, plus a generous margin (TLS context CPU, CI)
    finally:
        proxy.stop()
