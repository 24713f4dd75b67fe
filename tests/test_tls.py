"""Transport security (O3): the database over TLS with the server's certificate verified (verify-full),
and the web's HTTPS headers and cookies."""
import ipaddress
from datetime import UTC, datetime, timedelta

import pytest
from conftest import APP_CONFIG, csrf_of
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pgcluster import Cluster, server_bin
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(cn: str):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn)).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def make_server_cert(ca_key, ca_cert, names=("localhost",), ips=("127.0.0.1",)):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    san = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    cert = (x509.CertificateBuilder().subject_name(_name(names[0])).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(san), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return key, cert


def pem(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


@pytest.fixture(scope="module")
def tls_cluster(tmp_path_factory):
    """A private cluster with ssl=on under a test CA, accepting TCP connections over TLS only (hostssl)."""
    if server_bin() is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    files = tmp_path_factory.mktemp("tls")
    ca_key, ca_cert = make_ca("gasflow test CA")
    key, cert = make_server_cert(ca_key, ca_cert)
    (files / "ca.crt").write_bytes(pem(ca_cert))
    (files / "wrong-ca.crt").write_bytes(pem(make_ca("some other CA")[1]))
    cluster = Cluster()
    cluster.write("server.crt", pem(cert), 0o644)
    cluster.write("server.key", key_pem(key), 0o600)
    cluster.configure(ssl="on", ssl_cert_file="server.crt", ssl_key_file="server.key")
    cluster.hba("hostssl all all 127.0.0.1/32 trust")
    cluster.start()
    cluster.files = files
    yield cluster
    cluster.destroy()


def connect(url: str):
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")).one()
    finally:
        engine.dispose()


def test_verify_full_with_the_right_ca_connects_encrypted(tls_cluster):
    ca = tls_cluster.files / "ca.crt"
    ssl, version = connect(tls_cluster.url(sslmode="verify-full", sslrootcert=str(ca)))
    assert ssl is True and version.startswith("TLSv1.")


def test_the_app_runs_on_a_verified_tls_connection(tls_cluster, tmp_path, monkeypatch):
    from web.app import create_app
    from web.demo.seed import seed
    from web.extensions import db

    monkeypatch.setenv("GASFLOW_INSTANCE", str(tmp_path / "instance"))
    admin = create_engine(tls_cluster.url(sslmode="verify-full", sslrootcert=str(tls_cluster.files / "ca.crt")),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE gasflow_tls"))
    admin.dispose()
    url = tls_cluster.url("gasflow_tls", sslmode="verify-full", sslrootcert=str(tls_cluster.files / "ca.crt"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "INPROCESS_TICKER": False,
                      "REDIS_URL": None, "PASSWORD_HASH_PROFILE": APP_CONFIG["PASSWORD_HASH_PROFILE"]})
    try:
        with app.app_context():
            seed(db.session)
            assert db.session.execute(text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")).scalar()
            db.session.remove()
        ready = app.test_client().get("/readyz")
        assert ready.status_code == 200 and ready.json["checks"]["database"] == "ok"
        page = app.test_client().get("/login")
        assert page.status_code == 200

        # Backups go over the same verified connection (pg_dump is given the URL's sslmode and sslrootcert).
        from workflows.services.backup import backup

        manifest = backup(url, tmp_path / "backup", ["k"], "l")
        assert manifest["tables"]["users"] == 8
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_a_wrong_ca_is_refused_with_a_clear_error(tls_cluster):
    with pytest.raises(OperationalError) as failed:
        connect(tls_cluster.url(sslmode="verify-full", sslrootcert=str(tls_cluster.files / "wrong-ca.crt")))
    assert "certificate verify failed" in str(failed.value)


def test_a_server_name_outside_the_certificate_is_refused(tls_cluster, tmp_path):
    # The certificate names localhost and 127.0.0.1; verify-full checks the name, not just the signature.
    url = tls_cluster.url(sslmode="verify-full", sslrootcert=str(tls_cluster.files / "ca.crt"))
    url = url.replace("@127.0.0.1:", "@127.0.0.2:") + "&hostaddr=127.0.0.1"
    with pytest.raises(OperationalError) as failed:
        connect(url)
    assert "127.0.0.2" in str(failed.value) and "does not match" in str(failed.value)


def test_plain_connections_are_refused_by_hostssl(tls_cluster):
    with pytest.raises(OperationalError) as failed:
        connect(tls_cluster.url(sslmode="disable"))
    assert "no pg_hba.conf entry" in str(failed.value) and "no encryption" in str(failed.value)


@pytest.fixture
def secure_app(own_app, monkeypatch):
    monkeypatch.setenv("GASFLOW_SECURE_COOKIES", "1")
    return own_app()


def test_behind_https_sessions_are_secure_cookies_and_hsts_is_sent(secure_app):
    from web.demo.seed import DEMO_PASSWORD

    client = secure_app.test_client()
    page = client.get("/login", base_url="https://localhost")
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    # Over HTTPS, CSRF protection also checks that the form was posted from this site (the Referer).
    resp = client.post("/login", base_url="https://localhost", headers={"Referer": "https://localhost/login"}, data={
        "username": "kq_bottled_staff", "password": DEMO_PASSWORD, "csrf_token": csrf_of(page.data)})
    assert resp.status_code == 302
    cookie = next(c for c in resp.headers.getlist("Set-Cookie") if c.startswith("session="))
    flags = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")[1:]}
    assert "secure" in flags and "httponly" in flags and flags["samesite"].lower() == "samesite=lax"
    assert client.get("/", base_url="https://localhost").status_code == 200


def test_without_https_no_hsts_but_cookies_stay_httponly(app):
    page = app.test_client().get("/login")
    assert "Strict-Transport-Security" not in page.headers
    assert page.headers["X-Content-Type-Options"] == "nosniff" and page.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True and app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
