"""Configuration read from the environment, with documented local defaults."""
from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from types import MappingProxyType


def env(name: str, default: str) -> str:
    """Return an environment variable or its local default."""
    return os.environ.get(name, default)


def mongo_uri(database: str | None = None) -> str:
    """MongoDB (or SecantusDB locally) connection string; `database` (a service's name, "edge") may name a store
    of its own in PUPNS_MONGO_URI_<NAME> (locally each service's store is its own process), else PUPNS_MONGO_URI.

    In production each process's PUPNS_MONGO_URI is its own (its own database user): nothing sets the others.
    """
    if database and (own := os.environ.get(f"PUPNS_MONGO_URI_{database.upper()}")):
        return own
    return env("PUPNS_MONGO_URI", "mongodb://127.0.0.1:27017/?directConnection=true")


def mongo_db(service: str) -> str:
    """Each service owns one database, named after it (prefix lets tests isolate runs)."""
    return env("PUPNS_DB_PREFIX", "pupns_") + service


def amqp_uri() -> str:
    """RabbitMQ connection string (vhost included)."""
    return env("PUPNS_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")


def public_exchange() -> str:
    """Exchange on which subscribers receive versioned public events."""
    return env("PUPNS_PUBLIC_EXCHANGE", "pupns.public")


DEV_JWT_KEYS = "dev:pupns-development-signing-key-change-me"


def is_production() -> bool:
    """PUPNS_ENV=production turns development defaults for secrets into errors."""
    return env("PUPNS_ENV", "development") == "production"


def jwt_keys() -> Mapping[str, str]:
    """Signing keys by kid: PUPNS_JWT_KEYS="kid1:secret1,kid2:secret2" (required in production)."""
    raw = os.environ.get("PUPNS_JWT_KEYS") or ""
    if not raw:
        if is_production():
            raise RuntimeError("PUPNS_JWT_KEYS must be set in production")
        raw = DEV_JWT_KEYS
    return _parsed_keys(raw)


@functools.lru_cache(maxsize=8)
def _parsed_keys(raw: str) -> Mapping[str, str]:
    """The keys of one PUPNS_JWT_KEYS value, parsed once: every token checked and every ticket signed asks (the
    variable is read each time, so a changed value takes effect at once)."""
    pairs = (item.split(":", 1) for item in raw.split(",") if ":" in item)
    return MappingProxyType({kid.strip(): secret.strip() for kid, secret in pairs})


def jwt_active_kid() -> str:
    """The kid new tokens are signed with; older kids stay valid for verification."""
    return env("PUPNS_JWT_ACTIVE_KID", next(iter(jwt_keys())))


def token_ttl_seconds() -> int:
    """Lifetime of an access token."""
    return int(env("PUPNS_TOKEN_TTL", "900"))


def smtp_host() -> str:
    return env("PUPNS_SMTP_HOST", "127.0.0.1")


def smtp_port() -> int:
    return int(env("PUPNS_SMTP_PORT", "1025"))


def mail_from() -> str:
    return env("PUPNS_MAIL_FROM", "noreply@pupns.bkn.go.id")


def rpc_timeout() -> float:
    """Deadline for every back-end call made by the edge and the console."""
    return float(env("PUPNS_RPC_TIMEOUT", "10"))


def public_base_url() -> str:
    """Base URL of the public edge, used in links (receipts, e-mails)."""
    return env("PUPNS_PUBLIC_URL", "http://127.0.0.1:8000")


def metrics_port() -> int | None:
    """Port of a nameko service process's Prometheus /metrics (unset: no metrics server)."""
    raw = os.environ.get("PUPNS_METRICS_PORT")
    return int(raw) if raw else None


def metrics_bind() -> str:
    """Address the metrics server listens on (the internal network in production)."""
    return env("PUPNS_METRICS_BIND", "127.0.0.1")


# Secrets with no default outside development (SPEC Abuse): a production process refuses to start without them.
PRODUCTION_SECRETS = {
    "PUPNS_JWT_KEYS": "the keys that sign access tokens, receipts, queue tickets and device cookies",
}
DEV_AUDIT_KEY = "pupns-development-audit-key-change-me"
AUDIT = {"PUPNS_AUDIT_KEY": "the key of the event logs' hash chains (an HMAC: a database writer cannot recompute it)"}
# What a process that reads or writes personal fields needs in production (add to its SERVICE_SECRETS entry
# when it is wired to pupns.personal; pupns.personal checks them itself when it is set up).
PERSONAL_DATA_SECRETS = {
    "PUPNS_MASTER_KEY": "the master key that wraps every PNS's data key (base64 of 32 bytes, \"kid:key[,kid:key]\")",
    "PUPNS_KEYSTORE_MONGO_URI": "the key store's own database connection, with its own credentials",
}
# What a process needs besides those, by the service it runs (a secret goes only where it is used).
SERVICE_SECRETS = {
    "identity": {**AUDIT, **PERSONAL_DATA_SECRETS, "PUPNS_BLIND_INDEX_KEY": "the key of the NIK blind indexes"},
    "verification": {**AUDIT, **PERSONAL_DATA_SECRETS},
    "documents": {**AUDIT, **PERSONAL_DATA_SECRETS, "PUPNS_BLIND_INDEX_KEY": "the key of the document blobs' keys"},
    "notifications": {**AUDIT, **PERSONAL_DATA_SECRETS},
    "forms": {**AUDIT, **PERSONAL_DATA_SECRETS, "PUPNS_BLIND_INDEX_KEY": "the key of the blind indexes (personal "
              "values looked up, never stored)"},
}


