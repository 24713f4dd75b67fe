"""Configuration from the environment; with nothing set, an embedded SQLite install."""
import json
import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def instance_dir() -> Path:
    path = Path(os.environ.get("GASFLOW_INSTANCE", ROOT / "instance"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _secret_key(instance: Path) -> str:
    """A stable secret per installation, so sessions survive restarts and all workers agree."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _data_keys(instance: Path) -> tuple[list[str], str]:
    """Keys for personal data at rest: ``DATA_KEYS`` (comma-separated Fernet keys, the first encrypts,
    all decrypt) and ``DATA_LOOKUP_KEY`` from the environment (production keeps them in its secret
    store, apart from the database); else a key file made once in the instance folder."""
    if os.environ.get("DATA_KEYS"):
        keys = [k.strip() for k in os.environ["DATA_KEYS"].split(",") if k.strip()]
        if not os.environ.get("DATA_LOOKUP_KEY"):
            # The lookup key must outlive every data key (digests are not re-computed on rotation).
            raise RuntimeError("DATA_LOOKUP_KEY must be set together with DATA_KEYS")
        return keys, os.environ["DATA_LOOKUP_KEY"]
    path = instance / "data_keys.json"
    if not path.exists():
        from cryptography.fernet import Fernet

        path.write_text(json.dumps({"keys": [Fernet.generate_key().decode()], "lookup": secrets.token_hex(32)}))
        path.chmod(0o600)
    stored = json.loads(path.read_text())
    return stored["keys"], stored["lookup"]


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def load_config(overrides: dict | None = None) -> dict:
    instance = instance_dir()
    data_keys, lookup_key = _data_keys(instance)
    cfg = {
        "DATA_KEYS": data_keys,
        "DATA_LOOKUP_KEY": lookup_key,
        # Data docking limits (D3): records per batch, and a batch's body.
        "DATA_MAX_RECORDS": int(os.environ.get("GASFLOW_DATA_MAX_RECORDS", "1000")),
        "DATA_MAX_BYTES": int(os.environ.get("GASFLOW_DATA_MAX_BYTES", str(5 * 1024 * 1024))),
        # Every script and expression of a process model runs under these limits, per step (docs/engine.md).
        "SCRIPT_CPU_SECONDS": float(os.environ.get("GASFLOW_SCRIPT_CPU_SECONDS", "2")),
        "SCRIPT_MEMORY_MB": int(os.environ.get("GASFLOW_SCRIPT_MEMORY_MB", "128")),
        "SQLALCHEMY_DATABASE_URI": os.environ.get("DATABASE_URL", f"sqlite:///{instance / 'gasflow.db'}"),
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        # The RQ queue of this platform's jobs: platforms (or test runs) sharing one Redis name their own.
        "QUEUE_NAME": os.environ.get("GASFLOW_QUEUE", "gasflow").strip() or "gasflow",
        # Where issued documents' PDFs are rendered after the commit: "inline" (the process that issued
        # them), "queue" (RQ workers) or "sweep" (the periodic round only); empty: the queue when REDIS_URL is set.
        "DOCUMENTS_RENDER": os.environ.get("GASFLOW_DOCUMENTS_RENDER", "").strip().lower(),
        "SECRET_KEY": _secret_key(instance),
        "BPMN_DIR": str(ROOT / "bpmn"),
        # A POST repeating an Idempotency-Key (or a form's submission token) waits this long for the
        # first request's answer before it is refused with 409.
        "IDEMPOTENCY_WAIT_SECONDS": float(os.environ.get("GASFLOW_IDEMPOTENCY_WAIT_SECONDS", "10")),
        # Whole request bodies; single attachments are limited to 10 MB by the forms.
        "MAX_CONTENT_LENGTH": 25 * 1024 * 1024,
        "BABEL_DEFAULT_LOCALE": "zh",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("GASFLOW_SECURE_COOKIES", "0") == "1",
        "WTF_CSRF_TIME_LIMIT": None,
        "TIMER_INTERVAL_SECONDS": int(os.environ.get("GASFLOW_TIMER_INTERVAL", "30")),
        # The embedded default runs the timer ticker inside the web process.
        "INPROCESS_TICKER": os.environ.get("GASFLOW_TICKER", "1") == "1",
        # Links in e-mails point here; the job has no request to take the host from.
        "BASE_URL": os.environ.get("BASE_URL", "http://localhost:5000").rstrip("/"),
        # Notifications are mailed only when MAIL_SERVER is set.
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", ""),
        "MAIL_PORT": int(os.environ.get("MAIL_PORT") or (465 if _flag("MAIL_USE_SSL") else 25)),
        "MAIL_USE_TLS": _flag("MAIL_USE_TLS"),
        "MAIL_USE_SSL": _flag("MAIL_USE_SSL"),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD", ""),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "gasflow@localhost"),
        # /metrics answers only with this bearer token when it is set.
        "METRICS_TOKEN": os.environ.get("METRICS_TOKEN", ""),
        "MAIL_TIMEOUT": int(os.environ.get("MAIL_TIMEOUT", "30")),
        # Other channels (workflows/services/channels.py). SMS through Alibaba Cloud when SMS_PROVIDER is
        # "aliyun"; its template takes two variables, ${category} and ${title}. Group robots post only to
        # the hosts listed (their official API hosts), so a robot's address cannot point inside the network.
        "SMS_PROVIDER": os.environ.get("SMS_PROVIDER", ""),
        "ALIYUN_SMS_ENDPOINT": os.environ.get("ALIYUN_SMS_ENDPOINT", "https://dysmsapi.aliyuncs.com/"),
        "ALIYUN_SMS_ACCESS_KEY_ID": os.environ.get("ALIYUN_SMS_ACCESS_KEY_ID", ""),
        "ALIYUN_SMS_ACCESS_KEY_SECRET": os.environ.get("ALIYUN_SMS_ACCESS_KEY_SECRET", ""),
        "ALIYUN_SMS_SIGN_NAME": os.environ.get("ALIYUN_SMS_SIGN_NAME", ""),
        "ALIYUN_SMS_TEMPLATE_CODE": os.environ.get("ALIYUN_SMS_TEMPLATE_CODE", ""),
        "ROBOT_HOSTS": os.environ.get("ROBOT_HOSTS", "qyapi.weixin.qq.com,oapi.dingtalk.com"),
        "CHANNEL_TIMEOUT": int(os.environ.get("CHANNEL_TIMEOUT", "10")),
        # The map draws without any tile server; set TILE_URL (e.g. https://{s}.tile.example.cn/{z}/{x}/{y}.png)
        # to lay tiles under it.
        "TILE_URL": os.environ.get("TILE_URL", "").strip(),
        "TILE_ATTRIBUTION": os.environ.get("TILE_ATTRIBUTION", "").strip(),
        # Signed-in sessions end after this long without a request, and this long after sign-in whatever
        # happens (GB/T 22239 level 3); the server checks both from times kept in the signed session.
        # argon2 parameters (web/common/security.py): only the test suite passes "cheapest"; not read from the
        # environment, so no deployment can weaken its hashes by a setting.
        "PASSWORD_HASH_PROFILE": "production",
        "SESSION_IDLE_MINUTES": int(os.environ.get("GASFLOW_SESSION_IDLE_MINUTES", "30")),
        "SESSION_MAX_HOURS": int(os.environ.get("GASFLOW_SESSION_MAX_HOURS", "12")),
        # A TOTP second factor for authority accounts; only special deployments turn it off.
        # "Remember me" (enterprise accounts only) keeps the cookie across browser restarts, no longer.
        "PERMANENT_SESSION_LIFETIME": 3600 * int(os.environ.get("GASFLOW_SESSION_MAX_HOURS", "12")),
        # Its cookie is set when the session changes, not again on every answer: the absolute limit ends
        # it anyway, and an answer that sets the cookie from the state its request began with drops what
        # a request beside it wrote (a message after a form was sent; see SEEN_REFRESH_SECONDS).
        "SESSION_REFRESH_EACH_REQUEST": False,
        "REQUIRE_TOTP": os.environ.get("GASFLOW_REQUIRE_TOTP", "1").strip().lower() not in ("0", "false", "no", "off"),
    }
    cfg.update(overrides or {})
    return cfg