def audit_key() -> bytes:
    """PUPNS_AUDIT_KEY: keys every event's hash (required in production; a development default otherwise)."""
    value = os.environ.get("PUPNS_AUDIT_KEY", "").strip()
    if not value:
        if is_production():
            raise RuntimeError("PUPNS_AUDIT_KEY must be set in production")
        value = DEV_AUDIT_KEY
    return value.encode()


def require_production_secrets(service: str | None = None) -> None:
    """In production, stop with a clear message naming every secret that is missing (no development default)."""
    if not is_production():
        return
    wanted = {**PRODUCTION_SECRETS, **SERVICE_SECRETS.get(service or "", {})}
    missing = [f"{name} ({why})" for name, why in wanted.items() if not os.environ.get(name, "").strip()]
    weak = [name for name in ("PUPNS_JWT_KEYS",) if os.environ.get(name, "").strip() == DEV_JWT_KEYS]
    if missing or weak:
        raise SystemExit("PUPNS refuses to start in production without its secrets: "
                         + "; ".join(missing + [f"{name} is the development value" for name in weak]))


# ---------------------------------------------------------------- personal data (SPEC §7, pupns.personal)
DEV_MASTER_KEY = "dev:cHVwbnMtZGV2LW1hc3Rlci1rZXktbm90LXNlY3JldCE="  # 32 bytes, public: development only


def master_key_spec() -> str:
    """PUPNS_MASTER_KEY: "[kid:]base64[,[kid:]base64...]"; the first wraps new keys, the others still unwrap."""
    value = env("PUPNS_MASTER_KEY", "").strip()
    if is_production() and value in ("", DEV_MASTER_KEY):
        raise SystemExit("PUPNS refuses to start in production without its master key: PUPNS_MASTER_KEY "
                         f"({PERSONAL_DATA_SECRETS['PUPNS_MASTER_KEY']}) is "
                         + ("missing" if not value else "the development value"))
    return value or DEV_MASTER_KEY


def keystore_mongo_uri() -> str:
    """The key store's connection (its own credentials in production; the main server in development)."""
    value = env("PUPNS_KEYSTORE_MONGO_URI", "").strip()
    if not value and is_production():
        raise SystemExit("PUPNS refuses to start in production without PUPNS_KEYSTORE_MONGO_URI "
                         f"({PERSONAL_DATA_SECRETS['PUPNS_KEYSTORE_MONGO_URI']})")
    return value or mongo_uri()


def keystore_db() -> str:
    """The key store's database: `pupns_keys` (the test prefix applies, like every service's database)."""
    return env("PUPNS_KEYSTORE_DB", mongo_db("keys"))


def encryption_enabled() -> bool:
    """PUPNS_ENCRYPTION=off leaves personal fields in clear: development benchmarks only, refused in production."""
    off = env("PUPNS_ENCRYPTION", "on").strip().lower() in ("off", "0", "false", "no")
    if off and is_production():
        raise SystemExit("PUPNS refuses to start in production with PUPNS_ENCRYPTION=off (personal data must be "
                         "encrypted; the switch exists only for development benchmarks)")
    return not off


def key_cache_ttl() -> float:
    """Seconds an unwrapped data key stays cached: the bound on how late another process sees an erasure."""
    return float(env("PUPNS_KEY_CACHE_TTL", "30"))


def key_cache_size() -> int:
    """Most unwrapped data keys one process keeps in memory (least recently used leave first)."""
    return int(env("PUPNS_KEY_CACHE_SIZE", "10000"))


def job_lease_seconds() -> float:
    """How long a job runner owns a job without renewing it (a killed runner's job resumes after this)."""
    return float(env("PUPNS_JOB_LEASE_SECONDS", "15"))


def poll_backoff() -> bool:
    """PUPNS_POLL_BACKOFF (default 1): idle pollers back off (pupns.polling); 0 restores the old fixed intervals."""
    return env("PUPNS_POLL_BACKOFF", "1") != "0"
